"""`stix up` of a job group, for real: every task on a cluster of its own at once, the
group's names on every node, the auxiliary tasks stopped once the primaries are done, a
failure naming its task and stopping the rest, `stix down FILE` removing every cluster.
`local` machines run it in seconds; sshd machines in network namespaces (root) show one
task reaching another by its SkyPilot name."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

LOCAL = "resources: {infra: local, cpus: 1+, memory: 0.25+}\n"


def stix(*args: str, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stix", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, **(env or {})},
                          timeout=timeout)


def _group(tmp_path: Path, header: str, *tasks: str) -> Path:
    path = tmp_path / "group.yaml"
    path.write_text(header + "".join(f"---\n{t}" for t in tasks))
    return path


def test_the_primary_ending_stops_the_auxiliary_task(tmp_path: Path, stix_home: Path) -> None:
    path = _group(tmp_path, "name: lg\nexecution: parallel\nprimary_tasks: [client]\n"
                  "termination_delay: 1s\n",
                  f"name: server\n{LOCAL}run: echo serving in $SKYPILOT_JOBGROUP_NAME; "
                  "sleep 300\n",
                  f"name: client\n{LOCAL}run: echo peers $STIX_JOBGROUP_HOSTS\n")
    up = stix("up", str(path), cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert "[server] (node-0, 127.0.0.1) serving in lg" in up.stdout
    assert "[client] (node-0, 127.0.0.1) peers server-0.lg=" in up.stdout
    assert "job group lg: the primary tasks are done; stopping server" in up.stderr
    assert "task server (auxiliary, cluster lg-server): stopped" in up.stderr
    assert "task client (primary, cluster lg-client): succeeded" in up.stderr
    assert "is this machine: the group's names are not put in its /etc/hosts" in up.stderr
    status = json.loads(stix("status", "--json", cwd=tmp_path).stdout)
    assert sorted(c["name"] for c in status) == ["lg-client", "lg-server"]
    down = stix("down", str(path), "--yes", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert "cluster lg-server is down" in down.stdout and "cluster lg-client is down" in down.stdout
    assert json.loads(stix("status", "--json", cwd=tmp_path).stdout) == []


def test_a_failing_task_is_named_and_stops_the_others(tmp_path: Path, stix_home: Path) -> None:
    path = _group(tmp_path, "name: fg\nexecution: parallel\n",
                  f"name: steady\n{LOCAL}run: sleep 300\n",
                  f"name: broken\n{LOCAL}run: exit 3\n")
    up = stix("up", str(path), cwd=tmp_path)
    assert up.returncode == 3, up.stderr
    assert "job group fg: task broken failed; stopping the others" in up.stderr
    assert "task steady (primary, cluster fg-steady): stopped" in up.stderr
    assert "task broken (primary, cluster fg-broken): failed, exit code 3" in up.stderr
    refused = stix("up", str(path), "-d", cwd=tmp_path)
    assert refused.returncode == 2 and "is a job group" in refused.stderr
    assert stix("down", str(path), "--yes", cwd=tmp_path).returncode == 0


def test_a_group_placed_where_tasks_cannot_run_is_refused_before_anything_is_made(
        tmp_path: Path, stix_home: Path) -> None:
    path = _group(tmp_path, "name: kg\nexecution: parallel\n",
                  "name: one\nresources: {infra: kubernetes, cpus: 1}\nrun: echo\n",
                  "name: two\nresources: {infra: kubernetes, cpus: 1}\nrun: echo\n")
    up = stix("up", str(path), "--yes", cwd=tmp_path)
    assert up.returncode == 2, up.stderr
    assert "job group task one is placed on kubernetes, where stix does not run" in up.stderr
    assert json.loads(stix("status", "--json", cwd=tmp_path).stdout) == []


@pytest.mark.sshd
def test_a_task_reaches_another_by_its_skypilot_name(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, stix_home: Path,
        tmp_path: Path) -> None:
    if os.geteuid() != 0 or not sshd_hosts.netns_ok:
        pytest.skip("needs root and network namespaces (a machine of its own per node)")
    hosts = sshd_hosts.ensure(2)
    # Each namespace gets an /etc/hosts of its own (`ip netns exec` binds /etc/netns/NS/*),
    # and the node users passwordless sudo, as stix's cloud nodes have.
    own = [Path("/etc/netns") / h.netns for h in hosts]
    sudoers = Path(f"/etc/sudoers.d/stix-jobgroup-test-{os.getpid()}")
    try:
        for directory in own:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "hosts").write_text(Path("/etc/hosts").read_text())
        sudoers.write_text("".join(f"{h.user} ALL=(ALL) NOPASSWD: ALL\n" for h in hosts))
        sudoers.chmod(0o440)
        nodes = sshd_nodes(2)
        pools = {"lab": {"identity_file": str(sshd_hosts.key), "hosts": [
            {"address": n.host.address, "port": n.port, "user": n.host.user} for n in nodes]}}
        (stix_home / "ssh_node_pools.yaml").write_text(yaml.safe_dump(pools))
        fetch = ("for i in $(seq 100); do python3 -c 'import sys, urllib.request; print("
                 "urllib.request.urlopen(sys.argv[1], timeout=2).read().decode().strip())' "
                 "http://server-0.$SKYPILOT_JOBGROUP_NAME:8765/ && exit 0; sleep 0.2; done; "
                 "exit 1")
        path = _group(tmp_path, "name: netg\nexecution: parallel\nprimary_tasks: [client]\n",
                      "name: server\nresources: {infra: ssh/lab}\nrun: |\n  mkdir -p www && "
                      "cd www && echo hello-from-server > index.html\n"
                      "  exec python3 -m http.server 8765\n",
                      f"name: client\nresources: {{infra: ssh/lab}}\nrun: |\n  {fetch}\n")
        up = stix("up", str(path), cwd=tmp_path, env={"STIX_HOME": str(stix_home)},
                  timeout=180)
        assert up.returncode == 0, up.stderr
        assert "hello-from-server" in up.stdout and "[client]" in up.stdout
        assert "task server (auxiliary, cluster netg-server): stopped" in up.stderr
        for directory in own:
            lines = (directory / "hosts").read_text().splitlines()
            assert sum("server-0.netg" in line or "client-0.netg" in line
                       for line in lines) == 2
        down = stix("down", str(path), "--yes", cwd=tmp_path,
                    env={"STIX_HOME": str(stix_home)})
        assert down.returncode == 0, down.stderr
        for directory in own:  # the machines stay theirs: the group's names are gone
            assert "netg" not in (directory / "hosts").read_text()
    finally:
        sudoers.unlink(missing_ok=True)
        for directory in own:
            with contextlib.suppress(OSError):
                (directory / "hosts").unlink()
                directory.rmdir()
        with contextlib.suppress(OSError):
            Path("/etc/netns").rmdir()
