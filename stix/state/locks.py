"""Per-cluster locks across processes: a second `up`/`down` on a busy cluster is refused;
a lock whose process is gone (crash, kill -9) is stale and taken over, so an interrupted
operation never wedges a cluster."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stix.errors import ClusterBusyError
from stix.state.db import transaction


def proc_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (guards against a recycled pid), when readable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    current = proc_start(pid)
    return started is None or current is None or current == started


@contextmanager
def cluster_lock(conn: sqlite3.Connection, cluster: str, operation: str) -> Iterator[None]:
    """Hold the lock of `cluster` for `operation`, or refuse if a live process has it."""
    pid, host = os.getpid(), socket.gethostname()
    with transaction(conn):
        row = conn.execute("SELECT * FROM locks WHERE cluster = ?", (cluster,)).fetchone()
        if row is not None and row["pid"] != pid:
            same_host = row["host"] == host
            if not same_host or alive(row["pid"], row["proc_start"]):
                since = time.strftime("%H:%M:%S", time.localtime(row["acquired_at"]))
                where = "" if same_host else f" on {row['host']}"
                raise ClusterBusyError(
                    f"cluster {cluster!r} is busy: `{row['operation']}` is running "
                    f"(pid {row['pid']}{where}, since {since})",
                    hint="wait for it to finish, or stop that process; a crashed process's "
                         "lock is taken over automatically")
        conn.execute("INSERT OR REPLACE INTO locks VALUES (?, ?, ?, ?, ?, ?)",
                     (cluster, operation, pid, host, proc_start(pid), time.time()))
    try:
        yield
    finally:
        conn.execute("DELETE FROM locks WHERE cluster = ? AND pid = ?", (cluster, pid))


def lock_holder(conn: sqlite3.Connection, cluster: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT * FROM locks WHERE cluster = ?", (cluster,)).fetchone()
    return dict(row) if row else None
