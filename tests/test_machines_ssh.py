"""The `ssh` provider: the node pools file, offers, host allocation, and the whole flow
against real sshd nodes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stix import api, state
from stix.clouds.registry import get
from stix.errors import StixError
from stix.machines.ssh import load_pools
from stix.task import parse_tasks

POOLS = """
lab:
  user: alice
  identity_file: ~/.ssh/lab
  gpus: RTX4090:1
  cpus: 16
  memory_gib: 64
  hosts:
    - 10.0.0.1
    - {ip: 10.0.0.2, port: 2222, gpus: RTX4090:2}
    - {address: 10.0.0.3, user: bob, internal_ip: 192.168.0.3}
cpu:
  hosts: [h1]
"""


def _write_pools(home: Path, text: str) -> None:
    (home / "ssh_node_pools.yaml").write_text(text)


def test_pools_and_offers(stix_home: Path) -> None:
    _write_pools(stix_home, POOLS)
    pools = load_pools()
    hosts = pools["lab"].resolved()
    assert [(h.address, h.port, h.user) for h in hosts] == [
        ("10.0.0.1", None, "alice"), ("10.0.0.2", 2222, "alice"), ("10.0.0.3", None, "bob")]
    offers = {o.region: o for o in get("ssh").offers()}
    assert offers["lab"].accelerator == "RTX4090" and offers["lab"].accelerator_count == 1
    assert offers["lab"].vcpus == 16 and offers["lab"].price == 0
    assert offers["cpu"].accelerator is None


def test_bad_pools_file_names_the_field(stix_home: Path) -> None:
    _write_pools(stix_home, "lab:\n  hosts:\n    - {address: a, prot: 22}\n")
    with pytest.raises(StixError) as err:
        load_pools()
    assert "ssh_node_pools.yaml: lab.hosts.0.prot" in str(err.value)


def test_allocation_keeps_clusters_apart(stix_home: Path) -> None:
    _write_pools(stix_home, POOLS)
    provider = get("ssh")
    task = parse_tasks("num_nodes: 2\nresources:\n  infra: ssh/lab\n  accelerators: RTX4090:1\n"
                       "run: x\n").tasks[0]
    conn = state.connect()

    def take(name: str) -> list[str]:
        placement = provider.placement(task, name, task.resources)  # type: ignore[attr-defined]
        with state.transaction(conn):
            nodes = provider.allocate(conn, placement)  # type: ignore[attr-defined]
            state.put_cluster(conn, state.ClusterRecord(name, "ssh", placement,
                                                        state.ClusterStatus.INIT, 0, 0, 0, nodes))
        return [n.host for n in nodes]

    assert take("a") == ["10.0.0.1", "10.0.0.2"]
    with pytest.raises(StixError) as err:
        take("b")
    assert "1 free host(s), the task needs 2 (in use by: a)" in str(err.value)
    big = parse_tasks("resources:\n  infra: ssh/lab\n  accelerators: RTX4090:2\nrun: x\n").tasks[0]
    with pytest.raises(StixError, match="ssh/nope: no such pool"):
        provider.placement(big, "c", parse_tasks(  # type: ignore[attr-defined]
            "resources:\n  infra: ssh/nope\n").tasks[0].resources)


@pytest.mark.sshd
def test_ssh_provider_end_to_end(sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any,
                                 stix_home: Path, tmp_path: Path,
                                 capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    nodes = sshd_nodes(2)
    pools = {"lab": {"identity_file": str(sshd_hosts.key), "gpus": "RTX4090:1",
                     "hosts": [{"address": n.host.address, "port": n.port, "user": n.host.user}
                               for n in nodes]}}
    _write_pools(stix_home, yaml.safe_dump(pools))
    work = tmp_path / "work"
    work.mkdir()
    (work / "in.txt").write_text("from the workdir\n")
    (work / ".stixignore").write_text("skip.me\n")
    (work / "skip.me").write_text("x")
    task = tmp_path / "t.yaml"
    task.write_text(f"name: sweep\nnum_nodes: 2\nworkdir: {work}\n"
                    "resources:\n  infra: ssh/lab\n  accelerators: RTX4090:1\n"
                    "setup: echo setup-$STIX_NODE_RANK > setup.out\n"
                    "run: cat in.txt setup.out; ls skip.me 2>/dev/null || echo no-skip; "
                    "echo gpus=$STIX_NUM_GPUS_PER_NODE\n")
    result = api.up(task, cluster="lab1")
    assert result.exit_code == 0, result.outcome and result.outcome.summary()
    out = capfdbinary.readouterr().out.decode().splitlines()
    for rank, n in enumerate(nodes):
        prefix = f"(node-{rank}, {n.host.address}) "
        assert [ln[len(prefix):] for ln in out if ln.startswith(prefix)] == [
            "from the workdir", f"setup-{rank}", "no-skip", "gpus=1"]

    config = (stix_home / "ssh" / "config").read_text()
    assert "Host lab1\n" in config and "Host lab1-node-1\n" in config
    assert f'IdentityFile "{sshd_hosts.key}"' in config
    assert "StrictHostKeyChecking yes" in config
    ssh = subprocess.run(["ssh", "-F", str(stix_home / "ssh" / "config"), "lab1-node-1",
                          "cat stix_workdir/lab1/in.txt"], capture_output=True, text=True,
                         timeout=30)
    assert ssh.stdout == "from the workdir\n", ssh.stderr

    second = tmp_path / "t2.yaml"
    second.write_text("num_nodes: 1\nresources:\n  infra: ssh/lab\nrun: echo\n")
    with pytest.raises(StixError, match="0 free host"):
        api.up(second, cluster="lab2")

    ex = api.exec_task("lab1", command="echo rank $STIX_NODE_RANK; exit $STIX_NODE_RANK")
    assert ex.outcome is not None and ex.outcome.exit_code == 1
    assert f"(node-1, {nodes[1].host.address}) failed with exit code 1" in ex.outcome.summary()
    rows = api.queue("lab1")
    assert [(r["job_id"], r["status"]) for r in rows] == [("1", "SUCCEEDED"), ("2", "FAILED")]
    assert rows[1]["exit_codes"] == {"node-0": 0, "node-1": 1}

    assert api.down("lab1") is True
    for n in nodes:
        assert not (n.host.home / "stix_workdir").exists()
        assert not (n.host.home / ".stix" / "agent").exists()
    assert api.down("lab1") is False
    assert api.up(second, cluster="lab2").exit_code == 0  # hosts are free again
    api.down("lab2")


@pytest.mark.parametrize(("host", "why"), [
    ("a" * 64 + ".example.com", "encoding with 'idna' codec failed"),
    ("198.18.0.14\nProxyCommand=/path/evil.sh", "is not a valid host name"),
    ("-oProxyCommand=x", "is not a valid host name"),
    ("host name", "is not a valid host name"),
    (".".join(["a" * 60] * 5), "longer than 253"),
])
def test_hosts_that_cannot_resolve_or_encode_are_refused_when_read(
        stix_home: Path, host: str, why: str) -> None:
    _write_pools(stix_home, yaml.safe_dump({"lab": {"hosts": ["10.0.0.1", {"address": host}]}}))
    with pytest.raises(StixError) as err:
        load_pools()
    text = err.value.message
    assert text.startswith(f"{stix_home / 'ssh_node_pools.yaml'}: lab.hosts.1.address: host ")
    assert why in text


@pytest.mark.parametrize(("pool", "where"), [
    ({"user": "-oProxyCommand=x", "hosts": ["h1"]}, "lab.user"),
    ({"hosts": [{"address": "h1", "user": "bob\nProxyCommand x"}]}, "lab.hosts.0.user"),
    ({"identity_file": "/k/${HOME}", "hosts": ["h1"]}, "lab.identity_file"),
    ({"hosts": [{"address": "h1", "internal_ip": "10.0.0.1 x"}]}, "lab.hosts.0.internal_ip"),
])
def test_users_keys_and_internal_addresses_are_checked_too(stix_home: Path, pool: dict,
                                                           where: str) -> None:
    _write_pools(stix_home, yaml.safe_dump({"lab": pool}))
    with pytest.raises(StixError, match=f"ssh_node_pools.yaml: {re.escape(where)}: "):
        load_pools()


def test_an_unencodable_host_already_recorded_is_unreachable_not_a_crash() -> None:
    import asyncio

    from stix.remote.transport import NodeAddress, NodeUnreachableError, connect

    node = NodeAddress("node-0", "a" * 64 + ".example.com", 22, "alice")
    with pytest.raises((NodeUnreachableError, StixError)) as err:
        asyncio.run(connect(node, 2))
    assert "node-0" in str(err.value) and "Traceback" not in str(err.value)
