"""Reads and writes of the services tables: each change its own short transaction, as for
managed jobs, so the controller and the API never hold the database across network calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from stix.errors import StixError
from stix.serve.models import ReplicaStatus, ServiceStatus
from stix.server.db import replicas, service_events, services


class ServiceExistsError(StixError):
    """`serve up` of a name that is already a service."""


@dataclass
class Service:
    id: int
    name: str
    status: ServiceStatus
    versions: list[dict[str, Any]]
    version: int
    target_version: int
    update_mode: str | None
    secrets: dict[str, str]
    lb_port: int
    endpoint: str
    desired: int
    decision: str | None
    reason: str | None
    down_requested: bool

    def config(self, version: int | None = None) -> dict[str, Any]:
        """A version's task config (default: the one serving)."""
        return dict(self.versions[(version or self.version) - 1]["task"])


@dataclass
class Replica:
    id: int
    service_id: int
    number: int
    version: int
    cluster: str
    status: ReplicaStatus
    spot: bool
    host: str | None
    port: int | None
    probe_failures: int
    reason: str | None
    started_at: float
    ready_at: float | None


def _service(row: Any) -> Service:
    return Service(row.id, row.name, ServiceStatus(row.status), list(row.versions),
                   row.version, row.target_version, row.update_mode, dict(row.secrets or {}),
                   row.lb_port, row.endpoint, row.desired, row.decision, row.reason,
                   bool(row.down_requested))


def _replica(row: Any) -> Replica:
    return Replica(row.id, row.service_id, row.number, row.version, row.cluster,
                   ReplicaStatus(row.status), bool(row.spot), row.host, row.port,
                   row.probe_failures, row.reason, row.started_at, row.ready_at)


def create(engine: Engine, name: str, task: dict[str, Any], secrets: dict[str, str],
           lb_port: int, endpoint: str, desired: int) -> int:
    now = time.time()
    with engine.begin() as conn:
        if conn.execute(select(services.c.id).where(services.c.name == name)).first():
            raise ServiceExistsError(f"service {name!r} exists already",
                                     hint="`stix serve update` changes it, `stix serve down` "
                                          "removes it")
        result = conn.execute(insert(services).values(
            name=name, status=ServiceStatus.NO_REPLICA.value, versions=[{"task": task}],
            version=1, target_version=1, secrets=secrets, lb_port=lb_port,
            endpoint=endpoint, desired=desired, down_requested=False, created_at=now,
            updated_at=now))
        key = result.inserted_primary_key
        assert key is not None
        service_id = int(key[0])
        conn.execute(insert(service_events).values(service_id=service_id, at=now, kind="up",
                                                   message=f"service {name} submitted"))
    return service_id


def load(engine: Engine, name: str) -> Service | None:
    with engine.connect() as conn:
        row = conn.execute(select(services).where(services.c.name == name)).first()
    return _service(row) if row else None


def by_id(engine: Engine, service_id: int) -> Service | None:
    with engine.connect() as conn:
        row = conn.execute(select(services).where(services.c.id == service_id)).first()
    return _service(row) if row else None


def every(engine: Engine) -> list[Service]:
    with engine.connect() as conn:
        rows = conn.execute(select(services).order_by(services.c.id)).all()
    return [_service(r) for r in rows]


def set_service(engine: Engine, service_id: int, **values: Any) -> None:
    values = {k: v.value if isinstance(v, ServiceStatus) else v for k, v in values.items()}
    with engine.begin() as conn:
        conn.execute(update(services).where(services.c.id == service_id)
                     .values(updated_at=time.time(), **values))


def add_version(engine: Engine, service_id: int, task: dict[str, Any], mode: str,
                secrets: dict[str, str]) -> int:
    """A new version to roll out; the number it got."""
    with engine.begin() as conn:
        row = conn.execute(select(services).where(services.c.id == service_id)).one()
        versions = [*row.versions, {"task": task}]
        conn.execute(update(services).where(services.c.id == service_id).values(
            versions=versions, target_version=len(versions), update_mode=mode,
            secrets={**(row.secrets or {}), **secrets}, updated_at=time.time()))
    return len(versions)


def remove(engine: Engine, service_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(delete(service_events).where(service_events.c.service_id == service_id))
        conn.execute(delete(replicas).where(replicas.c.service_id == service_id))
        conn.execute(delete(services).where(services.c.id == service_id))


def replicas_of(engine: Engine, service_id: int, *, live_only: bool = False) -> list[Replica]:
    with engine.connect() as conn:
        rows = conn.execute(select(replicas).where(replicas.c.service_id == service_id)
                            .order_by(replicas.c.number)).all()
    out = [_replica(r) for r in rows]
    return [r for r in out if r.status.live] if live_only else out


def new_replica(engine: Engine, service: Service, version: int, spot: bool) -> Replica:
    now = time.time()
    with engine.begin() as conn:
        numbers = conn.execute(select(replicas.c.number)
                               .where(replicas.c.service_id == service.id)).scalars().all()
        number = max(numbers, default=0) + 1
        cluster = f"{service.name}-{number}"
        result = conn.execute(insert(replicas).values(
            service_id=service.id, number=number, version=version, cluster=cluster,
            status=ReplicaStatus.PROVISIONING.value, spot=spot, probe_failures=0,
            started_at=now))
        key = result.inserted_primary_key
        assert key is not None
        row = conn.execute(select(replicas).where(replicas.c.id == int(key[0]))).one()
    return _replica(row)


def set_replica(engine: Engine, replica_id: int, **values: Any) -> None:
    values = {k: v.value if isinstance(v, ReplicaStatus) else v for k, v in values.items()}
    with engine.begin() as conn:
        conn.execute(update(replicas).where(replicas.c.id == replica_id).values(**values))


def event(engine: Engine, service_id: int, kind: str, message: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(service_events).values(service_id=service_id, at=time.time(),
                                                   kind=kind, message=message[:4000]))


def events_of(engine: Engine, service_id: int, limit: int = 50) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(service_events)
                            .where(service_events.c.service_id == service_id)
                            .order_by(service_events.c.id.desc()).limit(limit)).all()
    return [{"at": r.at, "kind": r.kind, "message": r.message} for r in reversed(rows)]
