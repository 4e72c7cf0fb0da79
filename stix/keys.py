"""The user's stix SSH key pair: one ed25519 pair under `<stix home>/keys/`.

The public half is what stacks and cloud-init carry; the private half stays in this
folder (0600, folder 0700) and is only ever handed to SSH clients by path. Nothing in
this module returns private key text.

Keys are made with asyncssh (a dependency already; imported only when a key has to be
made or checked, so `stix --help` stays fast). A pair is made once and then reused: a
second call, or a second process racing the first, gets the same pair.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from stix.errors import StixError
from stix.paths import stix_home

KEY_NAME = "stix_ed25519"
KEY_COMMENT = "stix"
_PUBLIC_PREFIX = "ssh-ed25519 "


class KeyFileError(StixError):
    """The stix key pair on disk cannot be used as it is (damaged, unsafe, half missing)."""


@dataclass(frozen=True)
class KeyPair:
    """Where the pair lives, and the public line that may be published."""

    private_path: Path
    public_path: Path
    public_key: str  # one line: "ssh-ed25519 AAAA... stix"


def keys_dir() -> Path:
    return stix_home() / "keys"


def private_key_path() -> Path:
    """Path of the private key, for `ssh -i` / `IdentityFile` (the text is never read out)."""
    return keys_dir() / KEY_NAME


def public_key_path() -> Path:
    return keys_dir() / (KEY_NAME + ".pub")


def ensure_key_pair() -> KeyPair:
    """The user's key pair: checked when it exists, made when it does not.

    Raises `KeyFileError` when the files exist but cannot be trusted: group/other access to
    the private key or the folder, a damaged or passphrase-protected private key, a public
    key that is not the private key's, or a public key whose private half is gone (making a
    new pair then would silently lock the user out of clusters that trust the old one).
    """
    folder = keys_dir()
    try:
        return _ensure_pair(folder)
    except OSError as exc:  # an unwritable or odd STIX_HOME, a full disk, ...
        where = exc.filename or folder
        raise KeyFileError(f"cannot keep stix's SSH keys in {folder}: {where}: "
                           f"{exc.strerror or exc}") from None


def public_key_text() -> str:
    """The public key line that goes into stacks and user-data (made on first use)."""
    return ensure_key_pair().public_key


def check_public_key(text: str) -> str:
    """`text` stripped, when it is one OpenSSH public key line; else a `KeyFileError`.

    Guards the places that publish a key (stacks, user-data) against being handed a
    private key or several lines by mistake.
    """
    line = text.strip()
    if "PRIVATE KEY" in line or "\n" in line or "\r" in line:
        raise KeyFileError("refusing to publish key material that is not one public key line")
    parts = line.split(" ")
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")):
        raise KeyFileError(f"not an OpenSSH public key: {line[:40]!r}")
    import base64
    import binascii

    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"not an OpenSSH public key (bad base64): {line[:40]!r}") from None
    if not blob.startswith(len(parts[0]).to_bytes(4, "big") + parts[0].encode()):
        raise KeyFileError(f"not an OpenSSH public key (type mismatch): {line[:40]!r}")
    return line


# -- internals ---------------------------------------------------------------------------


def _ensure_pair(folder: Path) -> KeyPair:
    _ensure_folder(folder)
    with _folder_lock(folder):
        priv, pub = private_key_path(), public_key_path()
        if _exists(priv):
            return _load_existing(priv, pub)
        if _exists(pub):
            raise KeyFileError(
                f"{pub} exists but its private key {priv} is missing",
                hint="clusters launched with the old key cannot be reached any more; restore "
                f"{priv} from a backup, or move {pub} away to make a new pair",
            )
        return _generate(priv, pub)


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


def _ensure_folder(folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        raise KeyFileError(f"{folder} should be a folder for stix's SSH keys, and it is not")
    if info.st_uid != os.getuid():
        raise KeyFileError(f"{folder} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise KeyFileError(
            f"{folder} is open to other users (mode {stat.S_IMODE(info.st_mode):04o})",
            hint=f"chmod 700 {folder}",
        )


class _folder_lock:  # lower case: reads like the function it stands in for
    """An exclusive lock on the keys folder, so two processes never make two pairs."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / ".lock"
        self._fd = -1

    def __enter__(self) -> None:
        import fcntl

        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing releases the lock


def _check_private_file(priv: Path) -> None:
    info = os.lstat(priv)
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{priv} should be a regular file (the stix private key), and is not")
    if info.st_uid != os.getuid():
        raise KeyFileError(f"{priv} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise KeyFileError(
            f"{priv} is readable or writable by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); SSH would refuse it",
            hint=f"chmod 600 {priv}",
        )


def _load_existing(priv: Path, pub: Path) -> KeyPair:
    _check_private_file(priv)
    import asyncssh

    try:
        key = asyncssh.read_private_key(priv)
    except asyncssh.KeyImportError as exc:
        if "passphrase" in str(exc).lower():
            raise KeyFileError(
                f"{priv} is protected by a passphrase; stix needs an unencrypted key it can "
                "hand to SSH unattended",
                hint=f"move {priv} and {pub} away to let stix make a new pair",
            ) from None
        raise KeyFileError(
            f"{priv} is not a usable private key ({exc})",
            hint=f"restore it from a backup, or move {priv} and {pub} away to make a new pair",
        ) from None
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{priv} cannot be read: {exc}") from None
    if key.algorithm != b"ssh-ed25519":
        raise KeyFileError(f"{priv} is a {key.algorithm.decode()} key; stix expects ed25519")
    derived = _public_line(key)
    if not _exists(pub):
        _write_atomic(pub, (derived + "\n").encode(), 0o644)
        return KeyPair(priv, pub, derived)
    try:
        on_disk = check_public_key(pub.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{pub} cannot be read: {exc}") from None
    except KeyFileError as exc:
        raise KeyFileError(f"{pub}: {exc.message}") from None
    if on_disk.split(" ")[:2] != derived.split(" ")[:2]:
        raise KeyFileError(
            f"{pub} does not belong to the private key {priv}",
            hint=f"remove {pub}; stix writes it again from the private key",
        )
    return KeyPair(priv, pub, on_disk)


def _public_line(key: object) -> str:
    data: bytes = key.export_public_key("openssh")  # type: ignore[attr-defined]
    algo, blob = data.decode("ascii").split()[:2]
    return f"{algo} {blob} {KEY_COMMENT}"


def _generate(priv: Path, pub: Path) -> KeyPair:
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519", comment=KEY_COMMENT)
    line = _public_line(key)
    assert line.startswith(_PUBLIC_PREFIX)
    # Private first: a crash in between leaves a private key without its public half,
    # which the next call repairs; never the reverse, which it must refuse.
    _write_atomic(priv, key.export_private_key("openssh"), 0o600)
    _write_atomic(pub, (line + "\n").encode(), 0o644)
    return KeyPair(priv, pub, line)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write to a new file created with `mode` (never wider, even for a moment), then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # a leftover of a crashed run (we hold the folder lock)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)  # the umask may have narrowed it; make it exact
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
