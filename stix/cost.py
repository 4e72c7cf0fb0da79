"""`stix cost-report`: what each cluster has cost, down ones too, from the usage ledger.

Running time is priced at the machine $/h recorded at launch (never today's catalog: a
type retired since is still priced) plus what its disks and addresses billed; stopped time
at what the disks (and addresses kept) billed. Everything comes from the prices copied
into the ledger at the moment each interval began (`stix.state.usage`); docs/costs.md says
what is counted and what is not.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from stix.errors import NotFoundError
from stix.state.usage import Interval

DAY = 86_400.0
# Always left out, whatever the cloud (docs/costs.md).
NOT_COUNTED = (
    "data transfer and API requests",
    "buckets with stacks of their own (persistent: true; `stix storage ls`)",
    "networks, subnets and NAT gateways a stack uses but does not own (extra.vpc_id, "
    "subnet_id, network)",
    "time while provisioning and failover attempts removed again",
    "taxes, discounts, credits and commitments (list prices)",
)


@dataclass
class NodeCost:
    """One node's share: node-1 is the head, which every interval has."""

    name: str
    running_hours: float = 0.0
    stopped_hours: float = 0.0
    cost: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "running_hours": round(self.running_hours, 6),
                "stopped_hours": round(self.stopped_hours, 6), "cost": round(self.cost, 6)}


@dataclass
class ClusterCost:
    """What one cluster (by name, every launch of it) has cost in the report's window."""

    name: str
    state: str  # the cluster's status in `stix status`, or DOWN when stix forgot it
    intervals: list[Interval]
    since: float | None
    until: float
    nodes: list[NodeCost] = field(default_factory=list)
    running_hours: float = 0.0
    stopped_hours: float = 0.0
    compute: float = 0.0
    disks: float = 0.0
    addresses: float = 0.0
    hourly_now: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def down(self) -> bool:
        return self.state == "DOWN"

    @property
    def open(self) -> bool:
        """Something of it bills now (it runs, or stands stopped)."""
        return any(i.ended_at is None for i in self.intervals)

    @property
    def total(self) -> float:
        return self.compute + self.disks + self.addresses

    @property
    def last(self) -> Interval | None:
        return self.intervals[-1] if self.intervals else None

    @property
    def unpriced(self) -> list[str]:
        return sorted({u for i in self.intervals for u in i.unpriced})

    @property
    def not_counted(self) -> list[str]:
        return sorted({n for i in self.intervals for n in i.not_counted})

    def add(self, interval: Interval) -> None:
        hours = interval.hours(self.since, self.until)
        n = interval.nodes
        if interval.phase == "running":
            self.running_hours += hours
            self.compute += interval.node_hourly * n * hours
        else:
            self.stopped_hours += hours
        self.disks += interval.disk_hourly_per_node * n * hours
        self.addresses += interval.other_hourly_per_node * n * hours
        while len(self.nodes) < n:
            self.nodes.append(NodeCost(f"node-{len(self.nodes) + 1}"))
        for node in self.nodes[:n]:
            if interval.phase == "running":
                node.running_hours += hours
            else:
                node.stopped_hours += hours
            node.cost += interval.hourly_per_node * hours
        if interval.ended_at is None:
            self.hourly_now = interval.hourly
        if interval.note and interval.note not in self.notes:
            self.notes.append(interval.note)

    def to_json(self) -> dict[str, Any]:
        last = self.last
        return {
            "name": self.name, "state": self.state, "down": self.down,
            "cloud": last.cloud if last else None, "region": last.region if last else None,
            "instance_type": last.instance_type if last else None,
            "num_nodes": last.nodes if last else 0,
            "use_spot": last.use_spot if last else False,
            "started_at": self.intervals[0].started_at if self.intervals else None,
            "ended_at": None if not last or last.ended_at is None else last.ended_at,
            "running_hours": round(self.running_hours, 6),
            "stopped_hours": round(self.stopped_hours, 6),
            "compute": round(self.compute, 6), "disks": round(self.disks, 6),
            "addresses": round(self.addresses, 6), "total": round(self.total, 6),
            "hourly_now": round(self.hourly_now, 6),
            "nodes": [n.to_json() for n in self.nodes],
            "intervals": [_interval_json(i, self.since, self.until) for i in self.intervals],
            "unpriced": self.unpriced, "not_counted": self.not_counted, "notes": self.notes,
        }  # fmt: skip


def _interval_json(i: Interval, since: float | None, until: float) -> dict[str, Any]:
    hours = i.hours(since, until)
    return {
        "phase": i.phase, "cloud": i.cloud, "region": i.region,
        "instance_type": i.instance_type, "num_nodes": i.nodes, "use_spot": i.use_spot,
        "started_at": i.started_at, "ended_at": i.ended_at, "hours": round(hours, 6),
        "node_hourly": i.node_hourly, "disk_gb_per_node": i.disk_gb_per_node,
        "disk_hourly_per_node": i.disk_hourly_per_node,
        "address_hourly_per_node": i.other_hourly_per_node,
        "hourly": round(i.hourly, 6), "cost": round(i.hourly * hours, 6),
        "charges": [{"what": c.what, "kind": c.kind, "hourly_per_node": c.hourly}
                    for c in i.charges],
    }  # fmt: skip


@dataclass
class CostReport:
    clusters: list[ClusterCost]
    until: float
    days: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def since(self) -> float | None:
        return None if self.days is None else self.until - self.days * DAY

    @property
    def total(self) -> float:
        return sum(c.total for c in self.clusters)

    @property
    def hourly_now(self) -> float:
        return sum(c.hourly_now for c in self.clusters)

    def to_json(self) -> dict[str, Any]:
        """The documented shape of `stix cost-report --json` (docs/json.md)."""
        return {"since": self.since, "until": self.until, "days": self.days,
                "currency": "USD", "total": round(self.total, 6),
                "hourly_now": round(self.hourly_now, 6),
                "clusters": [c.to_json() for c in self.clusters],
                "not_counted": list(NOT_COUNTED), "notes": self.notes}  # fmt: skip


def report(cluster: str | None = None, *, days: float | None = None,
           conn: sqlite3.Connection | None = None, now: float | None = None) -> CostReport:
    """What each cluster (or `cluster`) has cost, down ones too; with `days`, only what
    accrued in the last `days` days. Clusters stix knows but has no usage of are listed
    with a note, so a gap in the ledger shows."""
    from stix import state
    from stix.errors import UsageError

    if days is not None and days <= 0:
        raise UsageError("days (--days) must be more than 0")
    conn = conn or state.connect()
    until = time.time() if now is None else now
    result = CostReport([], until, days)
    since = result.since
    records = {r.name: r for r in (state.list_clusters(conn) if cluster is None else
                                   [r for r in [state.get_cluster(conn, cluster)] if r])}
    by_name: dict[str, list[Interval]] = {}
    for interval in state.usage.intervals(conn, cluster, since):
        if interval.started_at < until:
            by_name.setdefault(interval.cluster, []).append(interval)
    if cluster is not None and not by_name and cluster not in records:
        ever = state.usage.intervals(conn, cluster)
        raise NotFoundError(
            f"no usage of a cluster named {cluster!r}"
            + (f" in the last {days:g} day(s)" if ever and days is not None else ""),
            hint="`stix cost-report` lists every cluster stix recorded")
    for name in sorted({*by_name, *records}):
        record = records.get(name)
        found = by_name.get(name, [])
        still = next((i for i in found if i.ended_at is None), None)
        state_text = (record.status.value if record is not None else
                      "DOWN" if still is None else still.phase.upper())
        cost = ClusterCost(name, state_text, found, since, until)
        for interval in found:
            cost.add(interval)
        if record is None and still is not None:
            cost.notes.append(f"stix has no record of this cluster but its usage was never "
                              f"ended: counted as {still.phase} until now")
        if record is not None and not cost.intervals:
            earlier = days is not None and state.usage.intervals(conn, name)
            cost.notes.append(f"no usage in the last {days:g} day(s)" if earlier
                              else "no usage recorded for it")
        result.clusters.append(cost)
    return result
