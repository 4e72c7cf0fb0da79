"""Copy the task's workdir and local file_mounts to every node, in parallel.

Ignore rules come from `.gitignore` and `.stixignore` files (any depth; `.stixignore` is
read after `.gitignore`, so it can re-include with `!`). The matching is ours, close to
git's for the common cases; the result is one exact list of files and one of excluded
paths, so rsync (given the excludes as anchored, escaped paths) and the SFTP fallback
copy the very same set.

Credential stores and private keys met on the way stay here, with a message; a source that
is one is refused (`stix.remote.private`).
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stix.errors import StixError
from stix.remote import private
from stix.remote.agent_client import WORKDIR  # relative to the node home
from stix.say import Say

if TYPE_CHECKING:
    from stix.task import Task

IGNORE_FILES = (".gitignore", ".stixignore")
ALWAYS_EXCLUDED = (".git",)


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool

    def matches(self, rel: str, is_dir: bool) -> bool:
        return (is_dir or not self.dir_only) and self.regex.fullmatch(rel) is not None


def _translate(pattern: str) -> str:
    """Glob (git flavour) → regex over '/'-separated paths."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i) and i + 2 == n and (i == 0 or pattern[i - 1] == "/"):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern.startswith("[!", i) or
                               pattern.startswith("[^", i) else i + 1)
            if end < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1:end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:].replace("\\", "\\\\")
            else:
                body = body.replace("\\", "\\\\")
            out.append(f"(?!/)[{body}]")
            i = end + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def parse_rules(text: str) -> list[Rule]:
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        # Trailing spaces are dropped unless escaped with a backslash.
        stripped = line.rstrip(" ")
        if stripped.endswith("\\") and len(stripped) < len(line):
            stripped += " "
        line = stripped
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate or line.startswith(("\\!", "\\#")):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        body = _translate(line.lstrip("/"))
        regex = body if anchored else "(?:.*/)?" + body
        rules.append(Rule(re.compile(regex, re.DOTALL), negate, dir_only))
    return rules


@dataclass
class FileSet:
    """What a sync copies (`files`) and what it leaves out (`excluded`; directories end
    with '/'), both relative to `root`; `private` lists the excluded paths that are
    credential stores or private keys, with why."""

    root: Path
    files: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    private: list[tuple[str, str]] = field(default_factory=list)


def collect(root: Path, *, honour_ignores: bool = True, private_ok: bool = False) -> FileSet:
    """Walk `root` applying ignore files found on the way; ignored directories are pruned,
    and so are credential stores and files holding a private key (unless `private_ok`: a
    source the user named and confirmed)."""
    if not root.is_dir():
        raise StixError(f"workdir {root} is not a directory")
    result = FileSet(root)
    stores = [] if private_ok else private.credential_stores()

    def kept_private(dirpath: str, name: str, is_dir: bool, rel: str) -> bool:
        if private_ok:
            return False
        why = private.reason_to_skip(Path(dirpath, name), is_dir, stores)
        if why is not None:
            result.private.append((rel + ("/" if is_dir else ""), why))
        return why is not None
    # Each entry: (directory prefix relative to root, rules of one ignore file there).
    scopes: list[tuple[str, list[Rule]]] = []

    def ignored(rel: str, is_dir: bool) -> bool:
        verdict = False
        for prefix, rules in scopes:
            if prefix and not rel.startswith(prefix + "/"):
                continue
            sub = rel[len(prefix) + 1:] if prefix else rel
            for rule in rules:
                if rule.matches(sub, is_dir):
                    verdict = not rule.negate
        return verdict

    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        scopes = [s for s in scopes if not s[0] or rel_dir == s[0]
                  or rel_dir.startswith(s[0] + "/")]
        if honour_ignores:
            for name in IGNORE_FILES:
                path = Path(dirpath) / name
                if path.is_file():
                    scopes.append((rel_dir, parse_rules(path.read_text("utf-8", "replace"))))
        keep_dirs = []
        for d in sorted(dirnames):
            rel = f"{rel_dir}/{d}" if rel_dir else d
            if os.path.islink(os.path.join(dirpath, d)):
                filenames.append(d)  # a symlink is copied as a link, never followed
            elif (d in ALWAYS_EXCLUDED or ignored(rel, True)
                  or kept_private(dirpath, d, True, rel)):
                result.excluded.append(rel + "/")
            else:
                keep_dirs.append(d)
        dirnames[:] = keep_dirs
        for f in sorted(filenames):
            rel = f"{rel_dir}/{f}" if rel_dir else f
            out = ignored(rel, False) or kept_private(dirpath, f, False, rel)
            (result.excluded if out else result.files).append(rel)
    return result


_RSYNC_WILDCARDS = re.compile(r"[*?\[]")


def rsync_exclude_lines(excluded: list[str]) -> list[str]:
    """Anchored rsync exclude patterns for exact paths; wildcard characters are escaped
    (rsync reads a backslash as an escape only when the pattern holds a wildcard)."""
    lines = []
    for rel in excluded:
        if _RSYNC_WILDCARDS.search(rel):
            rel = re.sub(r"([*?\[\\])", r"\\\1", rel)
        lines.append("/" + rel)
    return lines


def remote_path(target: str) -> str:
    """A task path as the transports want it: relative to the node home, or absolute."""
    if target == "~":
        return "."
    if target.startswith("~/"):
        return target[2:].lstrip("/") or "."
    return target


async def sync_dir(transports: list, local_root: Path, remote_dir: str, *,
                   honour_ignores: bool = True, use_rsync: bool = True,
                   private_ok: bool = False, say: Say | None = None) -> dict[str, str]:
    """Sync one local directory to `remote_dir` on every node; {node name: method used}.
    Credential stores and private keys inside it stay here; `say` is told which."""
    local_root = local_root.absolute()  # rsync reads `a:b/` as a remote host `a`
    fileset = collect(local_root, honour_ignores=honour_ignores, private_ok=private_ok)
    if fileset.private and say is not None:
        shown = ", ".join(f"{p} ({why})" for p, why in fileset.private[:5])
        more = len(fileset.private) - 5
        say(f"not sent from {local_root}: {shown}{f' and {more} more' if more > 0 else ''}; "
            "name a path as a file_mount source and confirm with allow_private_mounts "
            f"({private.ALLOW_FLAG}) "
            "to send it")
    if any("\n" in p for p in fileset.excluded):
        use_rsync = False  # an exclude list is line-based
    methods = await asyncio.gather(*(
        t.sync_tree(local_root, fileset.files, fileset.excluded, remote_dir,
                    use_rsync=use_rsync) for t in transports))
    return {t.address.name: m for t, m in zip(transports, methods, strict=True)}


def check_sources(workdir: Path | None, local_mounts: dict[str, str], *,
                  allow_private: bool = False) -> set[str]:
    """Refuse, before anything is sent or created, a workdir or mount source that is the
    home directory, a credential store or a private key; the mount targets whose private
    source the user confirmed (`allow_private`) are returned."""
    if workdir is not None:
        private.check_source(workdir, "workdir", named_mount=False, allowed=False)
    allowed = set()
    for target, source in local_mounts.items():
        src = Path(source).expanduser()
        if private.check_source(src, f"file_mounts: {target}", named_mount=True,
                                allowed=allow_private):
            allowed.add(target)
    return allowed


def check_task_files(task: Task, *, allow_private: bool = False) -> None:
    """`check_sources` for a task's workdir and local file mounts (before `up` or `exec`
    creates or sends anything)."""
    workdir = Path(task.workdir).expanduser() if isinstance(task.workdir, str) else None
    check_sources(workdir, task.local_mounts(), allow_private=allow_private)
    from stix.remote.keyed import check_upload_sources

    check_upload_sources(task, allow_private=allow_private)


async def sync_task_files(transports: list, workdir: Path | None,
                          local_mounts: dict[str, str], *, use_rsync: bool = True,
                          allow_private: bool = False, say: Say | None = None,
                          remote_workdir: str = WORKDIR) -> None:
    """The workdir to `remote_workdir` (in the node home) and each local file mount to its
    target."""
    confirmed = check_sources(workdir, local_mounts, allow_private=allow_private)
    if workdir is not None:
        await sync_dir(transports, workdir, remote_workdir, use_rsync=use_rsync, say=say)
    for target, source in local_mounts.items():
        src = Path(source).expanduser().absolute()
        dest = remote_path(target)
        if src.is_dir():
            await sync_dir(transports, src, dest, honour_ignores=False, use_rsync=use_rsync,
                           private_ok=target in confirmed, say=say)
        elif src.is_file():
            data = src.read_bytes()
            mode = src.stat().st_mode & (0o700 if target in confirmed else 0o777)  # a key: 0600
            await asyncio.gather(*(t.write_file(dest, data, mode) for t in transports))
        else:
            raise StixError(f"file_mounts: {target}: local source {source} does not exist")
