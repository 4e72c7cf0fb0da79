"""What never leaves this machine by accident: credential stores and private keys.

A sync meets them in two ways: inside a tree it copies (a workdir, a mounted folder),
where they are left out with a message; or named as a source (`workdir: ~/.ssh`, a
file_mount of `~/.ssh/id_ed25519`), where the sync is refused — unless the task names that
exact path as a file_mount source *and* the user confirms with `--allow-private-mounts`.
A workdir or mount source that is the home directory (or holds it) is always refused: it
would ship every credential store at once.

Credential stores are stix's home, `~/.ssh`, `~/.docker/config.json`, `~/.gnupg`,
`~/.netrc`, `~/.git-credentials`, and each provider's own (`credential_paths` of the
registered clouds: `~/.aws`, `~/.config/gcloud`, `~/.azure`, `~/.kube` and the environment
variables that move them). A private key is any file whose first bytes hold a PEM/OpenSSH
`PRIVATE KEY` block or a PuTTY key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from stix.errors import StixError

ALLOW_FLAG = "--allow-private-mounts"
_GENERIC = ("~/.ssh", "~/.docker/config.json", "~/.gnupg", "~/.netrc", "~/.git-credentials")
_KEY_MARK = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|PuTTY-User-Key-File-\d")
SCAN_BYTES = 64 * 1024  # how much of each file is scanned (keys sit at the start of small files)


class PrivateSourceError(StixError):
    """A sync source that is (or holds) a credential store or private key."""


def _expand(entry: str) -> list[Path]:
    if entry.startswith("$"):
        value = os.environ.get(entry[1:], "")
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    return [Path(entry).expanduser()]


def credential_stores() -> list[Path]:
    """Every credential store on this machine stix knows of (real paths)."""
    from stix.clouds import registry
    from stix.paths import stix_home

    entries: list[str] = [*_GENERIC]
    for provider in registry.all_clouds():
        entries += list(provider.credential_paths)
    paths = [stix_home(), *(p for e in entries for p in _expand(e))]
    return sorted({Path(os.path.realpath(p)) for p in paths})


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def store_of(path: Path, stores: Iterable[Path]) -> Path | None:
    """The credential store `path` is, or lies in (None: neither)."""
    real = Path(os.path.realpath(path))
    return next((s for s in stores if _within(real, s)), None)


def holds_private_key(path: Path) -> bool:
    """Whether a regular file's first bytes hold a private key (unreadable: no)."""
    try:
        with open(path, "rb") as f:
            return _KEY_MARK.search(f.read(SCAN_BYTES)) is not None
    except OSError:
        return False


def holds_home(path: Path) -> bool:
    """Whether `path` is the home directory or one of its parents."""
    real = Path(os.path.realpath(path))
    return _within(Path(os.path.realpath(Path.home())), real)


def check_source(path: Path, what: str, *, named_mount: bool, allowed: bool) -> bool:
    """Refuse a sync source that is private; True when it is private and allowed (a
    file_mount source named exactly, with the user's confirmation)."""
    if path.is_dir() and holds_home(path):
        raise PrivateSourceError(
            f"{what}: {path} is your home directory (or holds it); syncing it would send "
            "every credential store in it to the nodes",
            hint="point it at the project folder instead")
    stores = credential_stores()
    store = store_of(path, stores)
    if store is not None:
        reason = f"is a credential store ({store})" if Path(os.path.realpath(path)) == store \
            else f"lies in the credential store {store}"
    elif path.is_file() and holds_private_key(path):
        reason = "holds a private key"
    else:
        return False
    if named_mount and allowed:
        return True
    confirm = f"allow_private_mounts=True ({ALLOW_FLAG})"
    hint = (f"stix sends it only when you confirm with {confirm}" if named_mount else
            f"name the exact path as a file_mount source and confirm with {confirm}")
    raise PrivateSourceError(f"{what}: {path} {reason}; stix does not send it", hint=hint)


def reason_to_skip(path: Path, is_dir: bool, stores: list[Path]) -> str | None:
    """Why a path met inside a synced tree stays here (None: it may go)."""
    store = store_of(path, stores)
    if store is not None:
        return "a credential store"
    if not is_dir and not path.is_symlink() and holds_private_key(path):
        return "holds a private key"
    return None
