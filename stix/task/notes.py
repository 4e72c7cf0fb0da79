"""Accepted means acted on, or said: every task field stix reads but does not act on (on a
given provider) is reported with its field, file and line, and what stix does instead;
fields that would change what runs in a way stix cannot honour are errors.

`validate` reports what holds for every provider; `plan` and `up` add what their chosen
provider ignores (`Provider.ignores`) and check the image against that cloud.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stix.errors import Problem, TaskError

if TYPE_CHECKING:
    from stix.task import Resources, Task

# Fields no provider acts on yet, and what happens instead.
NOT_YET: dict[tuple[str, ...], str] = {
    ("service",): "the task runs on one cluster, without a load balancer or replicas "
                  "(serving is not built yet)",
    ("resources", "job_recovery"): "`stix up` does not relaunch a preempted or failed node; "
                                   "`stix jobs launch` runs the task as a managed job that "
                                   "does (docs/server.md)",
    ("volumes",): "no volume is attached",
    ("event_callback",): "no callback is run",
    ("inputs",): "the optimizer does not price moving the data between clouds yet",
    ("outputs",): "the optimizer does not price moving the data between clouds yet",
    ("resources", "network_tier"): "each cloud's default networking is used",
    ("resources", "accelerator_args"): "the accelerators are set up with defaults",
}
DOCKER = "docker:"


@dataclass(frozen=True)
class Note:
    """A field stix accepted but does not act on, and what it does instead."""

    field: str
    message: str
    source: str
    line: int | None = None

    def render(self) -> str:
        where = self.source + (f":{self.line}" if self.line else "")
        return f"{where}: {self.field}: not acted on: {self.message}"


def _blocks(task: Task) -> Iterator[tuple[tuple[str | int, ...], Resources]]:
    """Every resources block with its path (`resources`, `resources.any_of[0]`, ...)."""
    res = task.resources
    yield ("resources",), res
    for key in ("any_of", "ordered"):
        for i, option in enumerate(getattr(res, key) or []):
            yield ("resources", key, i), option


def _is_set(obj: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if obj is None:
            return False
        if isinstance(obj, dict):
            obj = obj.get(part)
        else:
            if part not in getattr(obj, "model_fields_set", set()):
                return False
            obj = getattr(obj, part)
    return obj not in (None, {}, [])


def notes(task: Task, provider: str | None = None) -> list[Note]:
    """What `task` sets that is not acted on (on `provider`, when given)."""
    origin = task.origin
    source = origin.source if origin is not None else "<task>"

    def note(path: tuple[str | int, ...], message: str) -> Note:
        line = origin.line(*path) if origin is not None else None
        return Note(".".join(str(p) for p in path), message, source, line)

    out = []
    for path, message in NOT_YET.items():
        if path[0] != "resources":
            if _is_set(task, path):
                out.append(note(path, message))
            continue
        for prefix, block in _blocks(task):
            if _is_set(block, path[1:]):
                out.append(note((*prefix, *path[1:]), message))
    if task.config:
        from stix.task.settings import ignored

        out.extend(note(path, message) for path, message in ignored(task))
    for prefix, block in _blocks(task):
        image = block.image_id
        if isinstance(image, str) and image.startswith(DOCKER) and not _runs_images(provider):
            out.append(note((*prefix, "image_id"), "the task runs on the machine's own image, "
                                                   "not in a container (containers on VMs are "
                                                   "not built yet)"))
    if provider is not None:
        from stix.clouds import registry

        for field, message in registry.get(provider).ignores.items():
            for prefix, block in _blocks(task):
                if _is_set(block, (field,)):
                    out.append(note((*prefix, field), f"{provider}: {message}"))
    return sorted(set(out), key=lambda n: (n.line or 0, n.field))


def _runs_images(provider: str | None) -> bool:
    from stix.clouds import registry

    return provider is not None and registry.get(provider).capabilities.container_images


def check(task: Task, provider: str | None = None) -> None:
    """Raise TaskError for what stix cannot honour and must not drop: an image that is not
    one of the chosen cloud's, a container image on existing machines."""
    origin = task.origin
    source = origin.source if origin is not None else "<task>"
    problems = []

    def problem(path: tuple[str | int, ...], message: str) -> None:
        line = origin.line(*path) if origin is not None else None
        problems.append(Problem(".".join(str(p) for p in path), message, line))

    for prefix, block in _blocks(task):
        images = block.image_id
        refs = list(images.values()) if isinstance(images, dict) else [images] if images else []
        for ref in refs:
            why = _image_problem(ref, block.cloud or provider)
            if why:
                problem((*prefix, "image_id"), why)
    if problems:
        raise TaskError(source, problems)


def _image_problem(ref: str, provider: str | None) -> str | None:
    from stix.clouds import registry

    if ref.startswith("skypilot:"):
        return (f"{ref!r} is a SkyPilot image tag, not an image; give the cloud's image "
                "id (or leave image_id out for stix's default image)")
    if provider is None or not registry.served(provider):
        return None
    chosen = registry.get(provider)
    if ref.startswith(DOCKER):
        if chosen.capabilities.provisions:
            return None
        return (f"a container image on {provider} would run on the host itself: "
                "containers are not supported on existing machines yet")
    return chosen.image_problem(ref)


def task_notes(task: Task, provider: str | None = None) -> list[str]:
    """`check`, then the notes as lines for a user (what `validate`/`plan`/`up` print).
    Without `provider`, the cloud the task pins (if it pins one) is checked."""
    if provider is None:
        pinned = {b.cloud for _, b in _blocks(task)}
        provider = pinned.pop() if len(pinned) == 1 else None
    check(task, provider)
    return [n.render() for n in notes(task, provider)]
