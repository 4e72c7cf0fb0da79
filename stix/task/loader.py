"""Reading task files: YAML → validated Task, with errors that name file, line and field."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from stix.errors import Problem, TaskError
from stix.task.base import did_you_mean
from stix.task.jobgroup import JobGroupHeader, cross_check, is_header
from stix.task.model import Origin, Pipeline, Task
from stix.task.resources import Resources
from stix.task.storage import StorageMount
from stix.yamlio import Document, load_documents

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# Control characters no field may hold (a YAML escape like "\0" can write them): tab,
# newline and carriage return are text; the rest would reach names, shells and files.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What a node's exec(2) takes: one "KEY=value" string of at most 128 KiB (Linux
# MAX_ARG_STRLEN), and all of them together well under ARG_MAX (2 MiB with the command).
MAX_ENV_ENTRY = 128 * 1024
MAX_ENV_TOTAL = 1024 * 1024


def substitute(value: Any, envs: Mapping[str, str | None],
               unset: list[tuple[tuple[Any, ...], str]] | None = None,
               at: tuple[Any, ...] = ()) -> Any:
    """Replace `${VAR}` and `$VAR` from `envs` in every string (and mapping key) of
    `value`, as SkyPilot does; a name `envs` does not declare is left as written. A name
    declared without a value is recorded in `unset` (path, name) and left as written."""

    def fill(m: re.Match[str], path: tuple[Any, ...]) -> str:
        name = m[1] or m[2]
        if name not in envs:
            return m[0]
        found = envs[name]
        if found is None:
            if unset is not None:
                unset.append((path, name))
            return m[0]
        return found

    if isinstance(value, str):
        return _VAR.sub(lambda m: fill(m, at), value)
    if isinstance(value, list):
        return [substitute(v, envs, unset, (*at, i)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {substitute(k, envs, unset, (*at, k)): substitute(v, envs, unset, (*at, k))
                for k, v in value.items()}
    return value


def _model_for(loc: tuple[Any, ...]) -> type | None:
    """Which model a pydantic error location points into (for 'did you mean')."""
    model: type | None = Task
    for part in loc[:-1]:
        if part in ("resources", "any_of", "ordered"):
            model = Resources
        elif part == "file_mounts":
            model = StorageMount
        elif part == "job_recovery" or part == "autostop":
            model = None
    return model


def _problems(exc: ValidationError, doc: Document, prefix: tuple[Any, ...]) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("@")))
        if loc[-1:] == ("[key]",):  # a bad mapping key (labels): point at the key itself
            loc = loc[:-1]
        path = ".".join(str(p) for p in loc)
        message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if err["type"] == "extra_forbidden":
            model = _model_for(loc)
            fields = list(getattr(model, "model_fields", {})) if model else []
            message = f"unknown field{did_you_mean(str(loc[-1]), fields)}"
        elif err["type"] == "missing":
            message = "required field is missing"
        elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
            message += f" (got {err['input']!r})"
        mark = doc.locate(tuple(prefix) + loc)
        problems.append(Problem(path, message, *(mark or (None, None))))
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _text_problems(value: Any, doc: Document, path: tuple[Any, ...] = ()) -> list[Problem]:
    """Every string (and key) holding a control character, with where it is."""
    found: list[Problem] = []

    def bad(text: str, at: tuple[Any, ...]) -> None:
        match = _CONTROL.search(text)
        if match:
            mark = doc.locate(at)
            found.append(Problem(".".join(map(str, at)), f"contains the control character "
                                 f"{match.group()!r}", *(mark or (None, None))))

    if isinstance(value, str):
        bad(value, path)
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                bad(k, (*path, k))
            found.extend(_text_problems(v, doc, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_text_problems(v, doc, (*path, i)))
    return found


def _env_problems(task: Task, doc: Document) -> list[Problem]:
    """Env and secret values a node would refuse (too large for one exec(2) entry or all)."""
    found: list[Problem] = []
    total = 0
    for section in ("envs", "secrets"):
        for key, value in getattr(task, section).items():
            size = len(key.encode()) + 2 + len((value or "").encode())
            total += size
            if size > MAX_ENV_ENTRY:
                mark = doc.locate((section, key))
                found.append(Problem(f"{section}.{key}", f"is {size} bytes; a node takes at "
                                     f"most {MAX_ENV_ENTRY} per variable (put big data in a "
                                     "file_mount)", *(mark or (None, None))))
    if total > MAX_ENV_TOTAL and not found:
        mark = doc.locate(("envs",))
        found.append(Problem("envs", f"envs and secrets are {total} bytes together; a node "
                             f"takes at most {MAX_ENV_TOTAL}", *(mark or (None, None))))
    return found


# Keys only SkyPilot's other files have at their top level (a task has none of them).
_VOLUME_KEYS = frozenset({"type", "size", "use_existing", "labels"})
_TASK_KEYS = frozenset({"run", "setup", "resources", "num_nodes", "workdir", "file_mounts",
                        "envs", "secrets"})


def other_skypilot_file(data: dict[str, Any]) -> str | None:
    """What a SkyPilot file that is not a task is, said plainly (None: it may be a task)."""
    keys = set(data)
    if keys & _TASK_KEYS:
        return None
    if "type" in keys and keys & {"size", "use_existing"} and keys <= {"name", "infra",
                                                                     "config", *_VOLUME_KEYS}:
        return ("this is a SkyPilot volume file (`sky volumes apply`), not a task; stix has "
                "no volumes yet: mount a bucket with file_mounts instead")
    if keys & {"execution", "primary_tasks"}:
        return ("this is a SkyPilot job group header (execution, primary_tasks), not a "
                "task: it goes first in the file, before the group's task documents")
    if keys & {"readiness_probe", "replica_policy", "replicas"} and keys <= {
            "readiness_probe", "replica_policy", "replicas", "load_balancing_policy", "ports",
            "tls"}:
        return ("this is a SkyPilot service section on its own, not a task; put it under "
                "`service:` in a task (`stix serve up` runs it)")
    return None


def _task_from(doc: Document, source: str, overrides: Mapping[str, str],
               path: Path | None = None, index: int = 0) -> Task:
    data = doc.data
    if data is None:
        raise TaskError(source, [Problem("", "the task is empty")])
    if not isinstance(data, dict):
        raise TaskError(source, [Problem("", f"a task must be a mapping, got {type(data).__name__}",
                                         *(doc.locate(()) or (None, None)))])
    problems = _text_problems(data, doc)
    if problems:
        raise TaskError(source, problems)
    other = other_skypilot_file(data)
    if other is not None:
        raise TaskError(source, [Problem("", other, *(doc.locate(()) or (None, None)))])
    data = dict(data)
    envs = data.get("envs")
    if overrides:
        envs = {**(envs if isinstance(envs, dict) else {}), **overrides}
        data["envs"] = envs
    if isinstance(envs, dict):
        str_envs = {k: None if v is None else str(v) for k, v in envs.items()}
        unset: list[tuple[tuple[Any, ...], str]] = []
        for key in ("file_mounts", "workdir", "volumes"):
            if key in data:
                data[key] = substitute(data[key], str_envs, unset, (key,))
        if unset:
            raise TaskError(source, [
                Problem(".".join(str(p) for p in path), f"uses ${name}, which has no value "
                        f"(give it in envs, or in env_overrides: --env {name}=VALUE)",
                        *(doc.locate(path) or (None, None))) for path, name in unset])
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        raise TaskError(source, _problems(exc, doc, ())) from None
    too_big = _env_problems(task, doc)
    if too_big:
        raise TaskError(source, too_big)
    task._origin = Origin(source, path, doc, index)
    if task.config:
        from stix.task.settings import problems as setting_problems

        wrong = setting_problems(task)
        if wrong:
            raise TaskError(source, wrong)
    return task


def parse_tasks(text: str, source: str = "<task>",
                env_overrides: Mapping[str, str] | None = None,
                path: Path | None = None) -> Pipeline:
    """Every task in `text`; several YAML documents make a pipeline (an optional first
    document holding only `name` names it)."""
    docs = load_documents(text, source)
    if not docs:
        raise TaskError(source, [Problem("", "the file is empty")])
    name = None
    first = docs[0].data
    if is_header(first) and not _serial(first):
        return _job_group(docs, source, env_overrides or {}, path)
    if len(docs) > 1 and isinstance(first, dict) and set(first) in ({"name"}, {
            "name", "execution"}):
        name = first["name"]
        docs = docs[1:]
    tasks = [_task_from(d, source, env_overrides or {}, path, i) for i, d in enumerate(docs)]
    return Pipeline(name=name if isinstance(name, str) else None, tasks=tasks)


def _serial(data: Any) -> bool:
    """A pipeline's header written SkyPilot's long way (`execution: serial`)."""
    return isinstance(data, dict) and data.get("execution") == "serial" and set(data) <= {
        "name", "execution"}


def _job_group(docs: list[Document], source: str, overrides: Mapping[str, str],
               path: Path | None) -> Pipeline:
    """A job group: its header checked (and against its tasks), then every task."""
    head = docs[0]
    problems = _text_problems(head.data, head)
    if problems:
        raise TaskError(source, problems)
    try:
        header = JobGroupHeader.model_validate(head.data)
    except ValidationError as exc:
        fields = list(JobGroupHeader.model_fields)
        problems = [dataclasses.replace(p, message=f"unknown job group header field"
                                        f"{did_you_mean(p.path, fields)} (it takes "
                                        f"{', '.join(fields)})")
                    if p.message.startswith("unknown field") else p
                    for p in _problems(exc, head, ())]
        raise TaskError(source, problems) from None
    if len(docs) < 2:
        raise TaskError(source, [Problem("", "the job group holds no task: its tasks follow "
                                         "the header, one YAML document each",
                                         *(head.locate(()) or (None, None)))])
    tasks = [_task_from(d, source, overrides, path, i) for i, d in enumerate(docs[1:], 1)]
    problems = cross_check(header, tasks, head)
    if problems:
        raise TaskError(source, problems)
    group = Pipeline(name=header.name, tasks=tasks, group=header)
    group._header = head
    return group


def _read(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskError(str(path), [Problem("", "no such file")]) from None
    except IsADirectoryError:
        raise TaskError(str(path), [Problem("", "is a directory, not a task file")]) from None
    except UnicodeDecodeError as exc:
        raise TaskError(str(path), [Problem("", f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise TaskError(str(path), [Problem("", exc.strerror or str(exc))]) from None


def load_pipeline(path: str | Path, env_overrides: Mapping[str, str] | None = None) -> Pipeline:
    return parse_tasks(_read(path), str(path), env_overrides, Path(path))


def load_task(path: str | Path, env_overrides: Mapping[str, str] | None = None) -> Task:
    """The one task in a file; a pipeline file is an error here (use load_pipeline)."""
    pipeline = load_pipeline(path, env_overrides)
    if pipeline.group is not None:
        raise TaskError(str(path), [Problem("", f"is the job group {pipeline.name} (its tasks "
                                                "run at once); expected one task")])
    if len(pipeline.tasks) != 1:
        raise TaskError(str(path), [Problem("", f"holds a pipeline of {len(pipeline.tasks)} "
                                                "tasks; expected one task")])
    return pipeline.tasks[0]
