"""~/.stix/ssh/config: one Host per cluster (head) and per node; checked by `ssh -G`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stix.remote import sshconfig
from stix.remote.transport import NodeAddress


def test_hosts_per_cluster_and_node(stix_home: Path) -> None:
    nodes = [NodeAddress("node-0", "10.0.0.1", 22, "alice", "/keys/my key"),
             NodeAddress("node-1", "10.0.0.2", 2222, "alice", "/keys/my key")]
    local = [NodeAddress("node-0", "localhost", local_home="/x")]
    path = sshconfig.write([("train", nodes), ("here", local)])
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "Host here" not in text  # local clusters need no SSH
    if not shutil.which("ssh"):
        pytest.skip("no ssh client to read the file back")
    for alias, host, port in (("train", "10.0.0.1", "22"), ("train-node-1", "10.0.0.2", "2222")):
        out = subprocess.run(["ssh", "-G", "-F", str(path), alias], capture_output=True,
                             text=True, check=True).stdout.splitlines()
        assert f"hostname {host}" in out and f"port {port}" in out and "user alice" in out
        assert "identityfile /keys/my key" in out
