"""`~/.stix/ssh/config`: a Host per cluster (its head node) and per node, so plain `ssh`,
`scp`, `rsync` and editors reach clusters by name once the user adds
`Include ~/.stix/ssh/config` at the top of `~/.ssh/config`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from stix.paths import stix_home
from stix.remote.transport import NodeAddress


def config_path() -> Path:
    return stix_home() / "ssh" / "config"


def _value(text: str) -> str:
    # ssh_config takes double quotes around values holding spaces; nothing else is special.
    if any(c in text for c in ' \t"'):
        return '"' + text.replace('"', "") + '"'
    return text


def host_block(alias: str, node: NodeAddress) -> str:
    lines = [f"Host {alias}", f"  HostName {_value(node.host)}", f"  Port {node.port}"]
    if node.user:
        lines.append(f"  User {_value(node.user)}")
    if node.identity_file:
        lines += [f"  IdentityFile {_value(node.identity_file)}", "  IdentitiesOnly yes"]
    known = stix_home() / "ssh" / "known_hosts"
    lines += ["  StrictHostKeyChecking accept-new", f"  UserKnownHostsFile {_value(str(known))}"]
    return "\n".join(lines) + "\n"


def render(clusters: Iterable[tuple[str, list[NodeAddress]]]) -> str:
    out = ["# Written by stix; rewritten on every `stix up`/`down`. Use it with\n"
           "#   Include ~/.stix/ssh/config\n# at the top of ~/.ssh/config.\n"]
    for name, nodes in sorted(clusters, key=lambda c: c[0]):
        remote = [n for n in nodes if not n.local_home]
        if not remote:
            continue
        out.append(host_block(name, remote[0]))
        for node in remote:
            out.append(host_block(f"{name}-{node.name}", node))
    return "\n".join(out)


def write(clusters: Iterable[tuple[str, list[NodeAddress]]]) -> Path:
    """Rewrite the file atomically (0600, folder 0700)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".config.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(render(clusters))
    os.replace(tmp, path)
    return path
