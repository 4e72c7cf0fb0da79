"""Reading and writing the records: clusters, jobs, operation history."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time

from stix.errors import ClusterDoesNotExist
from stix.placement import Placement
from stix.remote.transport import NodeAddress
from stix.state.db import transaction
from stix.state.records import (
    TERMINAL_JOB_STATES,
    BucketRecord,
    ClusterRecord,
    ClusterStatus,
    HistoryEntry,
    JobRecord,
    JobState,
    OpStatus,
)

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
        raise ClusterDoesNotExist(f"no cluster named {name!r}", hint=hint)
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
        from stix.state import usage

        usage.end(conn, name)  # its machines are gone; the ledger keeps what they cost


# ---------------------------------------------------------------- jobs


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(row["cluster"], row["id"], row["name"], JobState(row["status"]),
                     row["submitted_at"], row["ended_at"], json.loads(row["exit_codes"]),
                     row["reason"])


def next_job_id(conn: sqlite3.Connection, cluster: str, name: str | None,
                op: int | None = None) -> str:
    """Reserve the next job id of `cluster` (1, 2, ...) by inserting it as PENDING, on
    behalf of the operation `op` (so a PENDING job of a command that died is found)."""
    with transaction(conn):
        row = conn.execute("SELECT MAX(CAST(id AS INTEGER)) FROM jobs WHERE cluster = ?",
                           (cluster,)).fetchone()
        job_id = str((row[0] or 0) + 1)
        conn.execute("INSERT INTO jobs (cluster, id, name, status, submitted_at, op)"
                     " VALUES (?, ?, ?, 'PENDING', ?, ?)",
                     (cluster, job_id, name, time.time(), op))
    return job_id


def update_job(conn: sqlite3.Connection, cluster: str, job_id: str, status: JobState | str,
               exit_codes: dict[str, int | None] | None = None,
               reason: str | None = None) -> None:
    status = JobState(status)
    ended = time.time() if status in TERMINAL_JOB_STATES else None
    conn.execute("UPDATE jobs SET status = ?, ended_at = COALESCE(ended_at, ?),"
                 " exit_codes = COALESCE(?, exit_codes), reason = COALESCE(?, reason)"
                 " WHERE cluster = ? AND id = ?",
                 (status.value, ended, None if exit_codes is None else json.dumps(exit_codes),
                  reason, cluster, job_id))


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
    from stix.state.locks import proc_start

    pid = os.getpid()
    cur = conn.execute("INSERT INTO history (cluster, operation, status, detail, started_at,"
                       " pid, host, proc_start) VALUES (?, ?, 'RUNNING', ?, ?, ?, ?, ?)",
                       (cluster, operation, detail, time.time(), pid, socket.gethostname(),
                        proc_start(pid)))
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


def reconcile(conn: sqlite3.Connection, cluster: str) -> list[str]:
    """Operations and PENDING jobs left by a stix process that died (kill -9, a crash):
    the operations are marked FAILED, their PENDING jobs FAILED with the reason. Returns
    the ids of the jobs so ended."""
    from stix.state.locks import alive

    host = socket.gethostname()
    dead: dict[int, int] = {}
    for row in conn.execute("SELECT id, pid, host, proc_start FROM history WHERE cluster = ?"
                            " AND status = 'RUNNING'", (cluster,)):
        if row["pid"] and row["host"] == host and not alive(row["pid"], row["proc_start"]):
            dead[row["id"]] = row["pid"]
    ended: list[str] = []
    for op, pid in dead.items():
        reason = f"the stix command that ran it (pid {pid}) ended before it finished"
        record_end(conn, op, OpStatus.FAILED, reason)
        for row in conn.execute("SELECT id FROM jobs WHERE cluster = ? AND op = ? AND"
                                " status = 'PENDING'", (cluster, op)).fetchall():
            update_job(conn, cluster, row["id"], JobState.FAILED,
                       reason=f"never started: {reason}")
            ended.append(row["id"])
    return ended


# ---------------------------------------------------------------- buckets


def put_bucket(conn: sqlite3.Connection, record: BucketRecord) -> None:
    conn.execute("INSERT INTO buckets (name, spec, engine, project, created_at)"
                 " VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET spec=excluded.spec,"
                 " engine=excluded.engine, project=excluded.project",
                 (record.spec.name, record.spec.model_dump_json(), record.engine,
                  record.project, record.created_at))


def _bucket(row: sqlite3.Row) -> BucketRecord:
    from stix.buckets import BucketSpec

    return BucketRecord(BucketSpec.model_validate_json(row["spec"]), row["engine"],
                        row["project"], row["created_at"])


def get_bucket(conn: sqlite3.Connection, name: str) -> BucketRecord | None:
    row = conn.execute("SELECT * FROM buckets WHERE name = ?", (name,)).fetchone()
    return _bucket(row) if row else None


def list_buckets(conn: sqlite3.Connection) -> list[BucketRecord]:
    return [_bucket(r) for r in conn.execute("SELECT * FROM buckets ORDER BY name")]


def delete_bucket(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM buckets WHERE name = ?", (name,))
