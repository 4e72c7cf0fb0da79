"""SkyPilot's job group header: the first document of a file whose tasks all run at once
(`execution: parallel`), each on a cluster of its own, reaching each other by name.

What the header says is checked against the tasks it names here, so a typo in
`primary_tasks` or `termination_delay` is an error with its line, not a group that never
stops.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from stix.task.base import StrictModel

if TYPE_CHECKING:
    from stix.errors import Problem
    from stix.task.model import Pipeline, Task
    from stix.yamlio import Document

HEADER_KEYS = frozenset({"execution", "primary_tasks", "termination_delay",
                         "inter_connection"})
NAME_ENV = "SKYPILOT_JOBGROUP_NAME"
# What a name in `<task>-<node>.<group>` may be: a hostname label (underscores allowed,
# as /etc/hosts takes them).
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")
_DURATION = re.compile(r"(\d+)\s*([smhdSMHD]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(value: str | int) -> int:
    """`30s`, `5m`, `1h`, `1d` or a number of seconds, in seconds (SkyPilot's forms)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _DURATION.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"{value!r} is not a duration: write seconds, or a number with s, m, "
                         "h or d (30s, 5m)")
    return int(match[1]) * _UNIT[match[2].lower()]


class JobGroupHeader(StrictModel):
    """The header document: the group's name, `execution: parallel`, which tasks decide
    when it ends (`primary_tasks`; all when unset) and how long the others get to finish
    once they have (`termination_delay`: one duration, or per task with `default`)."""

    name: str = Field(min_length=1)
    execution: Literal["parallel"]
    primary_tasks: list[str] | None = None
    termination_delay: str | int | dict[str, str | int] | None = None
    inter_connection: bool | None = None

    @field_validator("name")
    @classmethod
    def _a_label(cls, value: str) -> str:
        if not _LABEL.fullmatch(value):
            raise ValueError(f"{value!r} cannot be a host name's part (<task>-<node>.<group>): "
                             "use letters, digits, '-' and '_', starting and ending with a "
                             "letter or digit")
        return value

    @field_validator("termination_delay")
    @classmethod
    def _durations(cls, value: str | int | dict[str, str | int] | None
                   ) -> str | int | dict[str, str | int] | None:
        for one in (value.values() if isinstance(value, dict) else [value]):
            if one is not None:
                seconds(one)
        return value

    def primaries(self, tasks: list[str]) -> list[str]:
        """The tasks whose end ends the group (every task when none is named)."""
        return list(self.primary_tasks) if self.primary_tasks else list(tasks)

    def delay_seconds(self, task: str) -> int:
        """How long `task` (an auxiliary one) keeps running after the primaries finished."""
        delay = self.termination_delay
        if isinstance(delay, dict):
            delay = delay.get(task, delay.get("default"))
        return 0 if delay is None else seconds(delay)


def is_header(data: object) -> bool:
    """Whether a YAML document is a job group header (it names how its tasks execute)."""
    return isinstance(data, dict) and bool(set(data) & HEADER_KEYS) and not (
        set(data) & {"run", "setup", "resources", "num_nodes"})


def cross_check(header: JobGroupHeader, tasks: list[Task], doc: Document) -> list[Problem]:
    """What the header says about tasks that the file does not hold, with its line; a
    task without a name, or two of one name (the name is how the others reach it)."""
    from stix.errors import Problem

    def at(*path: str | int) -> tuple[int | None, int | None]:
        return doc.locate(path) or (None, None)

    found: list[Problem] = []
    names: list[str] = []
    for task in tasks:
        origin = task.origin
        line = origin.line("name") if origin is not None else None
        if not task.name:
            found.append(Problem("name", "a task of a job group needs a name (the "
                                 "others reach it as <name>-<node>.<group>)", line))
        elif not _LABEL.fullmatch(f"{task.name}-0"):
            found.append(Problem("name", f"name {task.name!r} cannot be a host name's "
                                 "part (<task>-<node>.<group>): use letters, digits, '-' and "
                                 "'_', starting with a letter or digit", line))
        elif task.name in names:
            found.append(Problem("name", f"name {task.name!r} is taken by an earlier "
                                 "task of the group; each task needs its own", line))
        else:
            names.append(task.name)
    for j, name in enumerate(header.primary_tasks or []):
        if name not in names:
            found.append(Problem(f"primary_tasks.{j}", f"names no task of the group "
                                 f"({', '.join(names)})", *at("primary_tasks", j)))
    if isinstance(header.termination_delay, dict):
        for key in header.termination_delay:
            if key != "default" and key not in names:
                found.append(Problem(f"termination_delay.{key}", "names no task of the group "
                                     "(use a task's name, or default)",
                                     *at("termination_delay", key)))
    return found


def group_notes(pipeline: Pipeline) -> list[str]:
    """The header fields of a job group file that stix takes differently, each with its
    file and line (none for a pipeline). `inter_connection: true` is what stix does."""
    header, doc = pipeline.group, pipeline.header_document
    if header is None or header.inter_connection is not False:
        return []
    origin = pipeline.tasks[0].origin
    where = origin.source if origin is not None else "<task>"
    mark = doc.locate(("inter_connection",)) if doc is not None else None
    if mark:
        where += f":{mark[0]}"
    return [f"{where}: inter_connection: not acted on: every task still gets the others' "
            "names (<task>-<node>.<group>) and is placed with them"]
