"""The server's database: SQLAlchemy Core tables, the engine for a URL (SQLite with WAL and
a busy timeout, or PostgreSQL), and Alembic migrations run on start — a server of a newer
version upgrades the schema in place, an older one refuses a newer schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.engine import Engine

from stix.errors import StixError

metadata = MetaData()

jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("owner", String(200), nullable=False, default=""),
    Column("spec", JSON, nullable=False),  # the tasks and how to run them (models.JobSpec)
    Column("task_count", Integer, nullable=False, server_default="1"),  # listed without spec
    Column("secrets", JSON, nullable=False, default=dict),  # never returned by the API
    Column("task_index", Integer, nullable=False, default=0),  # the pipeline task running
    Column("recoveries", Integer, nullable=False, default=0),  # lost nodes, relaunched
    Column("restarts", Integer, nullable=False, default=0),  # user-code failures, restarted
    Column("reason", Text),  # why it failed or was cancelled
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("provisioning_since", Float),  # the first failed provisioning of this stretch
    Column("submitted_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("ended_at", Float),
)
Index("jobs_by_status", jobs.c.status)

attempts = Table(
    "attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("task_index", Integer, nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, ... across the job's tasks
    Column("cluster", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("agent_job", String(64)),  # the run's id in the nodes' agent
    Column("placement", JSON),  # where it ran: cloud, region, zone, hosts
    Column("exit_codes", JSON),
    Column("reason", Text),  # why the attempt ended (a lost node, exit code 3, ...)
    Column("unreachable_since", Float),
    Column("started_at", Float, nullable=False),
    Column("running_at", Float),
    Column("ended_at", Float),
)
Index("attempts_by_job", attempts.c.job_id, attempts.c.number, unique=True)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
)
Index("events_by_job", events.c.job_id, events.c.id)

# Services (stix serve): a row per service, one per replica, and the controller's log of
# decisions. A service's versions are its task configs; replicas carry the one they run.
services = Table(
    "services", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("status", String(32), nullable=False),
    Column("versions", JSON, nullable=False),  # [{"task": config, "service": spec}, ...]
    Column("version", Integer, nullable=False),  # the one serving (1-based)
    Column("target_version", Integer, nullable=False),  # the one an update moves to
    Column("update_mode", String(16)),  # rolling | blue_green while an update runs
    Column("secrets", JSON, nullable=False, default=dict),  # never returned by the API
    Column("lb_port", Integer, nullable=False),
    Column("endpoint", String(300), nullable=False),
    Column("desired", Integer, nullable=False),  # what the autoscaler wants now
    Column("decision", Text),  # the autoscaler's last decision and why
    Column("reason", Text),
    Column("down_requested", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

replicas = Table(
    "replicas", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", Integer, ForeignKey("services.id", ondelete="CASCADE"),
           nullable=False),
    Column("number", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("cluster", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("spot", Boolean, nullable=False, default=False),
    Column("host", String(300)),
    Column("port", Integer),
    Column("probe_failures", Integer, nullable=False, default=0),
    Column("reason", Text),
    Column("started_at", Float, nullable=False),
    Column("ready_at", Float),
    Column("ended_at", Float),
)
Index("replicas_by_service", replicas.c.service_id, replicas.c.number, unique=True)

service_events = Table(
    "service_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", Integer, ForeignKey("services.id", ondelete="CASCADE"),
           nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
)
Index("service_events_by_service", service_events.c.service_id, service_events.c.id)


class DatabaseError(StixError):
    """The server's database cannot be opened or migrated."""


def make_engine(url: str) -> Engine:
    from sqlalchemy import create_engine

    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        if path and path != ":memory:":
            Path(path).touch(mode=0o600, exist_ok=True)
            os.chmod(path, 0o600)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to this version's head (a newer schema than stix knows: an error)."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "stix.server:migrations")
    script = ScriptDirectory.from_config(cfg)
    with engine.begin() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and current not in {r.revision for r in script.walk_revisions()}:
            raise DatabaseError(f"the server database is at schema {current}, newer than this "
                                "stix knows", hint="upgrade stix, or point the server at "
                                "another database")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
