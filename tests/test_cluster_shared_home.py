"""Pool hosts that share one home directory (an NFS lab): two machines, one user, one home.
Each cluster's agent state, job ids and files live under its own name, so two clusters run
side by side there and `down` of one never touches the other. Real sshd nodes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stix import api
from stix.remote import agent_client as ac

pytestmark = pytest.mark.sshd


def test_two_clusters_on_machines_that_share_a_home(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, stix_home: Path,
        tmp_path: Path) -> None:
    nodes = sshd_nodes(2)
    if nodes[0].host.address == nodes[1].host.address:
        pytest.skip("needs network namespaces (two addresses) to have two machines")
    shared = nodes[0].host  # the second machine logs in as the same user: same home
    second = nodes[1]
    config = second.config.read_text().replace(f"AllowUsers {second.host.user}",
                                               f"AllowUsers {shared.user}")
    second.kill()
    second.config.write_text(config)
    second.start()
    pools = {name: {"identity_file": str(sshd_hosts.key), "user": shared.user,
                    "hosts": [{"address": n.host.address, "port": n.port}]}
             for name, n in (("a", nodes[0]), ("b", second))}
    (stix_home / "ssh_node_pools.yaml").write_text(yaml.safe_dump(pools))
    work = {}
    for name in ("one", "two"):
        work[name] = tmp_path / f"work-{name}"
        work[name].mkdir()
        (work[name] / "who.txt").write_text(f"{name}\n")
    for name, pool in (("one", "a"), ("two", "b")):
        task = tmp_path / f"{name}.yaml"
        task.write_text(f"name: {name}\nworkdir: {work[name]}\nresources: {{infra: ssh/{pool}}}\n"
                        "run: cat who.txt\n")
        assert api.up(task).exit_code == 0
    # Both clusters have a job 1, each its own, in the one home.
    assert [r["job_id"] for r in api.queue("one")] == ["1"]
    assert [r["job_id"] for r in api.queue("two")] == ["1"]
    home = shared.home
    assert (home / ac.workdir_of("one") / "who.txt").read_text() == "one\n"
    assert (home / ac.workdir_of("two") / "who.txt").read_text() == "two\n"
    assert api.down("one") is True
    assert not (home / ac.agent_home("one")).exists()
    assert (home / ac.agent_home("two")).is_dir()
    assert [(r["job_id"], r["status"]) for r in api.queue("two")] == [("1", "SUCCEEDED")]
    ex = api.exec_task("two", command="cat who.txt")
    assert ex.exit_code == 0
    assert api.down("two") is True
    assert not (home / ".stix" / "agent").exists() and not (home / ac.AGENT_FILE).exists()
