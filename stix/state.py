"""Local state: clusters, jobs, operation history and per-cluster locks in one SQLite file.

Many CLI processes may use it at once: WAL mode and a busy timeout let readers and one
writer coexist, every write is a short transaction, and a cluster-level lock row refuses
a second `up`/`down` on a busy cluster. A lock whose process is gone (crash, kill -9) is
stale and taken over, so an interrupted operation never wedges a cluster.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from stix.errors import ClusterBusyError, NotFoundError
from stix.paths import stix_home
from stix.placement import Placement
from stix.remote.agent_client import TERMINAL, JobState
from stix.remote.transport import NodeAddress

BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clusters (
    name TEXT PRIMARY KEY, provider TEXT NOT NULL, placement TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    hourly_price REAL NOT NULL DEFAULT 0, nodes TEXT NOT NULL DEFAULT '[]',
    extra TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS jobs (
    cluster TEXT NOT NULL, id TEXT NOT NULL, name TEXT, status TEXT NOT NULL,
    submitted_at REAL NOT NULL, ended_at REAL, exit_codes TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (cluster, id));
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL, operation TEXT NOT NULL,
    status TEXT NOT NULL, detail TEXT, started_at REAL NOT NULL, ended_at REAL,
    pid INTEGER);
CREATE TABLE IF NOT EXISTS locks (
    cluster TEXT PRIMARY KEY, operation TEXT NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, proc_start TEXT, acquired_at REAL NOT NULL);
"""

class ClusterStatus(str, Enum):
    """Where a cluster is in its life (`stix status` shows it)."""

    INIT = "INIT"  # machines handed out, node phase not done
    PROVISIONING = "PROVISIONING"  # the engine is creating (or failing over)
    PROVISIONED = "PROVISIONED"  # the infrastructure exists, node phase not done
    UP = "UP"  # nodes set up; jobs can run
    FAILED = "FAILED"  # provisioning failed; what exists is in the stack
    DESTROYING = "DESTROYING"
    DESTROY_FAILED = "DESTROY_FAILED"  # `stix destroy` again finishes it

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

    _EXTRA = ("engine", "project", "outputs", "setup_hash", "workdir", "autostop_watcher_pid")

    @property
    def has_stack(self) -> bool:
        return self.engine is not None

    def extra(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._EXTRA}

    def to_json(self) -> dict[str, Any]:
        """The documented shape of `stix status --json` (docs/json.md)."""
        return {
            "name": self.name, "provider": self.provider, "status": self.status.value,
            "region": self.placement.region, "zone": self.placement.zone,
            "instance_type": self.placement.instance_type,
            "num_nodes": self.placement.num_nodes, "use_spot": self.placement.use_spot,
            "hourly_price": self.hourly_price, "created_at": self.created_at,
            "updated_at": self.updated_at, "engine": self.engine, "project": self.project,
            "nodes": [n.to_dict() for n in self.nodes],
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


@dataclass
class HistoryEntry:
    id: int
    cluster: str
    operation: str
    status: str
    detail: str | None
    started_at: float
    ended_at: float | None


def db_path() -> Path:
    return stix_home() / "state.db"


def connect(path: Path | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the state DB; autocommit, transactions are explicit."""
    path = path or db_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE: takes the write lock up front, so read-check-write is atomic."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# ---------------------------------------------------------------- clusters


def _cluster(row: sqlite3.Row) -> ClusterRecord:
    extra = json.loads(row["extra"])
    known = {k: extra[k] for k in ClusterRecord._EXTRA if k in extra}
    return ClusterRecord(row["name"], row["provider"],
                         Placement.model_validate(json.loads(row["placement"])),
                         ClusterStatus(row["status"]), row["created_at"], row["updated_at"],
                         row["hourly_price"],
                         [NodeAddress.from_dict(n) for n in json.loads(row["nodes"])], **known)


def get_cluster(conn: sqlite3.Connection, name: str) -> ClusterRecord | None:
    row = conn.execute("SELECT * FROM clusters WHERE name = ?", (name,)).fetchone()
    return _cluster(row) if row else None


def require_cluster(conn: sqlite3.Connection, name: str) -> ClusterRecord:
    record = get_cluster(conn, name)
    if record is None:
        known = [c.name for c in list_clusters(conn)]
        hint = f"known clusters: {', '.join(known)}" if known else "`stix status` lists clusters"
        raise NotFoundError(f"no cluster named {name!r}", hint=hint)
    return record


def list_clusters(conn: sqlite3.Connection) -> list[ClusterRecord]:
    return [_cluster(r) for r in conn.execute("SELECT * FROM clusters ORDER BY name")]


def put_cluster(conn: sqlite3.Connection, record: ClusterRecord) -> None:
    record.updated_at = time.time()
    conn.execute(
        "INSERT INTO clusters (name, provider, placement, status, created_at, updated_at,"
        " hourly_price, nodes, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(name) DO UPDATE SET provider=excluded.provider,"
        " placement=excluded.placement, status=excluded.status,"
        " updated_at=excluded.updated_at, hourly_price=excluded.hourly_price,"
        " nodes=excluded.nodes, extra=excluded.extra",
        (record.name, record.provider, record.placement.model_dump_json(),
         ClusterStatus(record.status).value, record.created_at, record.updated_at,
         record.hourly_price, json.dumps([n.to_dict() for n in record.nodes]),
         json.dumps(record.extra())))


def delete_cluster(conn: sqlite3.Connection, name: str) -> None:
    with transaction(conn):
        conn.execute("DELETE FROM clusters WHERE name = ?", (name,))
        conn.execute("DELETE FROM jobs WHERE cluster = ?", (name,))


# ---------------------------------------------------------------- jobs


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(row["cluster"], row["id"], row["name"], JobState(row["status"]),
                     row["submitted_at"], row["ended_at"], json.loads(row["exit_codes"]))


def next_job_id(conn: sqlite3.Connection, cluster: str, name: str | None) -> str:
    """Reserve the next job id of `cluster` (1, 2, ...) by inserting it as PENDING."""
    with transaction(conn):
        row = conn.execute("SELECT MAX(CAST(id AS INTEGER)) FROM jobs WHERE cluster = ?",
                           (cluster,)).fetchone()
        job_id = str((row[0] or 0) + 1)
        conn.execute("INSERT INTO jobs (cluster, id, name, status, submitted_at)"
                     " VALUES (?, ?, ?, 'PENDING', ?)", (cluster, job_id, name, time.time()))
    return job_id


def update_job(conn: sqlite3.Connection, cluster: str, job_id: str, status: JobState | str,
               exit_codes: dict[str, int | None] | None = None) -> None:
    status = JobState(status)
    ended = time.time() if status in TERMINAL_JOB_STATES else None
    conn.execute("UPDATE jobs SET status = ?, ended_at = COALESCE(ended_at, ?),"
                 " exit_codes = COALESCE(?, exit_codes) WHERE cluster = ? AND id = ?",
                 (status.value, ended, None if exit_codes is None else json.dumps(exit_codes),
                  cluster, job_id))


def list_jobs(conn: sqlite3.Connection, cluster: str) -> list[JobRecord]:
    return [_job(r) for r in conn.execute(
        "SELECT * FROM jobs WHERE cluster = ? ORDER BY CAST(id AS INTEGER)", (cluster,))]


def get_job(conn: sqlite3.Connection, cluster: str, job_id: str) -> JobRecord | None:
    row = conn.execute("SELECT * FROM jobs WHERE cluster = ? AND id = ?",
                       (cluster, job_id)).fetchone()
    return _job(row) if row else None


# ---------------------------------------------------------------- history


def record_start(conn: sqlite3.Connection, cluster: str, operation: str,
                 detail: str | None = None) -> int:
    cur = conn.execute("INSERT INTO history (cluster, operation, status, detail, started_at,"
                       " pid) VALUES (?, ?, 'RUNNING', ?, ?, ?)",
                       (cluster, operation, detail, time.time(), os.getpid()))
    return int(cur.lastrowid or 0)


def record_end(conn: sqlite3.Connection, entry_id: int, status: OpStatus,
               detail: str | None = None) -> None:
    conn.execute("UPDATE history SET status = ?, ended_at = ?, detail = COALESCE(?, detail)"
                 " WHERE id = ?", (OpStatus(status).value, time.time(), detail, entry_id))


def history(conn: sqlite3.Connection, cluster: str | None = None) -> list[HistoryEntry]:
    sql = "SELECT * FROM history" + (" WHERE cluster = ?" if cluster else "") + " ORDER BY id"
    rows = conn.execute(sql, (cluster,) if cluster else ())
    return [HistoryEntry(r["id"], r["cluster"], r["operation"], r["status"], r["detail"],
                         r["started_at"], r["ended_at"]) for r in rows]


# ---------------------------------------------------------------- locks


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (guards against a recycled pid), when readable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, proc_start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    current = _proc_start(pid)
    return proc_start is None or current is None or current == proc_start


@contextmanager
def cluster_lock(conn: sqlite3.Connection, cluster: str, operation: str) -> Iterator[None]:
    """Hold the lock of `cluster` for `operation`, or refuse if a live process has it."""
    pid, host = os.getpid(), socket.gethostname()
    with transaction(conn):
        row = conn.execute("SELECT * FROM locks WHERE cluster = ?", (cluster,)).fetchone()
        if row is not None and row["pid"] != pid:
            same_host = row["host"] == host
            if not same_host or _alive(row["pid"], row["proc_start"]):
                since = time.strftime("%H:%M:%S", time.localtime(row["acquired_at"]))
                where = "" if same_host else f" on {row['host']}"
                raise ClusterBusyError(
                    f"cluster {cluster!r} is busy: `{row['operation']}` is running "
                    f"(pid {row['pid']}{where}, since {since})",
                    hint="wait for it to finish, or stop that process; a crashed process's "
                         "lock is taken over automatically")
        conn.execute("INSERT OR REPLACE INTO locks VALUES (?, ?, ?, ?, ?, ?)",
                     (cluster, operation, pid, host, _proc_start(pid), time.time()))
    try:
        yield
    finally:
        conn.execute("DELETE FROM locks WHERE cluster = ? AND pid = ?", (cluster, pid))


def lock_holder(conn: sqlite3.Connection, cluster: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM locks WHERE cluster = ?", (cluster,)).fetchone()
    return dict(row) if row else None
