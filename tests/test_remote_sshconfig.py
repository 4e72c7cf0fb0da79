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


EVIL = "198.18.0.14\nProxyCommand=/path/evil.sh"


@pytest.mark.parametrize(("node", "field"), [
    (NodeAddress("node-0", EVIL, 22, "alice"), "host"),
    (NodeAddress("node-0", "-oProxyCommand=x", 22), "host"),
    (NodeAddress("node-0", "10.0.0.1", 22, "al ice"), "user"),
    (NodeAddress("node-0", "10.0.0.1", 22, "alice\nProxyCommand x"), "user"),
    (NodeAddress("node-0", "10.0.0.1", 22, "a", "/k/x\nProxyCommand=y"), "identity_file"),
    (NodeAddress("node-0", "10.0.0.1", 22, "a", "/k/${HOME}"), "identity_file"),
    (NodeAddress("node-0", "10.0.0.1", 22, "a", "relative/key"), "identity_file"),
    (NodeAddress("node-0", "10.0.0.1", 22, host_key_alias="a*b"), "host key options"),
])
def test_values_that_cannot_be_written_are_refused_by_field(node: NodeAddress,
                                                            field: str) -> None:
    with pytest.raises(sshconfig.SshConfigError) as err:
        sshconfig.host_block("train", node)
    assert err.value.message.startswith(f"ssh config, train: {field}: ")


def test_a_bad_record_is_left_out_and_the_rest_still_works(stix_home: Path) -> None:
    warnings: list[str] = []
    good = NodeAddress("node-0", "10.0.0.1", 22, "alice", "/keys/100% key")
    path = sshconfig.write([("evil", [NodeAddress("node-0", EVIL, 22, "alice")]),
                            ("good", [good])], warn=warnings.append)
    text = path.read_text()
    assert "ProxyCommand" not in text and "Host evil" not in text
    assert warnings == [f"ssh config, evil: host: host {EVIL!r} is not a valid host name "
                        "(label '14\\nProxyCommand=/path/evil': letters, digits, '-' and '_', "
                        "at most 63, not starting or ending with '-'); cluster evil is left "
                        f"out of {path}"]
    if not shutil.which("ssh"):
        pytest.skip("no ssh client to read the file back")
    out = subprocess.run(["ssh", "-G", "-F", str(path), "good"], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert "identityfile /keys/100%% key" in out  # ssh expands %% to % when it uses it
    assert "stricthostkeychecking true" in out
    assert not any(line.startswith("proxycommand ") for line in out)
    known = stix_home / "ssh" / "known_hosts"
    assert f"userknownhostsfile {known}" in out and "globalknownhostsfile /dev/null" in out
