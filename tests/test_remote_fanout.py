"""The fan-out against real sshd nodes: ranks, failures, lost nodes, re-attach, cancel,
shell metacharacters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from stix.remote import agent_client as ac
from stix.remote import fanout, launch
from stix.remote.fanout import LinePrinter
from stix.remote.transport import NodeAddress, NodeTransport
from stix.remote.wait import wait_for_nodes

pytestmark = pytest.mark.sshd


class Capture:
    """A printer sink that keeps every line written."""

    def __init__(self) -> None:
        self.data = b""

    def __call__(self, data: bytes) -> None:
        self.data += data

    def lines(self) -> list[str]:
        return self.data.decode().splitlines()

    def of(self, label: str) -> list[str]:
        head = f"({label}) "
        return [line[len(head):] for line in self.lines() if line.startswith(head)]


def _addresses(nodes: list[Any], sshd_hosts: Any) -> list[NodeAddress]:
    return [n.address(sshd_hosts.key) for n in nodes]


async def _open(addresses: list[NodeAddress]) -> list[NodeTransport]:
    transports = await wait_for_nodes(addresses, 20)
    await fanout.upload_agent(transports)
    return transports


def _spec(run: str, **kw: Any) -> launch.RunSpec:
    return launch.RunSpec(cluster="c1", job_id=kw.pop("job_id", "1"), name=kw.pop("name", "t"),
                          run=run, cluster_info={"cloud": "ssh"}, **kw)


def _go(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.mark.parametrize("count", [1, 4, 8])
def test_multi_node_rank_environment(count: int, sshd_nodes: Callable[[int], list[Any]],
                                     sshd_hosts: Any) -> None:
    nodes = sshd_nodes(count)
    addresses = _addresses(nodes, sshd_hosts)
    run = ('echo "rank=$STIX_NODE_RANK sky=$SKYPILOT_NODE_RANK n=$STIX_NUM_NODES '
           'gpus=$STIX_NUM_GPUS_PER_NODE cluster=$STIX_CLUSTER"\n'
           'echo "ips=$(echo "$STIX_NODE_IPS" | paste -sd,)"\n'
           'echo "info=$SKYPILOT_CLUSTER_INFO"\necho "task=$STIX_TASK_ID/$SKYPILOT_TASK_ID"\n'
           'echo "user=$MY_ENV secret=$MY_SECRET"')
    spec = _spec(run, envs={"MY_ENV": "e"}, secrets={"MY_SECRET": "s3cr3t"},
                 gpus_per_node=2)
    out = Capture()

    async def go() -> fanout.JobOutcome:
        ts = await _open(addresses)
        await launch.start_run(ts, addresses, spec)
        result = await launch.follow(ts, "1", LinePrinter(out))
        await launch.close_all(ts)
        return result

    outcome = _go(go())
    assert outcome.status == "SUCCEEDED", outcome.summary()
    ips = ",".join(a.ip for a in addresses)
    for rank, a in enumerate(addresses):
        lines = out.of(f"{a.name}, {a.ip}")
        assert lines[0] == f"rank={rank} sky={rank} n={count} gpus=2 cluster=c1"
        assert lines[1] == f"ips={ips}"
        info = json.loads(lines[2].removeprefix("info="))
        assert info == {"cluster_name": "c1", "cloud": "ssh"}
        task_ids = lines[3].removeprefix("task=").split("/")
        assert task_ids[0] == task_ids[1] == spec.task_id
        assert lines[4] == "user=e secret=s3cr3t"


def test_secret_never_on_a_command_line(sshd_nodes: Callable[[int], list[Any]],
                                        sshd_hosts: Any) -> None:
    nodes = sshd_nodes(1)
    addresses = _addresses(nodes, sshd_hosts)
    spec = _spec('ps -eo args | grep -c "tops3cr3t" || true; sleep 0.2',
                 secrets={"TOKEN": "tops3cr3t"})
    out = Capture()

    async def go() -> fanout.JobOutcome:
        ts = await _open(addresses)
        await launch.start_run(ts, addresses, spec)
        return await launch.follow(ts, "1", LinePrinter(out, prefix=False))

    assert _go(go()).status == "SUCCEEDED"
    # Only the grep itself holds the word in its arguments.
    assert out.lines() == ["1"]


def test_one_node_fails_and_is_named(sshd_nodes: Callable[[int], list[Any]],
                                     sshd_hosts: Any) -> None:
    nodes = sshd_nodes(4)
    addresses = _addresses(nodes, sshd_hosts)
    spec = _spec('echo "working $STIX_NODE_RANK"; [ "$STIX_NODE_RANK" != 2 ] || exit 7')
    out = Capture()

    async def go() -> fanout.JobOutcome:
        ts = await _open(addresses)
        await launch.start_run(ts, addresses, spec)
        return await launch.follow(ts, "1", LinePrinter(out))

    outcome = _go(go())
    assert outcome.status == "FAILED"
    assert outcome.exit_code == 7
    bad = addresses[2]
    assert f"({bad.name}, {bad.ip}) failed with exit code 7" in outcome.summary()
    assert "1 of 4 node(s)" in outcome.summary()
    for rank, a in enumerate(addresses):
        assert out.of(f"{a.name}, {a.ip}") == [f"working {rank}"]


def test_node_killed_mid_job_is_reported_others_kept(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "RECONNECT_TIMEOUT", 1.5)
    nodes = sshd_nodes(4)
    addresses = _addresses(nodes, sshd_hosts)
    # Each node prints "start", then waits for a file to appear before printing "end".
    spec = _spec('echo "start $STIX_NODE_RANK"\n'
                 'while [ ! -e "$HOME/go" ]; do sleep 0.05; done\necho "end $STIX_NODE_RANK"')
    out = Capture()

    async def go() -> fanout.JobOutcome:
        ts = await _open(addresses)
        await launch.start_run(ts, addresses, spec)
        follow = asyncio.ensure_future(launch.follow(ts, "1", LinePrinter(out)))
        while len([ln for ln in out.lines() if " start " in ln]) < 4:
            await asyncio.sleep(0.05)
        await asyncio.get_running_loop().run_in_executor(None, nodes[1].kill)
        for n in nodes:
            (n.host.home / "go").touch()
        return await follow

    outcome = _go(go())
    lost = addresses[1]
    assert outcome.status == "FAILED"
    assert f"({lost.name}, {lost.ip}) lost:" in outcome.summary()
    for rank, a in enumerate(addresses):
        lines = out.of(f"{a.name}, {a.ip}")
        assert lines[0] == f"start {rank}"
        if rank != 1:
            assert lines == [f"start {rank}", f"end {rank}"]
            assert outcome.nodes[rank].status == "SUCCEEDED"


def test_dropped_connection_resumes_without_loss_or_duplicates(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any) -> None:
    nodes = sshd_nodes(1)
    addresses = _addresses(nodes, sshd_hosts)
    spec = _spec('for i in $(seq 1 400); do echo "line $i"; sleep 0.005; done')
    out = Capture()

    async def go() -> fanout.JobOutcome:
        ts = await _open(addresses)
        await launch.start_run(ts, addresses, spec)
        follow = asyncio.ensure_future(launch.follow(ts, "1", LinePrinter(out, prefix=False)))
        while len(out.lines()) < 50:
            await asyncio.sleep(0.01)
        await asyncio.get_running_loop().run_in_executor(None, nodes[0].drop_connections)
        result = await follow
        await launch.close_all(ts)
        return result

    outcome = _go(go())
    assert outcome.status == "SUCCEEDED", outcome.summary()
    assert out.lines() == [f"line {i}" for i in range(1, 401)]


def test_job_survives_connection_loss(sshd_nodes: Callable[[int], list[Any]],
                                      sshd_hosts: Any) -> None:
    nodes = sshd_nodes(1)
    addresses = _addresses(nodes, sshd_hosts)
    spec = _spec('sleep 0.5; echo done-after-disconnect')

    async def submit() -> None:
        ts = await _open(addresses)
        await launch.start_run(ts, addresses, spec)
        await launch.close_all(ts)

    _go(submit())
    nodes[0].drop_connections()
    out = Capture()

    async def reattach() -> fanout.JobOutcome:
        ts = await wait_for_nodes(addresses, 20)
        return await launch.follow(ts, "1", LinePrinter(out, prefix=False))

    assert _go(reattach()).status == "SUCCEEDED"
    assert out.lines() == ["done-after-disconnect"]


def test_cancel_on_every_node(sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any) -> None:
    nodes = sshd_nodes(4)
    addresses = _addresses(nodes, sshd_hosts)
    spec = _spec('echo up; sleep 300')
    out = Capture()

    async def go() -> tuple[list[Any], fanout.JobOutcome]:
        ts = await _open(addresses)
        await launch.start_run(ts, addresses, spec)
        follow = asyncio.ensure_future(launch.follow(ts, "1", LinePrinter(out)))
        while len(out.lines()) < 4:
            await asyncio.sleep(0.05)
        answers = await fanout.cancel_jobs(ts, ["1"], grace=2)
        return answers, await follow

    answers, outcome = _go(go())
    assert all(a == ac.CancelReply(cancelled=["1"], already_done=[]) for a in answers), answers
    assert outcome.status == "CANCELLED"
    assert {n.status for n in outcome.nodes} == {"CANCELLED"}


META = """it's "quoted" $HOME `id` $(id) ; | & > < * ? [a] \\ \t end"""


def test_shell_metacharacters_run_exactly_as_written(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any) -> None:
    nodes = sshd_nodes(2)
    addresses = _addresses(nodes, sshd_hosts)
    spec = _spec('printf "%s\\n" "$WEIRD"\nprintf "%s\\n" "$STIX_CLUSTER"',
                 name=META, envs={"WEIRD": META})
    spec.cluster = "c1"
    out = Capture()

    async def go() -> tuple[fanout.JobOutcome, list[Any]]:
        ts = await _open(addresses)
        await fanout.run_setup(ts, 'printf "%s\\n" "setup:$WEIRD"',
                               [spec.env_for(addresses, r) for r in range(2)], LinePrinter(out))
        await launch.start_run(ts, addresses, spec)
        result = await launch.follow(ts, "1", LinePrinter(out))
        return result, [await fanout.ask(t, ac.status(["1"]), ac.parse_status) for t in ts]

    outcome, status = _go(go())
    assert outcome.status == "SUCCEEDED", outcome.summary()
    for a in addresses:
        assert out.of(f"{a.name}, {a.ip}") == [f"setup:{META}", META, "c1"]
    assert all(s[0].name == META for s in status)


def test_setup_failure_names_the_node(sshd_nodes: Callable[[int], list[Any]],
                                      sshd_hosts: Any) -> None:
    nodes = sshd_nodes(2)
    addresses = _addresses(nodes, sshd_hosts)
    spec = _spec("true")

    async def go() -> None:
        ts = await _open(addresses)
        await fanout.run_setup(ts, '[ "$STIX_NODE_RANK" = 0 ] || exit 5',
                               [spec.env_for(addresses, r) for r in range(2)],
                               LinePrinter(Capture()))

    with pytest.raises(fanout.JobFailedError) as err:
        _go(go())
    assert f"({addresses[1].name}, {addresses[1].ip}) setup exited with code 5" in str(err.value)
    assert addresses[0].name + "," not in str(err.value)
