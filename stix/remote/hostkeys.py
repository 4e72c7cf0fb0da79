"""Node host keys: pinned in stix's own known-hosts file and checked on every SSH path.

stix keeps `<stix home>/ssh/known_hosts` (OpenSSH format, 0600, folder 0700); asyncssh is
given exactly the keys pinned there, and `ssh`/`rsync`/the generated ssh config point
`UserKnownHostsFile` at it with `StrictHostKeyChecking yes`, so every path checks the same
pins. How a key gets pinned depends on where the node comes from:

- **cloud nodes** (`NodeAddress.host_key_source` = `<cloud>/<region>[/...]`, what
  `Cloud.host_key_source` records to find the node again): the node makes its own host
  keys at first boot (the private half never leaves it) and cloud-init prints the
  public halves to the serial console; stix reads them through the cloud's API
  (authenticated, over TLS), which an attacker between stix and the node cannot forge. The
  pin is stored under the node's alias (`<node>.<cluster>.stix`, `HostKeyAlias`), so a
  recycled IP address never inherits a stale key. The console is the authority: when a
  node presents another key (the instance was replaced), the console is read again and
  only a key it shows is accepted. A cloud package without a console reader falls back to
  trust on first use, and says so.
- **existing machines** (`ssh` pools; no source): trust on first use, recorded under
  `[host]:port`; a different key afterwards is refused, with the command that forgets the
  old pin when the change is expected.

`STIX_HOST_KEYS=tofu` makes cloud nodes trust on first use too (images that do not print
their keys to the console).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stix.errors import StixError
from stix.paths import stix_home

if TYPE_CHECKING:
    from stix.remote.transport import NodeAddress

# (trusted keys for asyncssh's `known_hosts`, client factory) -> an open connection
Opener = Callable[[tuple[list[Any], list[Any], list[Any]], Callable[[], Any]], Awaitable[Any]]

BEGIN_KEYS = "-----BEGIN SSH HOST KEY KEYS-----"
END_KEYS = "-----END SSH HOST KEY KEYS-----"
_KEY_IN_LINE = re.compile(r"((?:ssh|ecdsa|sk)-[A-Za-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?=\s|$)")
POLICY_ENV = "STIX_HOST_KEYS"


class HostKeyError(StixError):
    """A node presented a host key stix cannot trust; never retried as "unreachable"."""


class NoConsoleReader(StixError):
    """Raised by a cloud's `host_keys` when its reader cannot work here (its auth library
    is not installed): stix trusts on first use, as for a cloud with no reader, and says why."""


class HostKeyMismatch(Exception):
    """The node's key is not among the trusted ones (raised by an opener, handled here)."""

    def __init__(self, offered: Any) -> None:
        super().__init__("host key not trusted")
        self.offered = offered


def known_hosts_path() -> Path:
    return stix_home() / "ssh" / "known_hosts"


def pattern_for(address: NodeAddress) -> str:
    """The name a node's key is pinned under: its alias, or OpenSSH's `[host]:port`."""
    if address.host_key_alias:
        return address.host_key_alias
    return address.host if address.port == 22 else f"[{address.host}]:{address.port}"


def cloud_alias(cluster: str, node: str, host: str) -> str:
    """The alias a cloud node's key is pinned under: never a real host name, and new when
    the node's address changes (a replaced instance is a new machine on first use)."""
    return f"{node}.{re.sub(r'[^A-Za-z0-9-]', '-', host)}.{cluster}.stix"


def trust_on_first_use(address: NodeAddress) -> bool:
    return address.host_key_source is None or os.environ.get(POLICY_ENV) == "tofu"


def forget_hint(address: NodeAddress) -> str:
    return (f"ssh-keygen -f {shlex.quote(str(known_hosts_path()))} -R "
            f"{shlex.quote(pattern_for(address))}")


# -- the file ------------------------------------------------------------------------------


def _key_part(line: str) -> str:
    """`type base64` of a public key line (comment dropped)."""
    return " ".join(line.split()[:2])


def pinned(pattern: str) -> list[str]:
    """The keys (`type base64`) pinned for `pattern`."""
    try:
        text = known_hosts_path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#") and pattern in parts[0].split(","):
            out.append(f"{parts[1]} {parts[2]}")
    return out


def pin(pattern: str, keys: list[str], note: str, *, replace: bool = False) -> None:
    """Record `keys` for `pattern` (`replace`: instead of what was pinned before)."""
    from stix.keys import check_public_key

    if not keys:
        raise ValueError("no keys to pin")
    if any(c.isspace() or c in ",#" for c in pattern):
        raise HostKeyError(f"cannot pin a host key under {pattern!r}")
    clean = [_key_part(check_public_key(k)) for k in keys]
    with _locked() as path:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        kept = []
        have = set()
        for line in lines:
            parts = line.split()
            mine = len(parts) >= 3 and pattern in parts[0].split(",")
            if mine and replace:
                continue
            if mine:
                have.add(f"{parts[1]} {parts[2]}")
            kept.append(line)
        kept += [f"{pattern} {k} stix: {note}" for k in clean if k not in have]
        _write(path, "".join(line + "\n" for line in kept))


def forget(pattern: str) -> int:
    """Remove every pin of `pattern`; how many lines went."""
    with _locked() as path:
        if not path.exists():
            return 0
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [ln for ln in lines
                if not (len(ln.split()) >= 3 and pattern in ln.split()[0].split(","))]
        _write(path, "".join(line + "\n" for line in kept))
        return len(lines) - len(kept)


def forget_nodes(nodes: list[NodeAddress]) -> None:
    """Drop every pin of the clusters these cloud nodes belong to (aliases end in
    `.<cluster>.stix`; older addresses' too); pool hosts outlive clusters and keep theirs."""
    suffixes = {"." + ".".join(n.host_key_alias.split(".")[-2:])
                for n in nodes if n.host_key_alias and n.host_key_alias.count(".") >= 2}
    if not suffixes:
        return
    with _locked() as path:
        if not path.exists():
            return
        kept = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                if not any(p.endswith(tuple(suffixes)) for p in ln.split()[0].split(","))]
        _write(path, "".join(line + "\n" for line in kept))


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    import fcntl

    path = known_hosts_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_name(".known_hosts.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".known_hosts.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


# -- what the console says -----------------------------------------------------------------


def keys_from_console(text: str) -> list[str]:
    """The host keys (`type base64`) in the last block cloud-init printed to the console
    (`-----BEGIN SSH HOST KEY KEYS-----`); lines may carry a console prefix."""
    from stix.keys import KeyFileError, check_public_key

    start = text.rfind(BEGIN_KEYS)
    if start < 0:
        return []
    end = text.find(END_KEYS, start)
    if end < 0:
        return []  # the block is still being written
    keys = []
    for line in text[start + len(BEGIN_KEYS):end].splitlines():
        found = _KEY_IN_LINE.search(line)
        if found is None:
            continue
        with contextlib.suppress(KeyFileError):
            keys.append(_key_part(check_public_key(f"{found[1]} {found[2]}")))
    return keys


def fingerprint(key: Any) -> str:
    """SHA256 fingerprint of an asyncssh key."""
    return str(key.get_fingerprint("sha256"))


def say(message: str) -> None:
    """Tell the user something about trust they should know, even from deep in a connect."""
    sys.stderr.write(f"stix: {message}\n")
    sys.stderr.flush()


# -- connecting ----------------------------------------------------------------------------


def _not_ready(address: NodeAddress, why: str) -> Exception:
    from stix.remote.transport import NodeUnreachableError

    return NodeUnreachableError(f"({address.name}, {address.ip}) {why}")


async def from_cloud(address: NodeAddress) -> list[str] | None:
    """The node's host keys as its cloud reports them; None when the cloud package has no
    way to read them (here). Not there yet (the node is still booting) is retried by the
    caller as an unreachable node."""
    from stix.clouds import registry

    source = address.host_key_source or ""
    cloud_name, _, where = source.partition("/")
    cloud = registry.cloud(cloud_name)
    loop = asyncio.get_running_loop()
    try:
        keys = await loop.run_in_executor(None, cloud.host_keys, where.partition("/")[0],
                                          address)
    except NoConsoleReader as exc:
        say(f"{address.name} ({address.host}): {exc.message}"
            + (f" ({exc.hint})" if exc.hint else ""))
        return None
    if keys is not None and not keys:
        raise _not_ready(address, f"{cloud_name} does not show the node's host keys yet "
                         "(cloud-init prints them to the console when it finishes)")
    return keys


async def _expected(address: NodeAddress) -> tuple[list[str], bool]:
    """(keys to trust, whether a new key may be pinned on first use)."""
    pattern = pattern_for(address)
    pins = pinned(pattern)
    if pins or trust_on_first_use(address):
        return pins, not pins
    keys = await from_cloud(address)
    if keys is None:
        say(f"{address.name} ({address.host}): {address.host_key_source} offers stix no "
            "way to read host keys yet; trusting the key the node presents now (first use)")
        return [], True
    pin(pattern, keys, f"from the {address.host_key_source} console output", replace=True)
    return keys, False


def _trusted(keys: list[str]) -> tuple[list[Any], list[Any], list[Any]]:
    import asyncssh

    return [asyncssh.import_public_key(k) for k in keys], [], []


def _client_factory(offered: list[Any], allow_new: bool) -> Callable[[], Any]:
    import asyncssh

    class Client(asyncssh.SSHClient):
        def validate_host_public_key(self, host: str, addr: str, port: int,
                                     key: Any) -> bool:
            offered.append(key)
            return allow_new

    return Client


def _line(key: Any) -> str:
    return _key_part(key.export_public_key("openssh").decode("ascii"))


async def open_verified(address: NodeAddress, opener: Opener) -> Any:
    """A connection to `address` whose host key is pinned (or, on first use, gets pinned);
    a key stix cannot trust is a `HostKeyError` naming the node and how to go on."""
    keys, first_use = await _expected(address)
    offered: list[Any] = []
    try:
        conn = await opener(_trusted(keys), _client_factory(offered, first_use))
    except HostKeyMismatch:
        if not offered:
            raise _refused(address, keys, None) from None
        return await _second_opinion(address, opener, keys, offered[-1])
    if first_use and offered:
        pin(pattern_for(address), [_line(offered[-1])], "trusted on first use")
    return conn


async def _second_opinion(address: NodeAddress, opener: Opener, keys: list[str],
                          offered: Any) -> Any:
    """A cloud node with another key than the pinned one: accepted only when its cloud
    shows that very key (the instance was replaced); anything else is refused."""
    if trust_on_first_use(address):
        raise _refused(address, keys, offered)
    fresh = await from_cloud(address)
    if fresh is None:  # pinned on first use: a changed key is refused as for a pool host
        raise _refused(address, keys, offered, first_use=True)
    line = _line(offered)
    if line not in fresh:
        raise _refused(address, keys, offered)
    pin(pattern_for(address), fresh, f"from the {address.host_key_source} console output",
        replace=True)
    say(f"{address.name} ({address.host}) has a new host key, confirmed by "
        f"{address.host_key_source} (the instance was replaced); pinned it")
    return await opener(_trusted(fresh), _client_factory([], False))


def _refused(address: NodeAddress, keys: list[str], offered: Any, *,
             first_use: bool = False) -> HostKeyError:
    shown = fingerprint(offered) if offered is not None else "none of the pinned key types"
    where = f"{address.name} ({address.host}:{address.port})"
    if first_use or trust_on_first_use(address):
        return HostKeyError(
            f"{where} presented host key {shown}, not the key stix recorded for it on first "
            f"use ({known_hosts_path()}): the machine was reinstalled, or someone is in the "
            "middle", hint="if you know why the key changed, forget the old one with "
            f"`{forget_hint(address)}`; the next connection records the new key")
    return HostKeyError(
        f"{where} presented host key {shown}, which {address.host_key_source} does not "
        "report for this node: someone may be in the middle; stix sent nothing",
        hint="check the instance's console output in the cloud console; `stix down` and "
        "`stix up` make a new node if in doubt")
