"""`~/.stix/ssh/config`: a Host per cluster (its head node) and per node, so plain `ssh`,
`scp`, `rsync` and editors reach clusters by name once the user adds
`Include ~/.stix/ssh/config` at the top of `~/.ssh/config`.

Every value is checked before it is written: a newline would start a new option (a
`ProxyCommand` runs on `ssh NAME`), `%` and `${` are expanded by ssh, `*?!,` are patterns in
`Host`. Hosts, users and aliases must be plain (`stix.remote.names`); paths are quoted with
`%` doubled and `${` refused. What cannot be written safely is refused, naming the field.
Host keys are checked exactly as stix itself checks them (`hostkeys`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from stix.errors import StixError
from stix.paths import stix_home
from stix.remote import names
from stix.remote.transport import NodeAddress


class SshConfigError(StixError):
    """A value that cannot go into an ssh config line as it is."""


def config_path() -> Path:
    return stix_home() / "ssh" / "config"


def quote_path(path: str) -> str:
    """A path as one ssh_config word: double quotes, `\\` and `"` escaped, `%` doubled."""
    names.check_path(path)
    body = path.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{body}"'


def host_key_options(node: NodeAddress) -> list[tuple[str, str]]:
    """Options making OpenSSH check the node's key against stix's pins, and only them."""
    from stix.remote.hostkeys import known_hosts_path

    opts = [("StrictHostKeyChecking", "yes"),
            ("UserKnownHostsFile", quote_path(str(known_hosts_path()))),
            ("GlobalKnownHostsFile", "/dev/null"), ("UpdateHostKeys", "no"),
            ("CheckHostIP", "no")]
    if node.host_key_alias:
        opts.append(("HostKeyAlias", names.check_alias(node.host_key_alias)))
    if node.proxy_command:  # ssh expands %h/%p/%r itself
        opts.append(("ProxyCommand", names.check_proxy_command(node.proxy_command)))
    return opts


def host_block(alias: str, node: NodeAddress) -> str:
    """One `Host` block; `SshConfigError` names the node and field that cannot be written."""

    def checked(field: str, check: Callable[[str], str], value: str) -> str:
        try:
            return check(value)
        except ValueError as exc:
            raise SshConfigError(f"ssh config, {alias}: {field}: {exc}") from None

    lines = [f"Host {checked('name', names.check_alias, alias)}",
             f"  HostName {checked('host', names.check_host, node.host)}",
             f"  Port {int(node.port)}"]
    if node.user:
        lines.append(f"  User {checked('user', names.check_user, node.user)}")
    if node.identity_file:
        lines += [f"  IdentityFile {checked('identity_file', quote_path, node.identity_file)}",
                  "  IdentitiesOnly yes"]
    try:
        lines += [f"  {key} {value}" for key, value in host_key_options(node)]
    except ValueError as exc:
        raise SshConfigError(f"ssh config, {alias}: host key options: {exc}") from None
    return "\n".join(lines) + "\n"


def _cluster_blocks(name: str, nodes: list[NodeAddress]) -> list[str]:
    remote = [n for n in nodes if not n.local_home]
    if not remote:
        return []
    return [host_block(name, remote[0])] + [host_block(f"{name}-{n.name}", n) for n in remote]


def render(clusters: Iterable[tuple[str, list[NodeAddress]]]) -> str:
    """The whole file; raises `SshConfigError` on the first value it cannot write."""
    out = [_HEADER]
    for name, nodes in sorted(clusters, key=lambda c: c[0]):
        out += _cluster_blocks(name, nodes)
    return "\n".join(out)


_HEADER = ("# Written by stix; rewritten on every `stix up`/`down`. Use it with\n"
           "#   Include ~/.stix/ssh/config\n# at the top of ~/.ssh/config.\n")


def _stderr(message: str) -> None:
    sys.stderr.write(f"stix: {message}\n")


def write(clusters: Iterable[tuple[str, list[NodeAddress]]],
          warn: Callable[[str], None] = _stderr) -> Path:
    """Rewrite the file atomically (0600, folder 0700). A cluster with a value that cannot
    be written safely is left out, with a warning (one bad record must not block every
    `up` and `down`)."""
    out = [_HEADER]
    for name, nodes in sorted(clusters, key=lambda c: c[0]):
        try:
            out += _cluster_blocks(name, nodes)
        except SshConfigError as exc:
            warn(f"{exc.message}; cluster {name} is left out of {config_path()}")
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".config.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    os.replace(tmp, path)
    return path
