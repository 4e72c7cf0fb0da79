"""`ssh_proxy_command`: nodes reached through a ProxyCommand (a bastion, a private subnet)
by every path stix has — asyncssh, rsync, and the generated ssh config — against a real
sshd node that stands behind an address nothing routes to."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stix.remote import sshconfig
from stix.remote.names import check_proxy_command
from stix.remote.transport import NodeAddress, connect, expand_proxy, rsync_argv
from stix.user_config import Config

RELAY = Path(__file__).with_name("proxy_relay.py")
HIDDEN = "198.51.100.7"  # TEST-NET-2: routed nowhere, reachable only through the proxy


def test_tokens_and_one_line() -> None:
    node = NodeAddress("n", HIDDEN, 2222, "ubuntu", proxy_command="ssh -W %h:%p bastion %r %%")
    assert expand_proxy(node) == f"ssh -W {HIDDEN}:2222 bastion ubuntu %"
    with pytest.raises(ValueError, match="one non-empty line"):
        check_proxy_command("nc %h %p\nProxyCommand evil")
    assert Config.model_validate({"ssh_proxy_command": {"aws": "nc %h %p"}}).proxy_command_for(
        "aws") == "nc %h %p"
    assert Config.model_validate({"ssh_proxy_command": "nc %h %p"}).proxy_command_for(
        "gcp") == "nc %h %p"
    with pytest.raises(ValueError, match="not a cloud stix serves"):
        Config.model_validate({"ssh_proxy_command": {"awz": "nc %h %p"}})


@pytest.mark.sshd
def test_every_path_goes_through_the_proxy(sshd_nodes: Callable[[int], list[Any]],
                                           sshd_hosts: Any, tmp_path: Path) -> None:
    real = sshd_nodes(1)[0].address(sshd_hosts.key)
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"map": {HIDDEN: f"{real.host}:{real.port}"}, "free": []}))
    command = f"{sys.executable} {RELAY} %h %p {mapping}"
    node = NodeAddress("n", HIDDEN, 22, real.user, real.identity_file, cluster="px",
                       proxy_command=command)

    async def run() -> bytes:
        transport = await connect(node)
        try:
            return (await transport.run("echo through; hostname -I || true")).stdout
        finally:
            await transport.close()

    assert b"through" in asyncio.run(run())
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.txt").write_text("synced")
    argv = rsync_argv(node, src, "px-dir")
    done = subprocess.run(argv, input=b"", capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    config = sshconfig.write([("px", [node])])
    assert f"ProxyCommand {command}" in config.read_text()
    out = subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", "px",
                          "cat px-dir/f.txt"], capture_output=True, timeout=30)
    assert out.returncode == 0 and out.stdout == b"synced", out.stderr
