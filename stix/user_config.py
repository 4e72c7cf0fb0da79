"""User configuration (`~/.stix/config.yaml`, then `STIX_*` environment variables).

Infra-level choices that do not belong in a task file: which engine and state backend,
which clouds are allowed, who may reach the SSH port. A task's `config:` may set the keys
that are about one task (`stix.task.settings.TASK_KEYS`) for its own optimize, plan and
up: while `for_task(task)` holds, `load_config` answers with the task's values over the
file's and the environment's.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from stix.errors import Problem, TaskError
from stix.paths import stix_home
from stix.server.settings import ServerSettings

if TYPE_CHECKING:
    from stix.task import Task

P = ParamSpec("P")
R = TypeVar("R")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("ssh_proxy_command")
    @classmethod
    def _proxy(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        from stix.remote.names import check_proxy_command

        if isinstance(value, dict):
            from stix.clouds import registry

            for cloud, command in value.items():
                if not registry.served(cloud):
                    raise ValueError(f"ssh_proxy_command: {cloud!r} is not a cloud stix "
                                     "serves")
                check_proxy_command(command)
        elif value is not None:
            check_proxy_command(value)
        return value

    def proxy_command_for(self, cloud: str) -> str | None:
        value = self.ssh_proxy_command
        return value.get(cloud) if isinstance(value, dict) else value

    @field_validator("ssh_cidr", mode="before")
    @classmethod
    def _cidrs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise ValueError("give a CIDR or a list of CIDRs")
        out = []
        for cidr in value:
            try:
                out.append(str(ipaddress.ip_network(str(cidr), strict=False)))
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR") from None
        return out

    @field_validator("allowed_clouds")
    @classmethod
    def _clouds(cls, value: list[str] | None) -> list[str] | None:
        from stix.clouds import registry

        if value is None:
            return None
        out = []
        for name in value:
            known = registry.canonical(name)
            if known is None or not registry.served(known):
                raise ValueError(f"{name!r} is not a cloud stix serves "
                                 f"({', '.join(registry.names())})")
            out.append(known)
        return out

    engine: Literal["pulumi", "terraform"] = "pulumi"
    backend_url: str | None = Field(
        None, description="Pulumi state backend (file://, s3://, gs://, azblob://, https://)"
    )
    secrets_provider: str = Field("passphrase", description="passphrase, awskms://, gcpkms://…")
    allowed_clouds: list[str] | None = Field(
        None, description="the only clouds the optimizer, plan and up may choose (default: all)")
    ssh_cidr: list[str] | None = Field(
        None, description="who may reach SSH and the task's ports on new stacks (a CIDR or a "
        "list; default 0.0.0.0/0, flagged by plan); stacks keep what they were planned with")
    policy: Literal["warn", "strict"] = Field(
        "warn", description="strict: plan fails and up refuses when a stack exposes SSH or "
        "ports to the whole internet, has public addresses or public buckets")
    server: ServerSettings | None = Field(
        None, description="the stix server the jobs commands use, or start (docs/server.md)")
    ssh_proxy_command: str | dict[str, str] | None = Field(
        None, description="how SSH reaches cloud nodes that are not directly reachable (a "
        "bastion, a private subnet): an OpenSSH ProxyCommand (%h, %p, %r: the node's host, "
        "port, user), for every cloud or as {cloud: command}; recorded with each node at up")
    max_failover_attempts: int = Field(5, ge=1, le=50)
    terraform_binary: str | None = None
    terraform_mirror: str | None = Field(
        None, description="a provider filesystem mirror (the folder holding registry.terraform.io)"
    )
    terraform_backend: dict[str, dict[str, object]] | None = Field(
        None, description="a Terraform backend block, e.g. {s3: {bucket: b, region: r}}; "
        "each cluster's `key`/`prefix` is filled in. Default: local state under ~/.stix",
    )
    terraform_provider: dict[str, dict[str, object]] = Field(
        default_factory=dict,
        description="settings merged into Terraform provider blocks, e.g. endpoints",
    )
    allow_shared_core: bool = Field(
        False, description="let the optimizer choose burstable and shared-core machine types "
        "(AWS t*, Azure B*, GCP e2-micro/small/medium, f1, g1) without a task naming them",
    )
    catalog_refresh_hours: float = Field(
        7.0, ge=0, description="refresh the price catalog from the clouds' public price "
        "sources, in the background, when it is older than this many hours (0: never by "
        "itself; `stix catalog update` always can)",
    )
    max_hourly_cost: float | None = Field(
        None, gt=0, description="USD per hour one cluster may cost: all its nodes' machines, "
        "at the price plan shows. plan and up refuse a placement above it and status warns. "
        "(The task's resources.max_hourly_cost is per node.)")
    max_total_hourly_cost: float | None = Field(
        None, gt=0, description="USD per hour the machines of every cluster running at once "
        "may cost, the one being placed included (at their launch prices). plan and up "
        "refuse a placement above it and status warns")


_ENV = {
    "STIX_ENGINE": "engine",
    "STIX_BACKEND_URL": "backend_url",
    "STIX_SECRETS_PROVIDER": "secrets_provider",
    "STIX_SSH_CIDR": "ssh_cidr",
    "STIX_SSH_PROXY_COMMAND": "ssh_proxy_command",
    "STIX_TERRAFORM": "terraform_binary",
    "STIX_TERRAFORM_MIRROR": "terraform_mirror",
    "STIX_CATALOG_REFRESH_HOURS": "catalog_refresh_hours",
}


def config_path() -> Path:
    return stix_home() / "config.yaml"


# The values a task's `config:` sets, and where each is said, while its plan or up runs.
_TASK_LAYER: ContextVar[tuple[dict[str, Any], dict[str, str]] | None] = ContextVar(
    "stix_task_config", default=None)


@contextmanager
def for_task(task: Task) -> Iterator[None]:
    """Within: `load_config` applies the task's `config:` (every place that reads the
    config, deep in plan or up, sees the same values, so plan and up cannot differ)."""
    from stix.task.settings import layer

    values, where = layer(task)
    token = _TASK_LAYER.set((values, where) if values else None)
    try:
        yield
    finally:
        _TASK_LAYER.reset(token)


def applies_task_config(fn: Callable[Concatenate[Task, P], R]) -> Callable[Concatenate[Task, P], R]:
    """Run `fn(task, ...)` with the task's `config:` applied (`for_task`)."""

    @functools.wraps(fn)
    def wrapped(task: Task, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with for_task(task):
            return fn(task, *args, **kwargs)

    return wrapped


def where(key: str) -> str:
    """Where the value of `key` in force is set: the task's line, else the file."""
    layer = _TASK_LAYER.get()
    if layer is not None and key in layer[1]:
        return layer[1][key]
    return f"{key} in {config_path()}"


def _with_task(data: dict[str, object], values: dict[str, Any]) -> dict[str, object]:
    """The task's values over `data`; a per-cloud proxy map adds to the user's proxy
    (a single command of the user's stays for the clouds the task does not name)."""
    out = dict(data)
    for key, value in values.items():
        base = out.get(key)
        if key == "ssh_proxy_command" and isinstance(value, dict) and base is not None:
            if isinstance(base, str):
                from stix.clouds import registry

                base = {cloud: base for cloud in registry.names()}
            if isinstance(base, dict):
                value = {**base, **value}
        out[key] = value
    return out


def load_config() -> Config:
    """The user's config; a broken file is an error naming the file, never ignored."""
    data: dict[str, object] = {}
    path = config_path()
    if path.exists():
        from stix.yamlio import load_documents

        docs = load_documents(path.read_text(encoding="utf-8"), str(path))
        if docs and docs[0].data is not None:
            if not isinstance(docs[0].data, dict):
                raise TaskError(str(path), [Problem("", "config must be a mapping")])
            data.update(docs[0].data)
    from_env = {}
    for env, key in _ENV.items():
        if os.environ.get(env):
            data[key] = os.environ[env]
            from_env[key] = env
    layer = _TASK_LAYER.get()
    if layer is not None:
        data = _with_task(data, layer[0])
        from_env.update({k: v for k, v in layer[1].items() if k in layer[0]})
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            field = ".".join(map(str, e["loc"]))
            top = str(e["loc"][0]) if e["loc"] else ""
            where = f" (from {from_env[top]})" if top in from_env else ""
            problems.append(Problem(field + where, e["msg"]))
        raise TaskError(str(path), problems) from None
