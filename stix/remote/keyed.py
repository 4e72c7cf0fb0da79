"""Buckets set up after boot over SSH, with the user's keys (`stix.clouds.keyed`): the
node's own cloud identity does not reach them, so cloud-init leaves them out.

Before setup runs, on every node: the keys each store needs go to `~/.stix/bucket-keys/` (0600,
over the SSH connection, never on a command line or in logs), then one bash script
mounts (MOUNT, MOUNT_CACHED) or copies (COPY, once per node and bucket) each bucket with
the FUSE tool or CLI of its kind, pointed at the store's endpoint. Every value in the
script is shell-quoted here (shlex.quote).
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from shlex import quote
from typing import TYPE_CHECKING

from stix.clouds.keyed import INSTALL, NODE_TOOL, Access, MissingKeys, access, with_keys
from stix.errors import StixError
from stix.placement import Bucket, Placement

if TYPE_CHECKING:
    from stix.remote.transport import NodeTransport
    from stix.task import Task

KEYS_DIR = ".stix/bucket-keys"
STATE_DIR = ".stix/keyed"


class KeyedBucketError(StixError):
    """A bucket reached with keys could not be set up on a node."""


@dataclass(frozen=True)
class Planned:
    """One bucket of a placement reached with keys, for `stix plan` and `stix up`."""

    bucket: Bucket
    how: str


def buckets(placement: Placement) -> list[Bucket]:
    """The placement's buckets that its nodes reach with the user's keys."""
    return [b for b in placement.buckets if with_keys(placement.cloud, b.store)]


def checked(placement: Placement) -> list[Bucket]:
    """`buckets`, each with a name no tool could read as an option or a second word."""
    out = buckets(placement)
    for b in out:
        segments = b.name.split("/")
        if (not b.name or b.name.startswith("-") or any(c in b.name for c in ":\0\n\r ")
                or len(segments) > (2 if b.store == "hf" else 1) or "" in segments):
            raise KeyedBucketError(f"bucket {b.name!r} on {b.mount_path}: not a usable "
                                   f"{b.store} bucket name")
        node_path(b.mount_path)
    return out


def planned(placement: Placement) -> list[Planned]:
    """What plan shows for them: where each goes and how it is reached (no keys read)."""
    from stix.clouds.keyed import describe

    return [Planned(b, describe(b.store, b.mode)) for b in checked(placement)]


def check(placement: Placement) -> dict[str, Access]:
    """The keys every keyed bucket needs, read on this machine (store → access); refuses,
    naming the file or variable to set, when one is missing. Run before anything is made."""
    out: dict[str, Access] = {}
    for b in buckets(placement):
        if b.store in out:
            continue
        try:
            out[b.store] = access(b.store)
        except MissingKeys as exc:
            raise MissingKeys(f"bucket {b.name or '?'} on {b.mount_path}: {exc.message}",
                              hint=exc.hint) from None
    return out


def before_up(placement: Placement) -> dict[str, Access]:
    """`check`, plus: a bucket the task names in a keyed store that stix would create must
    be creatable there (S3-compatible stores only). Run before anything is made."""
    from stix.clouds.keyed import kind

    found = check(placement)
    for b in buckets(placement):
        if b.create and kind(b.store) != "s3":
            raise MissingKeys(f"bucket {b.name} on {b.mount_path}: stix creates {b.store} "
                              "buckets only through its cloud's stack",
                              hint="create it first, and name it as the mount's `source`")
    return found


def create_missing(placement: Placement, found: dict[str, Access],
                   say: Callable[[str], None]) -> None:
    """Make the keyed buckets the task names that do not exist yet (from this machine)."""
    from stix.clouds.keyed import ensure_bucket

    for b in buckets(placement):
        if b.create and ensure_bucket(found[b.store], b.name):
            where = found[b.store].endpoint or "its default endpoint"
            say(f"bucket {b.name}: created in {b.store} ({where}); stix does not delete it")


def uploads(task: Task, placement: Placement) -> list[tuple[Bucket, list[str]]]:
    """The keyed S3-compatible buckets whose mount names local files to upload into them
    (`name:` with a local `source:`), with those sources."""
    from stix.clouds.keyed import kind

    mounts = task.storage_mounts()
    out = []
    for b in buckets(placement):
        mount = mounts.get(b.mount_path)
        if mount is None or not mount.source or mount.bucket() is not None:
            continue
        if kind(b.store) == "s3":
            out.append((b, [mount.source] if isinstance(mount.source, str) else mount.source))
    return out


def check_upload_sources(task: Task, *, allow_private: bool) -> None:
    """Before anything is made: every local source `up` will upload into a keyed bucket
    exists and is no credential store or private key (unless named and confirmed)."""
    from pathlib import Path

    from stix.remote.private import check_source
    from stix.task.notes import uploaded

    for target, mount in task.storage_mounts().items():
        if not mount.source or mount.bucket() is not None or not uploaded(mount, None):
            continue
        for source in [mount.source] if isinstance(mount.source, str) else mount.source:
            path = Path(source).expanduser().absolute()
            what = f"file_mounts: {target}: source"
            if not path.exists():
                raise KeyedBucketError(f"{what} {source} does not exist")
            check_source(path, what, named_mount=True, allowed=allow_private)


def upload_sources(task: Task, placement: Placement, found: dict[str, Access], *,
                   allow_private: bool, say: Callable[[str], None]) -> None:
    """Upload each keyed bucket's local source from this machine, as SkyPilot does: a
    single directory's contents at the bucket's root, several sources each by its name.
    Credential stores and private keys stay here (unless named and confirmed)."""
    from pathlib import Path

    from stix.clouds.keyed import upload
    from stix.remote.private import check_source
    from stix.remote.sync import collect

    for b, sources in uploads(task, placement):
        files: list[tuple[str, Path]] = []
        for source in sources:
            path = Path(source).expanduser().absolute()
            what = f"file_mounts: {b.mount_path}: source"
            confirmed = check_source(path, what, named_mount=True, allowed=allow_private)
            base = "" if len(sources) == 1 else path.name + "/"
            if path.is_dir():
                found_files = collect(path, private_ok=confirmed).files
                files += [(base + rel, path / rel) for rel in found_files]
            elif path.is_file():
                files.append((path.name, path))
            else:
                raise KeyedBucketError(f"{what} {source} does not exist")
        sent = upload(found[b.store], b.name, files)
        say(f"bucket {b.name}: {sent} of {len(files)} file(s) of {', '.join(sources)} "
            "uploaded (the others were there already)")


def node_path(path: str) -> str:
    """`path` as a shell word on the node: `~` and relative paths under the node's home."""
    if "\0" in path or "\n" in path:
        raise KeyedBucketError(f"mount path {path!r} holds a control character")
    rel = path[2:] if path.startswith("~/") else "" if path == "~" else path
    if path.startswith("/"):
        norm = "/" + posixpath.normpath(path).lstrip("/")
        if norm == "/":
            raise KeyedBucketError("cannot mount a bucket on /")
        return quote(norm)
    rel = posixpath.normpath(rel) if rel else "."
    if rel in (".", "..") or rel.startswith("../"):
        raise KeyedBucketError(f"mount path {path!r}: a bucket goes in a directory of its "
                               "own inside the home directory, not on it or above it")
    return f'"$node_home"/{quote(rel)}'


def _key(a: Access, suffix: str) -> str:
    return f'"$keys"/{quote(f"{a.store}.{suffix}")}'


def _s3_env(a: Access) -> str:
    env = f"AWS_SHARED_CREDENTIALS_FILE={_key(a, 'credentials')} AWS_CONFIG_FILE=/dev/null"
    return env + (f" AWS_DEFAULT_REGION={quote(a.region)}" if a.region else "")


def _uri(b: Bucket, scheme: str) -> str:
    prefix = b.prefix.strip("/")
    return f"{scheme}://{b.name}" + (f"/{prefix}" if prefix else "")


def copy_command(b: Bucket, a: Access) -> str:
    """The command that copies bucket `b` to "$dest" (COPY)."""
    if a.kind == "s3":
        endpoint = f" --endpoint-url {quote(a.endpoint)}" if a.endpoint else ""
        cli = f"{_s3_env(a)} aws s3"
        flags = f"--only-show-errors --no-progress{endpoint} {quote(_uri(b, 's3'))} \"$dest\""
        return _or_object(f"{cli} sync {flags}", f"{cli} cp {flags}", b)
    if a.kind == "gcs":
        cli = f"CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE={_key(a, 'json')} gcloud storage"
        src = f"{quote(_uri(b, 'gs'))} \"$dest\""
        return _or_object(f"{cli} rsync --recursive {src}", f"{cli} cp {src}", b)
    return (f"HF_TOKEN=\"$(cat {_key(a, 'token')})\" hf buckets sync "
            f"{quote(_uri(b, 'hf').replace('hf://', 'hf://buckets/', 1))} \"$dest\"")


def _or_object(sync: str, cp: str, b: Bucket) -> str:
    """`sync` of a prefix; when it brought nothing and the path names one object (SkyPilot's
    `/file: s3://bucket/key`), that object copied to the path instead."""
    if not b.prefix.strip("/"):
        return sync
    return (f'{sync} && {{ [ -n "$(ls -A -- "$dest")" ] || {{ rmdir -- "$dest" && {cp}; }} '
            f'|| own_dir "$dest"; }}')


def mount_command(b: Bucket, a: Access, index: int) -> str:
    """The command that mounts bucket `b` on "$dest" (MOUNT, MOUNT_CACHED)."""
    prefix = b.prefix.strip("/")
    if a.kind == "s3":
        source = f"{b.name}:/{prefix}" if prefix else b.name  # s3fs's bucket[:/path]
        opts = f" -o passwd_file={_key(a, 'passwd')}"
        if a.endpoint:
            opts += f" -o url={quote(a.endpoint)} -o use_path_request_style"
        if a.region:
            opts += f" -o endpoint={quote(a.region)}"
        if b.mode == "MOUNT_CACHED":
            opts += f' -o use_cache="$state"/cache-{index}'
        return f"fuse s3fs {quote(source)} \"$dest\"{opts} -o umask=0022 -o mp_umask=0022"
    if a.kind == "gcs":
        only = f" --only-dir {quote(prefix)}" if prefix else ""
        cache = (f' --cache-dir "$state"/cache-{index} --file-cache-max-size-mb -1'
                 if b.mode == "MOUNT_CACHED" else "")
        flags = f"--key-file {_key(a, 'json')} --implicit-dirs{only}{cache}"
        return (f'if priv true >/dev/null 2>&1; then priv gcsfuse -o allow_other --uid '
                f'"$(id -u)" --gid "$(id -g)" {flags} {quote(b.name)} "$dest"; '
                f'else gcsfuse {flags} {quote(b.name)} "$dest"; fi')
    target = f"{b.name}/{prefix}" if prefix else b.name
    return (f"HF_TOKEN=\"$(cat {_key(a, 'token')})\" hf-mount start bucket "
            f"{quote(target)} \"$dest\"")


def _mode(b: Bucket) -> str:
    return "COPY" if b.mode == "COPY" else "MOUNT"


def script(placement: Placement, accesses: dict[str, Access]) -> str:
    """The bash script that sets up every keyed bucket of `placement` on one node."""
    chosen = checked(placement)
    tools = sorted({NODE_TOOL[(accesses[b.store].kind, _mode(b))] for b in chosen})
    lines = [
        "set -u",
        "node_home=$PWD",  # commands start in the node's home (a local node's own too)
        'export PATH="$HOME/.local/bin:$PATH"',
        f'keys="$node_home"/{quote(KEYS_DIR)}',
        f'state="$node_home"/{quote(STATE_DIR)}',
        'mkdir -p -m 0700 -- "$state"',
        "failed=0",
        'say() { echo "stix-buckets: $*" >&2; }',
        'have() { command -v "$1" >/dev/null 2>&1; }',
        'priv() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }',
        'own_dir() { mkdir -p -- "$1" 2>/dev/null || { priv mkdir -p -- "$1" && '
        'priv chown "$(id -u):$(id -g)" -- "$1"; }; }',
        # As root where the login may (as the boot script mounts): the task's container
        # and other users then see the files, owned by the login.
        'fuse() { if priv true >/dev/null 2>&1; then priv "$@" -o allow_other '
        '-o uid="$(id -u)" -o gid="$(id -g)"; else "$@"; fi; }',
    ]
    for tool in tools:
        lines.append(f"have {quote(tool)} || {{ {INSTALL[tool]}; }} >/dev/null 2>&1 || "
                     f"say {quote(f'{tool} is not installed and could not be installed')}")
    for i, b in enumerate(chosen):
        a = accesses[b.store]
        what = f"{b.store} bucket {b.name}"
        lines += ["", f"# {i}: {what}".replace("\n", " "), f"dest={node_path(b.mount_path)}"]
        if _mode(b) == "COPY":
            mark = hashlib.sha256(f"{b.store}\0{b.name}\0{b.prefix}\0{b.mount_path}".encode()
                                  ).hexdigest()[:16]
            lines += [
                f'if [ ! -e "$state"/copied-{mark} ]; then',
                f'    if own_dir "$dest" && {copy_command(b, a)}; then',
                f'        touch "$state"/copied-{mark}',
                f"    else say {quote(f'copying {what} to')} \"$dest\" failed; failed=1; fi",
                "fi",
            ]
        else:
            cache = (f'mkdir -p -m 0700 -- "$state"/cache-{i} && '
                     if b.mode == "MOUNT_CACHED" else "")
            lines += [
                'if ! mountpoint -q -- "$dest"; then',
                f'    if ! {{ own_dir "$dest" && {cache}{mount_command(b, a, i)}; }}; then',
                f"        say {quote(f'mounting {what} on')} \"$dest\" failed; failed=1",
                "    fi",
                "fi",
            ]
    lines.append('exit "$failed"')
    return "\n".join(lines) + "\n"


async def setup(transports: list[NodeTransport], placement: Placement,
                say: Callable[[str], None] | None = None, *, task: Task | None = None,
                allow_private: bool = False) -> None:
    """`task`'s local sources into their buckets (when given), then on every node the keys
    and the script; raises naming the nodes where it failed."""
    if not buckets(placement):
        return
    accesses = check(placement)
    if task is not None:
        upload_sources(task, placement, accesses, allow_private=allow_private,
                       say=say or (lambda _: None))
    text = script(placement, accesses)
    if say is not None:
        say(f"setting up {len(buckets(placement))} bucket(s) with keys on "
            f"{len(transports)} node(s)")

    async def one(t: NodeTransport) -> str | None:
        for a in accesses.values():
            for name, data in sorted(a.files.items()):
                await t.write_file(f"{KEYS_DIR}/{name}", data, 0o600)
        result = await t.run(f"bash -c {quote(text)}")
        if result.ok:
            return None
        said = [ln for ln in result.stderr.decode("utf-8", "replace").splitlines()
                if ln.strip()]
        return f"  ({t.label}) " + ("; ".join(said[-3:]) or f"exit {result.exit_status}")

    failed = [f for f in await asyncio.gather(*(one(t) for t in transports)) if f]
    if failed:
        raise KeyedBucketError(f"buckets: not set up on {len(failed)} of {len(transports)} "
                               "node(s):\n" + "\n".join(failed),
                               hint="the nodes need the tools named above, and the keys "
                                    "must reach the bucket")
