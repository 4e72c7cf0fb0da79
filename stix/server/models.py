"""What crosses the server's HTTP boundary: a job as submitted, and a job and its attempts
as the queue shows them. Plain JSON on the wire; these models validate both ends."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobStatus(str, Enum):
    """A managed job's life (SkyPilot's names, so scripts that read them keep working)."""

    PENDING = "PENDING"  # accepted, waiting for a launch slot
    STARTING = "STARTING"  # its cluster is being provisioned and set up
    RUNNING = "RUNNING"
    RECOVERING = "RECOVERING"  # a node was lost or the run failed and will be relaunched
    CANCELLING = "CANCELLING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"  # the user's code failed beyond its restart budget
    FAILED_SETUP = "FAILED_SETUP"
    FAILED_NO_RESOURCE = "FAILED_NO_RESOURCE"  # no placement could be provisioned in time
    FAILED_PRECHECKS = "FAILED_PRECHECKS"  # bad task, credentials: fails at once
    FAILED_CONTROLLER = "FAILED_CONTROLLER"  # stix itself failed (a bug): the reason says
    CANCELLED = "CANCELLED"

    def __str__(self) -> str:
        return self.value

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.FAILED_SETUP,
                      JobStatus.FAILED_NO_RESOURCE, JobStatus.FAILED_PRECHECKS,
                      JobStatus.FAILED_CONTROLLER, JobStatus.CANCELLED})


class JobSpec(BaseModel):
    """A job as `stix jobs launch` submits it: its tasks (a pipeline runs them in order),
    already loaded and checked by the client, with local paths made absolute."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    tasks: list[dict[str, Any]] = Field(min_length=1, max_length=64)
    secrets: dict[str, str] = Field(default_factory=dict, description="stored server-side, "
                                    "never returned")
    allow_private_mounts: bool = False


class AttemptView(BaseModel):
    number: int
    task_index: int
    cluster: str
    status: str
    placement: dict[str, Any] | None = None
    exit_codes: dict[str, int | None] | None = None
    reason: str | None = None
    started_at: float
    running_at: float | None = None
    ended_at: float | None = None


class EventView(BaseModel):
    at: float
    kind: str
    message: str


class JobView(BaseModel):
    """A job as `stix jobs queue` shows it."""

    id: int
    name: str
    status: JobStatus
    tasks: int
    task_index: int
    recoveries: int
    restarts: int
    reason: str | None = None
    submitted_at: float
    updated_at: float
    ended_at: float | None = None
    attempts: list[AttemptView] = Field(default_factory=list)
    events: list[EventView] = Field(default_factory=list)


class Accepted(BaseModel):
    id: int
    name: str
    status: JobStatus
