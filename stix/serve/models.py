"""What crosses the server's API for services (pydantic at the boundary)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class ServiceStatus(str, Enum):
    NO_REPLICA = "NO_REPLICA"  # nothing ready (yet, or scaled to zero)
    READY = "READY"  # at least one replica takes traffic
    UPDATING = "UPDATING"  # a new version is rolling out
    SHUTTING_DOWN = "SHUTTING_DOWN"
    FAILED = "FAILED"  # no replica could be made ready; the reason says why


class ReplicaStatus(str, Enum):
    PROVISIONING = "PROVISIONING"  # its cluster is being made (stix up's path)
    STARTING = "STARTING"  # up; waiting for the readiness probe
    READY = "READY"  # in rotation
    NOT_READY = "NOT_READY"  # the probe fails: out of rotation, replaced if it stays so
    FAILED = "FAILED"  # launch failed, the probe never passed, or its node went away
    SHUTTING_DOWN = "SHUTTING_DOWN"
    TERMINATED = "TERMINATED"

    @property
    def live(self) -> bool:
        return self not in (ReplicaStatus.FAILED, ReplicaStatus.SHUTTING_DOWN,
                            ReplicaStatus.TERMINATED)


class ServiceRequest(BaseModel):
    """`serve up` / `serve update`: a task config with its service section."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
    task: dict[str, Any]
    secrets: dict[str, str] = Field(default_factory=dict)
    mode: str = "rolling"  # update only: rolling | blue_green


class ReplicaView(BaseModel):
    number: int
    version: int
    status: ReplicaStatus
    cluster: str
    spot: bool
    endpoint: str | None
    reason: str | None
    started_at: float
    ready_at: float | None
    # From the load balancer (None while it has no numbers for the replica).
    rps: float | None = None
    inflight: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int | None = None
    errors: int | None = None


class ServiceView(BaseModel):
    name: str
    status: ServiceStatus
    endpoint: str
    version: int
    target_version: int
    update_mode: str | None
    desired: int
    decision: str | None
    reason: str | None
    replicas: list[ReplicaView]
    metrics: dict[str, Any] = Field(default_factory=dict)  # the endpoint as a whole
    events: list[dict[str, Any]] = Field(default_factory=list)
