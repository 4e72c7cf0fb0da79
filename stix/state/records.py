"""The records stix keeps of clusters, jobs and operations, typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from stix.placement import Placement

if TYPE_CHECKING:
    from stix.buckets import BucketSpec
from stix.remote.agent_client import TERMINAL, JobState
from stix.remote.transport import NodeAddress


class ClusterStatus(str, Enum):
    """Where a cluster is in its life (`stix status` shows it)."""

    INIT = "INIT"  # machines handed out, node phase not done
    PROVISIONING = "PROVISIONING"  # the engine is creating (or failing over)
    PROVISIONED = "PROVISIONED"  # the infrastructure exists, node phase not done
    UP = "UP"  # nodes set up; jobs can run
    FAILED = "FAILED"  # provisioning failed; what exists is in the stack
    DESTROYING = "DESTROYING"
    DESTROY_FAILED = "DESTROY_FAILED"  # `stix destroy` again finishes it
    STOPPED = "STOPPED"  # machines stopped (compute not billed, disks kept); `stix start`
    PARTIAL = "PARTIAL"  # some nodes stopped or gone behind stix's back
    TERMINATED = "TERMINATED"  # every node gone (autodown, preemption, a console action)

    def __str__(self) -> str:
        return self.value


class OpStatus(str, Enum):
    """An operation in the history: running, or how it ended."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value


TERMINAL_JOB_STATES = TERMINAL


@dataclass
class ClusterRecord:
    """One cluster as stix remembers it: where it runs, its nodes, its state."""

    name: str
    provider: str
    placement: Placement
    status: ClusterStatus
    created_at: float
    updated_at: float
    hourly_price: float  # $/h of the whole cluster, at launch
    nodes: list[NodeAddress]
    engine: str | None = None  # the IaC engine of a stack-backed cluster
    project: str | None = None  # the stix project (stacks/) it was planned in
    outputs: dict[str, Any] = field(default_factory=dict)  # the stack's outputs
    setup_hash: str | None = None  # what the last setup ran with
    workdir: bool = False  # a workdir was synced (later `exec -- CMD` runs in it)
    autostop_watcher_pid: int | None = None  # the local idle watcher (local clusters)
    stopped_from: str | None = None  # the status a stopped cluster returns to on start
    autostop: dict[str, Any] | None = None  # {idle_minutes, down, wait_for} as last set

    _EXTRA = ("engine", "project", "outputs", "setup_hash", "workdir", "autostop_watcher_pid",
              "stopped_from", "autostop")

    @property
    def has_stack(self) -> bool:
        return self.engine is not None

    def extra(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._EXTRA}

    def __getitem__(self, key: str) -> Any:
        """SkyPilot's status records are dicts (`record["status"]`): the same keys here."""
        sky = {"launched_at": self.created_at, "handle": self,
               "autostop": (self.autostop or {}).get("idle_minutes", -1),
               "to_down": bool((self.autostop or {}).get("down")),
               "resources_str": f"{self.placement.num_nodes}x {self.placement.instance_type}"}
        if key in sky:
            return sky[key]
        if key in type(self).__dataclass_fields__:
            return getattr(self, key)
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        """The documented shape of `stix status --json` (docs/json.md)."""
        return {
            "name": self.name, "provider": self.provider, "status": self.status.value,
            "region": self.placement.region, "zone": self.placement.zone,
            "instance_type": self.placement.instance_type,
            "num_nodes": self.placement.num_nodes, "use_spot": self.placement.use_spot,
            "hourly_price": self.hourly_price, "created_at": self.created_at,
            "updated_at": self.updated_at, "engine": self.engine, "project": self.project,
            "nodes": [n.to_dict() for n in self.nodes], "autostop": self.autostop,
            "placement": self.placement.model_dump(mode="json"),
        }  # fmt: skip


@dataclass
class JobRecord:
    cluster: str
    id: str
    name: str | None
    status: JobState
    submitted_at: float
    ended_at: float | None
    exit_codes: dict[str, int | None]
    reason: str | None = None


@dataclass
class HistoryEntry:
    id: int
    cluster: str
    operation: str
    status: str
    detail: str | None
    started_at: float
    ended_at: float | None


@dataclass
class BucketRecord:
    """A bucket with a stack of its own, as applied by an engine."""

    spec: BucketSpec
    engine: str
    project: str | None
    created_at: float
