"""One look at a running attempt: each node asked for the run's status and the log bytes
it has not sent yet. A node that does not answer is reported as such, never as lost: the
controller decides that, over time and with the cloud's own word."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from stix.errors import StixError
from stix.remote import agent_client as ac
from stix.remote.transport import NodeAddress, NodeTransport

PROBE_CONNECT_TIMEOUT = 5.0


@dataclass
class NodeProbe:
    name: str
    reachable: bool
    status: str | None = None  # the agent's job status
    exit_code: int | None = None
    reason: str | None = None
    error: str | None = None


@dataclass
class Probe:
    nodes: list[NodeProbe] = field(default_factory=list)

    @property
    def unreachable(self) -> list[str]:
        return [n.name for n in self.nodes if not n.reachable]

    @property
    def finished(self) -> bool:
        done = {s.value for s in ac.TERMINAL}
        return bool(self.nodes) and all(n.reachable and n.status in done
                                        for n in self.nodes)

    def exit_codes(self) -> dict[str, int | None]:
        return {n.name: n.exit_code for n in self.nodes}


async def probe(nodes: list[NodeAddress], agent_job: str,
                offsets: dict[str, int]) -> tuple[Probe, dict[str, bytes]]:
    """(what each node says, new log bytes per node from `offsets`)."""
    results = await asyncio.gather(*(_one(n, agent_job, offsets.get(n.name, 0))
                                     for n in nodes))
    return Probe([r[0] for r in results]), {n.name: r[1] for n, r in zip(nodes, results,
                                                                          strict=True) if r[1]}


async def _one(address: NodeAddress, agent_job: str, offset: int) -> tuple[NodeProbe, bytes]:
    from stix.remote import fanout
    from stix.remote.transport import connect

    t: NodeTransport | None = None
    try:
        t = await connect(address, PROBE_CONNECT_TIMEOUT)
        [job] = await fanout.ask(t, ac.status([agent_job]), ac.parse_status)
        logs = await fanout.run_agent(t, ac.logs(agent_job, offset=offset))
        data = logs.stdout if logs.ok else b""
        return NodeProbe(address.name, True, job.status, job.exit_code, job.reason), data
    except (StixError, OSError, asyncio.TimeoutError, ValueError) as exc:
        return NodeProbe(address.name, False, error=str(exc)[:300]), b""
    finally:
        if t is not None:
            await t.close()


async def stop_run(nodes: list[NodeAddress], agent_job: str) -> None:
    """Cancel the run on every node that answers (before a teardown or on cancel)."""
    from stix.remote import fanout
    from stix.remote.transport import connect

    async def one(address: NodeAddress) -> None:
        try:
            t = await connect(address, PROBE_CONNECT_TIMEOUT)
        except (StixError, OSError, asyncio.TimeoutError):
            return
        try:
            await fanout.cancel_jobs([t], [agent_job], grace=5)
        finally:
            await t.close()

    await asyncio.gather(*(one(n) for n in nodes))
