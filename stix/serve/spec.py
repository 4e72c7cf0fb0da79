"""SkyPilot's `service:` section, read as it is written: what a service's replicas must
answer, how many there are, how they scale and what the endpoint speaks.

Checked when the task loads (`check_service`), so a service that cannot work is refused at
validate/plan time with its field and line, never after the first replica costs money.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from stix.errors import Problem, TaskError
from stix.task.base import StrictModel

POLICIES = ("round_robin", "least_load", "least_requests")
DEFAULT_PROBE = "/"
# SkyPilot's other spellings, and its policies stix balances another way.
_ALIASES = {"base_on_demand_fallback_replicas": "base_ondemand_fallback_replicas",
            "dynamic_on_demand_fallback": "dynamic_ondemand_fallback",
            "init_replicas": "min_replicas", "num_init_replicas": "min_replicas"}
_POLICY_AS = {"instance_aware_least_load": "least_load"}


class _SkyModel(StrictModel):
    """SkyPilot's serve schema grows fast (spot placers, overprovisioning, zones): a key
    stix does not know is kept and reported with its line (`service_notes`), not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ReadinessProbe(_SkyModel):
    """What a replica must answer (2xx) before it gets traffic, and keep answering."""

    path: str
    post_data: Any = None  # sent as JSON (a POST) when set
    headers: dict[str, str] = Field(default_factory=dict)
    initial_delay_seconds: float = Field(1200.0, ge=0)  # SkyPilot's default grace
    timeout_seconds: float = Field(15.0, gt=0)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in " \r\n\t"):
            raise ValueError(f"readiness_probe path {value!r}: an absolute URL path "
                             "('/health'), without spaces")
        return value


class ReplicaPolicy(_SkyModel):
    min_replicas: int = Field(1, ge=0)
    max_replicas: int | None = Field(None, ge=1)
    target_qps_per_replica: float | None = Field(None, gt=0)
    # stix's: requests in flight per replica, so long (streaming) LLM answers count.
    target_inflight_per_replica: float | None = Field(None, gt=0)
    upscale_delay_seconds: float = Field(300.0, ge=0)
    downscale_delay_seconds: float = Field(1200.0, ge=0)
    base_ondemand_fallback_replicas: int = Field(0, ge=0)
    dynamic_ondemand_fallback: bool = False

    @model_validator(mode="before")
    @classmethod
    def _spellings(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for old, new in _ALIASES.items():
                if old in data and new not in data:
                    data[new] = data.pop(old)
        return data

    @model_validator(mode="after")
    def _bounds(self) -> ReplicaPolicy:
        if self.max_replicas is not None and self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) is more than max_replicas "
                             f"({self.max_replicas})")
        if self.min_replicas == 0 and not self.scales:
            raise ValueError("min_replicas 0 needs a scaling target (the first request "
                             "starts a replica)")
        return self

    @property
    def scales(self) -> bool:
        return bool(self.target_qps_per_replica or self.target_inflight_per_replica)

    @property
    def ceiling(self) -> int:
        """The most replicas: max_replicas when there is a target to scale on (without one,
        SkyPilot keeps min_replicas, and so does stix)."""
        if self.max_replicas is None or not self.scales:
            return self.min_replicas
        return self.max_replicas


class Tls(StrictModel):
    keyfile: str
    certfile: str


class ServiceSpec(_SkyModel):
    readiness_probe: ReadinessProbe
    replicas: int | None = Field(None, ge=1)
    replica_policy: ReplicaPolicy | None = None
    load_balancing_policy: Literal["round_robin", "least_load", "least_requests"] = "round_robin"
    ports: int | None = Field(None, ge=1, le=65535)  # the replicas' port
    tls: Tls | None = None

    @model_validator(mode="before")
    @classmethod
    def _forms(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        probe = data.get("readiness_probe", DEFAULT_PROBE)  # SkyPilot's default path
        if isinstance(probe, str):
            data["readiness_probe"] = {"path": probe}
        if "port" in data and "ports" not in data:  # SkyPilot's older name
            data["ports"] = data.pop("port")
        policy = data.get("load_balancing_policy")
        if isinstance(policy, str) and policy not in POLICIES:
            data["load_balancing_policy"] = _POLICY_AS.get(policy, "round_robin")
        return data

    @model_validator(mode="after")
    def _one_count(self) -> ServiceSpec:
        if self.replicas is not None and self.replica_policy is not None:
            raise ValueError("give replicas or replica_policy, not both")
        return self

    @property
    def policy(self) -> ReplicaPolicy:
        """Fixed replicas are a policy whose bounds meet."""
        if self.replica_policy is not None:
            return self.replica_policy
        n = self.replicas or 1
        return ReplicaPolicy(min_replicas=n, max_replicas=n)

    def initial_replicas(self) -> int:
        return self.policy.min_replicas


DEFAULT_PORT = 8080  # SkyPilot's replicas' port when a task names none


def _opened(task: Any) -> list[int]:
    ports = getattr(task.resources, "ports", None) or []
    return [p for r in ports for p in range(r.start, r.end + 1)]


def replica_port(task: Any, spec: ServiceSpec) -> int:
    """The port replicas serve on: `service.ports`, else the task's first port, else 8080
    (the two last are said by `service_notes`)."""
    if spec.ports is not None:
        return spec.ports
    opened = _opened(task)
    return opened[0] if opened else DEFAULT_PORT


def load_service(task: Any) -> ServiceSpec:
    """The task's service, checked; a TaskError naming the field and line otherwise."""
    from pydantic import ValidationError

    origin = task.origin
    source = origin.source if origin is not None else "<task>"

    def fail(path: tuple[str | int, ...], message: str) -> TaskError:
        line = origin.line(*path) if origin is not None else None
        return TaskError(source, [Problem(".".join(str(p) for p in path), message, line)])

    if not task.service:
        raise fail(("service",), "the task has no service section")
    try:
        spec = ServiceSpec.model_validate(task.service)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ("service", *(p for p in err["loc"] if isinstance(p, (str, int))))
        message = str(err["msg"]).removeprefix("Value error, ")
        raise fail(path, message) from None
    port = replica_port(task, spec)
    if port == 22:
        raise fail(("service", "ports") if spec.ports else ("service",),
                   "the replicas' port cannot be 22: that is the nodes' SSH")
    if spec.tls is not None:
        for key in ("keyfile", "certfile"):
            given = getattr(spec.tls, key)
            where = Path(given).expanduser()
            if not where.is_absolute() and origin is not None and origin.path is not None:
                where = origin.path.parent / where
            if not where.is_file():
                raise fail(("service", "tls", key), f"{given}: no such file")
    return spec


def service_notes(task: Any) -> list[tuple[tuple[str, ...], str]]:
    """What the service section says that stix accepts without acting on: each key it does
    not know (path, what happens instead), and a scaling range without a target."""
    if not task.service:
        return []
    try:
        spec = ServiceSpec.model_validate(task.service)
    except Exception:  # refused with its line by load_service
        return []
    out: list[tuple[tuple[str, ...], str]] = []
    parts: list[tuple[tuple[str, ...], Any]] = [(("service",), spec),
                                                (("service", "readiness_probe"),
                                                 spec.readiness_probe)]
    if spec.replica_policy is not None:
        parts.append((("service", "replica_policy"), spec.replica_policy))
    for path, model in parts:
        for key in sorted(model.model_extra or {}):
            out.append(((*path, key), "a SkyPilot serve setting stix does not have; the "
                                      "service runs without it"))
    policy = spec.replica_policy
    if policy is not None and policy.max_replicas is not None and not policy.scales \
            and policy.max_replicas > policy.min_replicas:
        out.append((("service", "replica_policy", "max_replicas"),
                    "no target to scale on: the service keeps min_replicas"))
    if spec.ports is None:
        opened = _opened(task)
        if not opened:
            out.append((("service",), f"no port is named: replicas serve on {DEFAULT_PORT} "
                                      "(set service.ports to choose)"))
        elif len(opened) > 1:
            out.append((("resources", "ports"), f"several ports and no service.ports: the "
                                                f"replicas' port is the first, {opened[0]}"))
    if "readiness_probe" not in task.service:
        out.append((("service",), f"no readiness_probe: a replica is ready when "
                                  f"{DEFAULT_PROBE} answers 2xx (SkyPilot's default)"))
    given = task.service.get("load_balancing_policy")
    if isinstance(given, str) and given not in POLICIES:
        out.append((("service", "load_balancing_policy"),
                    f"balanced as {_POLICY_AS.get(given, 'round_robin')} (stix's policies: "
                    f"{', '.join(POLICIES)})"))
    return out


def desired_replicas(policy: ReplicaPolicy, *, qps: float, inflight: float) -> int:
    """How many replicas the load asks for, before the delays: the larger of what the
    request rate and the requests in flight need, within the policy's bounds."""
    need = 0
    if policy.target_qps_per_replica:
        need = max(need, math.ceil(qps / policy.target_qps_per_replica - 1e-9))
    if policy.target_inflight_per_replica:
        need = max(need, math.ceil(inflight / policy.target_inflight_per_replica - 1e-9))
    if not (policy.target_qps_per_replica or policy.target_inflight_per_replica):
        need = policy.min_replicas
    return max(policy.min_replicas, min(policy.ceiling, need))
