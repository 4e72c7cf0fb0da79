"""Run things on every node of a cluster at once: setup and jobs through the node agent,
live logs with a prefix per node, and one aggregated verdict.

Scripts and their env (secrets included) reach the agent on stdin, which hands the env to
the job over a pipe: never on a command line, never written to the node's disk.
"""

from __future__ import annotations

import asyncio
import json
import secrets as _secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from stix.errors import StixError
from stix.remote import agent_client as ac
from stix.remote.agent_client import AGENT_FILE, AgentCommand, failure_message
from stix.remote.agent_client import JobState as S
from stix.remote.transport import NodeAddress, NodeTransport, NodeUnreachableError, RunResult

T = TypeVar("T")
Sink = Callable[[bytes], None]
Reconnector = Callable[[NodeAddress], Awaitable[NodeTransport]]


class JobFailedError(StixError):
    """The job (or setup) failed on at least one node; the message says where and how."""


def stdout_sink(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


class LinePrinter:
    """Writes each node's output line by line, prefixed by the node when there are several,
    so lines from different nodes never mix within a line."""

    def __init__(self, sink: Sink = stdout_sink, prefix: bool = True) -> None:
        self.sink = sink
        self.prefix = prefix
        self._partial: dict[str, bytes] = {}

    def feed(self, label: str, data: bytes) -> None:
        buf = self._partial.get(label, b"") + data
        *lines, rest = buf.split(b"\n")
        self._partial[label] = rest
        if lines:
            head = f"({label}) ".encode() if self.prefix else b""
            self.sink(b"".join(head + line + b"\n" for line in lines))

    def flush(self, label: str | None = None) -> None:
        for key in [label] if label else list(self._partial):
            rest = self._partial.pop(key, b"")
            if rest:  # a last line without its newline still gets one line of its own
                self.feed(key, rest + b"\n")


# ---------------------------------------------------------------- environment


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def node_env(addresses: list[NodeAddress], rank: int, *, cluster: str, task_id: str,
             gpus_per_node: float, cluster_info: dict[str, Any]) -> dict[str, str]:
    """The SkyPilot-style variables every node's job sees (STIX_* and SKYPILOT_* twins)."""
    ips = "\n".join(a.ip for a in addresses)
    values = {"NODE_RANK": str(rank), "NODE_IPS": ips, "NUM_NODES": str(len(addresses)),
              "NUM_GPUS_PER_NODE": _count(gpus_per_node), "TASK_ID": task_id}
    env = {f"STIX_{k}": v for k, v in values.items()}
    env.update({f"SKYPILOT_{k}": v for k, v in values.items()})
    env["STIX_CLUSTER"] = cluster
    env["SKYPILOT_CLUSTER_INFO"] = json.dumps({"cluster_name": cluster, **cluster_info})
    return env


# ---------------------------------------------------------------- agent calls


async def run_agent(t: NodeTransport, cmd: AgentCommand, *,
                    on_stdout: Sink | None = None) -> RunResult:
    """Run one agent command on a node, in its cluster's agent home (its stdin, if any,
    goes along)."""
    cluster = t.address.cluster
    home = ac.agent_home(cluster) if cluster else None
    return await t.run(cmd.shell(python=t.python, home=home), stdin=cmd.stdin or None,
                       on_stdout=on_stdout)


async def ask(t: NodeTransport, cmd: AgentCommand, parse: Callable[[bytes], T]) -> T:
    """Run one agent command and parse its reply; a failure names the node."""
    result = await run_agent(t, cmd)
    if not result.ok:
        raise ac.AgentReplyError(f"({t.label}) agent {cmd.args[0]} failed: "
                                 f"{failure_message(result.stderr)}")
    try:
        return parse(result.stdout)
    except ac.AgentReplyError as exc:
        raise ac.AgentReplyError(f"({t.label}) {exc}") from None


async def upload_agent(transports: list[NodeTransport]) -> None:
    from stix.remote.agent_client import agent_path

    source = agent_path()
    if not source.is_file():
        raise StixError("the node agent (stix/remote/agent.py) is missing from this install")
    data = source.read_bytes()
    await asyncio.gather(*(t.write_file(AGENT_FILE, data, 0o644) for t in transports))


# ---------------------------------------------------------------- setup


SETUP_PREFIX = "setup-"  # agent job ids of setup runs (not shown as the user's jobs)


async def run_setup(transports: list[NodeTransport], script: str,
                    envs: list[dict[str, str]], printer: LinePrinter,
                    cwd: str | None = None) -> None:
    """Run `script` on every node at once as an agent job, following its output; raise
    naming each node that failed. Being a job, a setup whose client died is found (and
    stopped) by the next one, and by `down`."""
    job_id = f"{SETUP_PREFIX}{_secrets.token_hex(4)}"
    await submit_job(transports, job_id, "setup", script, envs, cwd)
    outcome = await follow_job(transports, job_id, printer)
    problems = []
    for n in outcome.nodes:
        if n.status == S.SUCCEEDED:
            continue
        if n.status == S.LOST:
            problems.append(f"  ({n.label}) lost during setup: {n.reason}")
        elif n.exit_code is not None:
            problems.append(f"  ({n.label}) setup exited with code {n.exit_code}")
        else:
            problems.append(f"  ({n.label}) setup {n.status.value.lower()}"
                            + (f" ({n.reason})" if n.reason else ""))
    if problems:
        raise JobFailedError("setup failed on {} of {} node(s):\n{}".format(
            len(problems), len(transports), "\n".join(problems)))


async def stop_orphan_setups(transports: list[NodeTransport]) -> list[str]:
    """Cancel setup jobs still running on the nodes (left by a `stix up` that died: the
    caller holds the cluster lock, so no live command owns them). Returns their ids."""

    async def one(t: NodeTransport) -> list[str]:
        jobs = await ask(t, ac.status(), ac.parse_status)
        stale = [j.job_id for j in jobs if j.job_id.startswith(SETUP_PREFIX) and not j.done]
        if stale:
            await ask(t, ac.cancel(stale, grace=5), ac.parse_cancel)
        return stale

    found = await asyncio.gather(*(one(t) for t in transports))
    return sorted({j for ids in found for j in ids})


# ---------------------------------------------------------------- jobs


async def submit_job(transports: list[NodeTransport], job_id: str, name: str, script: str,
                     envs: list[dict[str, str]], cwd: str | None = None) -> None:
    """Start the job on every node with the same id; if any node refuses, cancel it on the
    nodes that took it and raise naming the node(s). Script, env (secrets included) and cwd
    go on stdin: nothing sensitive on a command line."""
    results = await asyncio.gather(
        *(ask(t, ac.submit(job_id, name, script, env=e, cwd=cwd), ac.parse_submit)
          for t, e in zip(transports, envs, strict=True)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        started = [t for t, r in zip(transports, results, strict=True)
                   if not isinstance(r, BaseException)]
        await asyncio.gather(*(ask(t, ac.cancel([job_id], grace=2), ac.parse_cancel)
                               for t in started), return_exceptions=True)
        for e in errors:
            if not isinstance(e, StixError):
                raise e
        raise StixError("\n".join(f"could not submit job {job_id}: {e}" for e in errors))


@dataclass
class NodeOutcome:
    label: str
    status: S
    exit_code: int | None = None
    reason: str | None = None
    log_bytes: int = 0


@dataclass
class JobOutcome:
    job_id: str
    nodes: list[NodeOutcome] = field(default_factory=list)

    @property
    def status(self) -> S:
        states = {n.status for n in self.nodes}
        if states <= {S.SUCCEEDED}:
            return S.SUCCEEDED
        if S.FAILED in states or S.LOST in states:
            return S.FAILED
        if S.CANCELLED in states:
            return S.CANCELLED
        return S.RUNNING

    @property
    def exit_code(self) -> int:
        """0 when every node succeeded; else the first failing node's code (1 if unknown)."""
        if self.status == S.SUCCEEDED:
            return 0
        for n in self.nodes:
            if n.status in (S.FAILED, S.LOST):
                return n.exit_code if n.exit_code not in (None, 0) else 1
        return 1

    def exit_codes(self) -> dict[str, int | None]:
        return {n.label: n.exit_code for n in self.nodes}

    def summary(self) -> str:
        bad = [n for n in self.nodes if n.status != S.SUCCEEDED]
        if not bad:
            return f"job {self.job_id} succeeded on {len(self.nodes)} node(s)"
        parts = []
        for n in bad:
            if n.status == S.LOST:
                parts.append(f"  ({n.label}) lost: {n.reason}")
            elif n.status == S.FAILED:
                code = "unknown exit code" if n.exit_code is None else f"exit code {n.exit_code}"
                parts.append(f"  ({n.label}) failed with {code}"
                             + (f" ({n.reason})" if n.reason else ""))
            else:
                parts.append(f"  ({n.label}) {n.status.lower()}")
        return (f"job {self.job_id} {self.status.lower()} on {len(bad)} of "
                f"{len(self.nodes)} node(s):\n" + "\n".join(parts))


async def follow_one(holder: list[NodeTransport], job_id: str, printer: LinePrinter, *,
                     offset: int = 0, follow: bool = True,
                     reconnect: Reconnector | None = None) -> NodeOutcome:
    """Stream one node's log from byte `offset`; after a dropped connection, reconnect
    and resume at the byte where the stream stopped (nothing lost, nothing repeated).
    `holder[0]` is the node's transport, replaced in place on reconnect."""
    t = holder[0]
    label = t.label
    received = offset

    def on_data(data: bytes) -> None:
        nonlocal received
        received += len(data)
        printer.feed(label, data)

    while True:
        try:
            result = await run_agent(holder[0], ac.logs(job_id, offset=received, follow=follow),
                                     on_stdout=on_data)
        except NodeUnreachableError as exc:
            if reconnect is None:
                printer.flush(label)
                return NodeOutcome(label, S.LOST, reason=str(exc), log_bytes=received)
            try:
                holder[0] = await reconnect(holder[0].address)
            except NodeUnreachableError as again:
                printer.flush(label)
                return NodeOutcome(label, S.LOST, reason=f"{exc}; then {again}",
                                   log_bytes=received)
            continue
        printer.flush(label)
        if not result.ok:
            return NodeOutcome(label, S.FAILED, reason=failure_message(result.stderr),
                               log_bytes=received)
        break
    try:
        info = (await ask(holder[0], ac.status([job_id]), ac.parse_status))[0]
    except (StixError, IndexError) as exc:
        return NodeOutcome(label, S.LOST, reason=str(exc), log_bytes=received)
    return NodeOutcome(label, S(info.status), info.exit_code, info.reason, received)


async def follow_job(transports: list[NodeTransport], job_id: str, printer: LinePrinter, *,
                     offsets: list[int] | None = None, follow: bool = True,
                     reconnect: Reconnector | None = None) -> JobOutcome:
    """Logs of `job_id` from every node until it ends there; a node that is lost is
    reported while the others keep streaming."""
    holders = [[t] for t in transports]
    outcomes = await asyncio.gather(*(
        follow_one(h, job_id, printer, offset=(offsets or [0] * len(transports))[i],
                   follow=follow, reconnect=reconnect)
        for i, h in enumerate(holders)))
    for i, h in enumerate(holders):  # hand back any reconnected transport
        transports[i] = h[0]
    return JobOutcome(job_id, list(outcomes))


async def cancel_jobs(transports: list[NodeTransport], ids: list[str] | None,
                      grace: float = 10) -> list[ac.CancelReply | BaseException]:
    cmd = ac.cancel(ids or (), all_jobs=not ids, grace=grace)
    results = await asyncio.gather(*(ask(t, cmd, ac.parse_cancel) for t in transports),
                                   return_exceptions=True)
    return list(results)
