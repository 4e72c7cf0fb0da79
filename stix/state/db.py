"""The state DB file: opened safely, never silently replaced.

Many CLI processes may use it at once: WAL mode and a busy timeout let readers and one
writer coexist, and every write is a short transaction. A missing (after it existed),
empty, truncated or corrupt file is an error that names the file, says what is lost, keeps
a copy, and says how to recover (`stix state rebuild`). `~/.stix` is kept 0700 and the
file 0600, whatever modes they had.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stix.errors import StixError
from stix.paths import stix_home

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
    op INTEGER, reason TEXT,
    PRIMARY KEY (cluster, id));
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL, operation TEXT NOT NULL,
    status TEXT NOT NULL, detail TEXT, started_at REAL NOT NULL, ended_at REAL,
    pid INTEGER, host TEXT, proc_start TEXT);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, engine TEXT NOT NULL, project TEXT,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    cluster TEXT PRIMARY KEY, operation TEXT NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, proc_start TEXT, acquired_at REAL NOT NULL);
-- The usage ledger (stix.state.usage): kept when a cluster is deleted.
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cluster TEXT NOT NULL, phase TEXT NOT NULL,
    cloud TEXT NOT NULL, region TEXT NOT NULL, instance_type TEXT NOT NULL,
    nodes INTEGER NOT NULL, use_spot INTEGER NOT NULL DEFAULT 0, node_hourly REAL NOT NULL,
    disk_gb_per_node REAL NOT NULL DEFAULT 0, disk_hourly_per_node REAL NOT NULL DEFAULT 0,
    other_hourly_per_node REAL NOT NULL DEFAULT 0, detail TEXT NOT NULL DEFAULT '{}',
    started_at REAL NOT NULL, ended_at REAL);
CREATE INDEX IF NOT EXISTS usage_open ON usage (cluster, ended_at);
"""
# Columns added after the first release: (table, column, type), added when missing.
_ADDED = (("jobs", "op", "INTEGER"), ("jobs", "reason", "TEXT"), ("history", "host", "TEXT"),
          ("history", "proc_start", "TEXT"))
RECOVER = ("`stix state rebuild` makes a new one and rebuilds the records of stack-backed "
           "clusters from stacks/ and the engine's state (local clusters from their node "
           "homes)")


class StateError(StixError):
    """The state DB cannot be used as it is."""

    exit_code = 5


def db_path() -> Path:
    return stix_home() / "state.db"


def _marker(path: Path) -> Path:
    """Written beside the DB when it is created: a DB missing later was lost, not new."""
    return path.with_name(f".{path.name}.created")


def private_dir(path: Path) -> None:
    """Make `path` (stix's home) exist with mode 0700, tightening wider modes."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)


def _keep_copy(path: Path) -> Path:
    copy = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, copy)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            shutil.copy2(side, copy.with_name(copy.name + suffix))
    return copy


def _broken(path: Path, what: str) -> StateError:
    copy = _keep_copy(path)
    return StateError(f"the state DB {path} is {what}: the records of your clusters and "
                      f"jobs in it are lost (a copy is kept at {copy})", hint=RECOVER)


_CHECKED: set[str] = set()


def connect(path: Path | None = None, *, create: bool = True) -> sqlite3.Connection:
    """Open the state DB (creating it on first use); autocommit, explicit transactions."""
    path = path or db_path()
    private_dir(path.parent)
    marker = _marker(path)
    if path.exists():
        # Empty with no marker: another process is creating it right now (not a loss).
        if path.stat().st_size == 0 and marker.exists():
            raise _broken(path, "empty (0 bytes)")
    elif marker.exists() or not create:
        raise StateError(f"the state DB {path} is missing (it was created "
                         f"{marker.read_text().strip() if marker.exists() else 'before'}): "
                         "the records of your clusters and jobs are lost", hint=RECOVER)
    fresh = not path.exists()
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if str(path) not in _CHECKED and not fresh:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                conn.close()
                raise _broken(path, f"damaged ({verdict})")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        ledger_new = not fresh and conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage'"
        ).fetchone() is None
        conn.executescript(_SCHEMA)
        _migrate(conn)
    except sqlite3.DatabaseError as exc:
        raise _broken(path, f"not a readable SQLite database ({exc})") from None
    _CHECKED.add(str(path))
    if ledger_new:  # clusters up before the ledger existed are adopted into it
        from stix.state.usage import adopt

        adopt(conn)
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        side = path.with_name(name)
        if side.exists() and side.stat().st_mode & 0o077:
            os.chmod(side, 0o600)
    if fresh:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(time.strftime("%Y-%m-%d %H:%M:%S") + "\n")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    for table, column, kind in _ADDED:
        have = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")


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
