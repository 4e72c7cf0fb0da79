"""A task's `config:` section: SkyPilot lets a task override the user's config for that
task alone. stix does the same with its own user config (`~/.stix/config.yaml`): the keys
of it that belong to one task's placement and launch are applied to that task's
optimize, plan and up (`stix.user_config.for_task`), SkyPilot's keys that mean the same
are mapped onto them, and every other key is reported with its line and what happens
instead (`ignored`, shown by `validate`, `plan` and `up`).

Settings of this machine's stix (the engine, where state is kept, the server) are not a
task's to change: a cluster's later `status`, `down` or `refresh` does not read the task,
so a task value there would split one cluster across two settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stix.errors import Problem

if TYPE_CHECKING:
    from stix.task.model import Task

# The user-config keys a task may set for itself.
TASK_KEYS = frozenset({
    "ssh_cidr", "ssh_proxy_command", "allowed_clouds", "allow_shared_core", "policy",
    "max_failover_attempts", "max_hourly_cost", "max_total_hourly_cost",
})
# The user-config keys that are this machine's, not one task's.
MACHINE_KEYS = frozenset({
    "engine", "backend_url", "secrets_provider", "server", "terraform_binary",
    "terraform_mirror", "terraform_backend", "terraform_provider", "catalog_refresh_hours",
})
MACHINE = ("is a setting of this machine's stix (every cluster's state and later commands "
           "use it), not of one task: ~/.stix/config.yaml decides")

# SkyPilot's task-overridable keys stix has no counterpart for, and what happens instead;
# a cloud's own section (`aws:`, `kubernetes:` ...) is its provider's `skypilot_config`.
SKYPILOT: dict[tuple[str, ...], str] = {
    ("docker", "run_options"): "containers start with stix's own options",
    ("nvidia_gpus", "disable_ecc"): "the GPUs' ECC setting is left as the image has it",
    ("active_workspace",): "stix has no workspaces",
    ("hooks",): "no lifecycle hooks are run",
}


def _skypilot_note(section: str, key: str) -> str:
    from stix.clouds import registry

    found = SKYPILOT.get((section, key))
    if found is None and registry.served(section):
        found = registry.get(section).skypilot_config.get(key)
    return found or UNKNOWN


UNKNOWN = "stix's user config has no such setting; it has no effect"


@dataclass(frozen=True)
class Setting:
    """One user-config value a task sets: the stix key, its value, and where the task
    says it (a path under the task, for its line)."""

    key: str
    value: Any
    path: tuple[str, ...]


def _proxy_section(section: str, value: Any) -> bool:
    """SkyPilot's `<cloud>: {ssh_proxy_command: CMD}` for a cloud stix serves."""
    from stix.clouds import registry

    return registry.served(section) and isinstance(value, str)


def _walk(task: Task) -> tuple[list[Setting], list[tuple[tuple[str, ...], str]]]:
    """The task's settings stix acts on, and every other key with what happens instead."""
    config = task.config or {}
    settings: list[Setting] = []
    ignored: list[tuple[tuple[str, ...], str]] = []
    proxies: dict[str, str] = {}
    for key, value in config.items():
        key = str(key)
        if key in TASK_KEYS:
            settings.append(Setting(key, value, ("config", key)))
        elif key in MACHINE_KEYS:
            ignored.append((("config", key), MACHINE))
        elif (key,) in SKYPILOT:
            ignored.append((("config", key), SKYPILOT[(key,)]))
        elif isinstance(value, dict):
            for sub, inner in value.items():
                path = ("config", key, str(sub))
                if sub == "ssh_proxy_command" and _proxy_section(key, inner):
                    proxies[key] = inner
                elif sub == "ssh_proxy_command":
                    ignored.append((path, "stix takes one proxy command per cloud it serves "
                                          "(ssh_proxy_command: {cloud: command})"))
                else:
                    ignored.append((path, _skypilot_note(key, str(sub))))
        else:
            ignored.append((("config", key), UNKNOWN))
    if proxies:
        own = next((s for s in settings if s.key == "ssh_proxy_command"), None)
        if own is None or isinstance(own.value, dict):
            merged = {**proxies, **(own.value if own is not None else {})}
            settings = [s for s in settings if s is not own]
            first = next(iter(proxies))
            settings.append(Setting("ssh_proxy_command", merged,
                                    own.path if own else ("config", first, "ssh_proxy_command")))
        else:
            for cloud in proxies:
                ignored.append((("config", cloud, "ssh_proxy_command"),
                                "config.ssh_proxy_command names one command for every cloud"))
    return settings, ignored


def settings(task: Task) -> list[Setting]:
    """The user-config values the task sets for itself (SkyPilot's spellings mapped)."""
    return _walk(task)[0]


def ignored(task: Task) -> list[tuple[tuple[str, ...], str]]:
    """Every `config:` key stix does not act on: its path and what happens instead."""
    return _walk(task)[1]


def problems(task: Task) -> list[Problem]:
    """The task's settings checked as the user config checks them (a CIDR that is none,
    a cloud stix does not serve...), each with the field and line."""
    from pydantic import ValidationError

    from stix.user_config import Config

    origin = task.origin
    found = []
    for setting in settings(task):
        try:
            Config.model_validate({setting.key: setting.value})
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                message = err["msg"].removeprefix("Value error, ")
                line = origin.line(*setting.path) if origin is not None else None
                found.append(Problem(".".join(setting.path), message, line))
    return found


def layer(task: Task) -> tuple[dict[str, Any], dict[str, str]]:
    """The values the task sets and, for each, where (`config.ssh_cidr in t.yaml:4`), for
    messages that name where a limit or a CIDR came from."""
    origin = task.origin
    source = origin.source if origin is not None else "the task"
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for setting in settings(task):
        line = origin.line(*setting.path) if origin is not None else None
        values[setting.key] = setting.value
        where[setting.key] = (f"{'.'.join(setting.path)} in {source}"
                              + (f":{line}" if line else ""))
    return values, where
