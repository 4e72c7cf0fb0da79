"""Names a node resolves through its hosts file: a block of lines stix owns, marked with
the cluster that wrote them, replaced whole by the next write and removed when the
cluster goes (other lines, and other clusters' blocks, are never touched)."""

from __future__ import annotations

import shlex

HOSTS = "/etc/hosts"


def block_script(owner: str, entries: list[tuple[str, str]], path: str = HOSTS) -> str:
    """A shell script that makes `owner`'s block of the node's hosts file `entries`
    ((address, name) pairs; none: the block goes), as root or with passwordless sudo. It
    prints `hosts` when done and `no-root` when it may not write the file."""
    mark = f"#stix-hosts={owner}"
    lines = "".join(f"{ip} {name} {mark}\n" for ip, name in entries)
    hosts = shlex.quote(path)
    return "\n".join([
        's=""',
        'if [ "$(id -u)" != 0 ]; then',
        '  if sudo -n true 2>/dev/null; then s="sudo -n"; else echo no-root; exit 0; fi',
        "fi",
        f"grep -q -- {shlex.quote(' ' + mark + '$')} {hosts} || [ -n {shlex.quote(lines)} ] "
        "|| { echo hosts; exit 0; }",
        't=$(mktemp) || exit 1',
        f"grep -v -- {shlex.quote(' ' + mark + '$')} {hosts} > \"$t\"",
        f"printf %s {shlex.quote(lines)} >> \"$t\"",
        f'$s tee {hosts} < "$t" > /dev/null; rc=$?; rm -f "$t"',
        '[ "$rc" = 0 ] && echo hosts',
        'exit "$rc"',
    ])
