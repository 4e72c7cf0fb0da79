"""The usage ledger: when each cluster ran or stood stopped, and at what prices.

One row per interval of one phase (`running`, `stopped`), with the prices of that moment
copied into it — the machine's $/h from the placement recorded at launch and what its
disks and addresses bill in that phase — so a cost report never asks today's catalog
(a machine type retired since is still priced) and outlives the cluster: `down` deletes
the cluster's record, never its usage. At most one interval per cluster is open.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from stix.placement import Placement
from stix.state.db import transaction
from stix.state.records import ClusterRecord

Phase = Literal["running", "stopped"]
PHASES: tuple[Phase, ...] = ("running", "stopped")

# Cluster statuses (as stored) that mean machines exist, for clusters that were up before
# the ledger existed: they are counted from their record's creation (see `adopt`).
_RUNNING_STATUSES = ("INIT", "PROVISIONED", "UP", "PARTIAL")
_STOPPED_STATUSES = ("STOPPED",)
ADOPTED_NOTE = ("launched before stix kept a usage ledger: counted from the cluster's "
                "creation at its current placement")


@dataclass(frozen=True)
class Priced:
    """One thing a node billed in an interval besides its machine (None: not priced)."""

    what: str
    kind: str  # "disk" | "address"
    hourly: float | None


@dataclass(frozen=True)
class Interval:
    """One phase of one cluster, from `started_at` to `ended_at` (None: still open)."""

    id: int
    cluster: str
    phase: Phase
    cloud: str
    region: str
    instance_type: str
    nodes: int
    use_spot: bool
    node_hourly: float  # USD/h of one node's machine, recorded at launch (billed running)
    disk_gb_per_node: float
    disk_hourly_per_node: float  # what its disks bill per hour in this phase (priced part)
    other_hourly_per_node: float  # addresses, in this phase (priced part)
    started_at: float
    ended_at: float | None
    charges: tuple[Priced, ...] = ()
    not_counted: tuple[str, ...] = ()
    note: str | None = None

    @property
    def machine_hourly_per_node(self) -> float:
        return self.node_hourly if self.phase == "running" else 0.0

    @property
    def hourly_per_node(self) -> float:
        """USD per hour one node billed in this interval (the priced part)."""
        return self.machine_hourly_per_node + self.disk_hourly_per_node + \
            self.other_hourly_per_node

    @property
    def hourly(self) -> float:
        return self.hourly_per_node * self.nodes

    @property
    def unpriced(self) -> list[str]:
        return [c.what for c in self.charges if c.hourly is None]

    def hours(self, since: float | None = None, until: float | None = None) -> float:
        """Its length in hours within [since, until] (`until` ends an open interval)."""
        end = self.ended_at if self.ended_at is not None else (until or time.time())
        if until is not None:
            end = min(end, until)
        start = self.started_at if since is None else max(self.started_at, since)
        return max(0.0, end - start) / 3600


@dataclass
class _Rates:
    disk: float = 0.0
    other: float = 0.0
    charges: list[Priced] = field(default_factory=list)
    not_counted: list[str] = field(default_factory=list)


def _rates(placement: Placement, phase: Phase) -> _Rates:
    """What each node bills besides its machine in `phase`, from its cloud's tables now."""
    from stix.clouds import registry
    from stix.clouds.base import Cloud

    out = _Rates()
    if not registry.served(placement.cloud):
        out.not_counted.append(f"{placement.cloud}: stix no longer serves this provider")
        return out
    provider = registry.get(placement.cloud)
    if not isinstance(provider, Cloud):
        return out  # existing machines: nothing is provisioned, nothing is priced
    try:
        charges, not_counted = provider.node_charges(placement), provider.not_counted(placement)
    except Exception as exc:  # the ledger must never fail the operation that records it
        out.not_counted.append(f"what the nodes bill besides machines ({exc})")
        return out
    for charge in charges:
        hourly = charge.running if phase == "running" else charge.stopped
        out.charges.append(Priced(charge.what, charge.kind, hourly))
        if hourly is not None:
            if charge.kind == "disk":
                out.disk += hourly
            else:
                out.other += hourly
    out.not_counted.extend(not_counted)
    return out


@contextmanager
def _atomic(conn: sqlite3.Connection) -> Iterator[None]:
    """A transaction of its own, or the caller's when one is open."""
    if conn.in_transaction:
        yield
        return
    with transaction(conn):
        yield


def _close(conn: sqlite3.Connection, cluster: str, at: float) -> int:
    cur = conn.execute("UPDATE usage SET ended_at = MAX(started_at, ?) WHERE cluster = ? AND"
                       " ended_at IS NULL", (at, cluster))
    return cur.rowcount


def begin(conn: sqlite3.Connection, what: ClusterRecord | Placement, phase: Phase = "running",
          *, at: float | None = None, nodes: int | None = None,
          note: str | None = None) -> int:
    """Start an interval of `phase` for the cluster of `what` (its record, or the placement
    it now runs on) at `at` (default: now), closing its open one at the same moment.
    `nodes` overrides the placement's node count (some nodes gone). Returns the row id;
    an open interval that already says exactly this is kept."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}, not {phase!r}")
    placement = what.placement if isinstance(what, ClusterRecord) else what
    cluster = what.name if isinstance(what, ClusterRecord) else placement.cluster
    count = placement.num_nodes if nodes is None else nodes
    at = time.time() if at is None else at
    rates = _rates(placement, phase)
    detail = json.dumps({"charges": [c.__dict__ for c in rates.charges],
                         "not_counted": rates.not_counted, "note": note})
    row = (phase, placement.cloud, placement.region, placement.instance_type, count,
           int(placement.use_spot), placement.hourly_price, float(placement.disk_size),
           rates.disk, rates.other, detail)
    with _atomic(conn):
        current = conn.execute(
            "SELECT id, phase, cloud, region, instance_type, nodes, use_spot, node_hourly,"
            " disk_gb_per_node, disk_hourly_per_node, other_hourly_per_node, detail FROM usage"
            " WHERE cluster = ? AND ended_at IS NULL", (cluster,)).fetchone()
        if current is not None and tuple(current)[1:] == row:
            return int(current["id"])
        _close(conn, cluster, at)
        cur = conn.execute(
            "INSERT INTO usage (cluster, phase, cloud, region, instance_type, nodes, use_spot,"
            " node_hourly, disk_gb_per_node, disk_hourly_per_node, other_hourly_per_node,"
            " detail, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (cluster, *row, at))
    return int(cur.lastrowid or 0)


def end(conn: sqlite3.Connection, cluster: str, *, at: float | None = None) -> bool:
    """Close the cluster's open interval at `at` (default: now): it is down, or gone.
    False when none was open (already ended is not an error)."""
    with _atomic(conn):
        return _close(conn, cluster, time.time() if at is None else at) > 0


def _interval(row: sqlite3.Row) -> Interval:
    detail: dict[str, Any] = json.loads(row["detail"] or "{}")
    return Interval(
        row["id"], row["cluster"], row["phase"], row["cloud"], row["region"],
        row["instance_type"], row["nodes"], bool(row["use_spot"]), row["node_hourly"],
        row["disk_gb_per_node"], row["disk_hourly_per_node"], row["other_hourly_per_node"],
        row["started_at"], row["ended_at"],
        tuple(Priced(c["what"], c["kind"], c["hourly"]) for c in detail.get("charges", [])),
        tuple(detail.get("not_counted", [])), detail.get("note"))  # fmt: skip


def intervals(conn: sqlite3.Connection, cluster: str | None = None,
              since: float | None = None) -> list[Interval]:
    """The intervals of one cluster (default: every cluster, down ones too) that were
    open at or after `since`, oldest first; not clipped (`Interval.hours` clips)."""
    sql, args = "SELECT * FROM usage WHERE 1 = 1", list[object]()
    if cluster is not None:
        sql += " AND cluster = ?"
        args.append(cluster)
    if since is not None:
        sql += " AND (ended_at IS NULL OR ended_at > ?)"
        args.append(since)
    return [_interval(r) for r in conn.execute(sql + " ORDER BY started_at, id", args)]


def open_intervals(conn: sqlite3.Connection) -> list[Interval]:
    """What bills now: each cluster's open interval, by cluster name."""
    return [_interval(r) for r in conn.execute(
        "SELECT * FROM usage WHERE ended_at IS NULL ORDER BY cluster")]


def adopt(conn: sqlite3.Connection) -> int:
    """Open an interval for each cluster that was up when the ledger was added to an
    existing state DB (called once, by the migration): from its record's creation, or when
    stopped from its last change. A record stix cannot read is left out. Returns how many."""
    from stix.state.store import _cluster

    count = 0
    for row in conn.execute("SELECT * FROM clusters ORDER BY name").fetchall():
        phase: Phase = "running" if row["status"] in _RUNNING_STATUSES else "stopped"
        if row["status"] not in (*_RUNNING_STATUSES, *_STOPPED_STATUSES):
            continue
        try:
            record = _cluster(row)
        except Exception:  # an unreadable record must not stop the DB from opening
            continue
        begin(conn, record, phase, note=ADOPTED_NOTE,
              at=record.created_at if phase == "running" else record.updated_at)
        count += 1
    return count


def follow(conn: sqlite3.Connection, record: ClusterRecord, *, nodes: int | None = None,
           at: float | None = None) -> None:
    """Bring the ledger in line with the record's status, after an operation changed it:
    machines running, stopped, or gone. A status in between (provisioning, destroying)
    keeps what is open: the machines bill as they did until the operation says otherwise."""
    status = str(record.status)
    if status in _RUNNING_STATUSES:
        begin(conn, record, "running", nodes=nodes, at=at)
    elif status in _STOPPED_STATUSES:
        begin(conn, record, "stopped", nodes=nodes, at=at)
    elif status in ("FAILED", "TERMINATED"):
        end(conn, record.name, at=at)
