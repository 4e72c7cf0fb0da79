"""What stix calls a cluster: one rule, shared by `plan`, `up`, `exec`, `status`, `down` and
the Python API, valid for every provider.

A cluster name becomes a stack name and a prefix of cloud resource names, so it follows
the strictest rule among them (GCP instance names): lowercase letters, digits and '-',
starting with a letter, at most 40 characters (room for suffixes such as `-<rank>`).
A task's `name` is normalised to that form; an unnamed task is named after its file (the
same file always gives the same name — never its content, never a random one).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from stix.errors import UsageError

if TYPE_CHECKING:
    from stix.task import Task

MAX_LENGTH = 40
_VALID = re.compile(r"[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?")  # fullmatch: `$` would let "a\n" in


def normalize(text: str) -> str:
    """`text` in cluster-name form ('' when nothing of it survives)."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if name and not name[0].isalpha():
        name = "stix-" + name
    return name[:MAX_LENGTH].rstrip("-")


def check(name: str) -> str:
    """`name` if it is a valid cluster name, else a UsageError suggesting one."""
    if _VALID.fullmatch(name):
        return name
    suggestion = normalize(name)
    hint = f"for example {suggestion!r}" if suggestion else None
    raise UsageError(f"cluster name {name!r} is not valid: use 1-{MAX_LENGTH} lowercase "
                     "letters, digits and '-', starting with a letter", hint=hint)


def for_task(task: Task, given: str | None = None) -> str:
    """The cluster (and stack) name of `task`: `given` (-c) if valid; else the task's name;
    else its file's name (the n-th unnamed task of a pipeline file gets `-<n>`)."""
    if given is not None:
        return check(given)
    if task.name:
        name = normalize(task.name)
        if name:
            return name
    origin = task.origin
    if origin is not None and origin.path is not None:
        stem = normalize(origin.path.stem) or "stix-task"
        if origin.index:
            stem = f"{stem[:MAX_LENGTH - 4]}-{origin.index + 1}"
        return stem
    digest = hashlib.sha256(json.dumps(task.to_yaml_dict(), sort_keys=True).encode())
    return f"stix-{digest.hexdigest()[:8]}"


def task_file_label(path: Path, root: Path | None) -> str:
    """How a stack file names the task file it came from: relative to the project root
    when inside it (so a checkout anywhere agrees), else the absolute path."""
    resolved = path.resolve()
    if root is not None:
        try:
            return resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return resolved.as_posix()


def task_digest(task: Task) -> str:
    """A digest of what in `task` decides its placement (resources, node count, buckets,
    its `config:` settings), so `up` knows when the committed stack still answers it."""
    view = {"num_nodes": task.num_nodes, "resources": task.resources.to_yaml_dict(),
            "buckets": {target: m.model_dump(mode="json", exclude_none=True)
                        for target, m in sorted(task.storage_mounts().items())}}
    if task.config:  # the task's own user-config values (allowed_clouds...) count too
        from stix.task.settings import settings

        mine = {s.key: s.value for s in settings(task)}
        if mine:
            view["config"] = mine
    return hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()[:16]
