"""Reads and writes of the server database: jobs, their attempts, their events. Every
change is its own short transaction, so the controller and the API never hold the
database across network calls."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Engine

from stix.server.db import attempts, events, jobs
from stix.server.models import TERMINAL, AttemptView, EventView, JobSpec, JobStatus, JobView


@dataclass
class Job:
    """One job row, as the controller works on it."""

    id: int
    name: str
    status: JobStatus
    spec: JobSpec
    secrets: dict[str, str]
    task_index: int
    recoveries: int
    restarts: int
    cancel_requested: bool
    provisioning_since: float | None


@dataclass
class Attempt:
    id: int
    job_id: int
    task_index: int
    number: int
    cluster: str
    status: str
    agent_job: str | None
    placement: dict[str, Any] | None
    unreachable_since: float | None
    started_at: float
    running_at: float | None
    ended_at: float | None = None


def submit(engine: Engine, spec: JobSpec, owner: str = "") -> int:
    now = time.time()
    body = spec.model_dump(mode="json", exclude={"secrets"})
    with engine.begin() as conn:
        result = conn.execute(insert(jobs).values(
            name=spec.name, status=JobStatus.PENDING.value, owner=owner, spec=body,
            task_count=len(spec.tasks),
            secrets=spec.secrets, task_index=0, recoveries=0, restarts=0,
            cancel_requested=False, submitted_at=now, updated_at=now))
        job_id = _key(result)
        conn.execute(insert(events).values(job_id=job_id, at=now, kind="submitted",
                                           message=f"{len(spec.tasks)} task(s)"))
    return job_id


def _key(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _job(row: Any) -> Job:
    spec = JobSpec.model_validate({**row.spec, "secrets": {}})
    return Job(row.id, row.name, JobStatus(row.status), spec, dict(row.secrets or {}),
               row.task_index, row.recoveries, row.restarts, bool(row.cancel_requested),
               row.provisioning_since)


@dataclass(frozen=True)
class Brief:
    """What the controller's loop needs to pick a job's next step (no spec, no secrets:
    a thousand queued jobs are read every tick)."""

    id: int
    status: JobStatus
    recoveries: int
    cancel_requested: bool
    provisioning_since: float | None


def active(engine: Engine) -> list[Brief]:
    """Every job not yet finished, oldest first: what the controller watches."""
    done = [s.value for s in TERMINAL]
    c = jobs.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.id, c.status, c.recoveries, c.cancel_requested,
                                   c.provisioning_since).where(c.status.notin_(done))
                            .order_by(c.id)).all()
    return [Brief(r.id, JobStatus(r.status), r.recoveries, bool(r.cancel_requested),
                  r.provisioning_since) for r in rows]


def load(engine: Engine, job_id: int) -> Job | None:
    with engine.connect() as conn:
        row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    return None if row is None else _job(row)


def set_job(engine: Engine, job_id: int, **values: Any) -> None:
    if "status" in values and isinstance(values["status"], JobStatus):
        status = values["status"]
        values["status"] = status.value
        if status.terminal:
            values.setdefault("ended_at", time.time())
    with engine.begin() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job_id)
                     .values(updated_at=time.time(), **values))


def event(engine: Engine, job_id: int, kind: str, message: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(events).values(job_id=job_id, at=time.time(), kind=kind,
                                           message=message))


def new_attempt(engine: Engine, job: Job, cluster: str) -> Attempt:
    now = time.time()
    with engine.begin() as conn:
        last = conn.execute(select(func.max(attempts.c.number))
                            .where(attempts.c.job_id == job.id)).scalar()
        number = int(last or 0) + 1
        result = conn.execute(insert(attempts).values(
            job_id=job.id, task_index=job.task_index, number=number,
            cluster=cluster.format(n=number), status="STARTING", started_at=now))
        attempt_id = _key(result)
    return Attempt(attempt_id, job.id, job.task_index, number, cluster.format(n=number),
                   "STARTING", None, None, None, now, None)


def _attempt(row: Any) -> Attempt:
    return Attempt(row.id, row.job_id, row.task_index, row.number, row.cluster, row.status,
                   row.agent_job, row.placement, row.unreachable_since, row.started_at,
                   row.running_at, row.ended_at)


def latest_attempt(engine: Engine, job_id: int) -> Attempt | None:
    with engine.connect() as conn:
        row = conn.execute(select(attempts).where(attempts.c.job_id == job_id)
                           .order_by(attempts.c.number.desc()).limit(1)).first()
    return None if row is None else _attempt(row)


def attempt(engine: Engine, job_id: int, number: int) -> Attempt | None:
    with engine.connect() as conn:
        row = conn.execute(select(attempts).where(and_(
            attempts.c.job_id == job_id, attempts.c.number == number))).first()
    return None if row is None else _attempt(row)


def set_attempt(engine: Engine, attempt_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(attempts).where(attempts.c.id == attempt_id).values(**values))


def request_cancel(engine: Engine, *, ids: list[int] | None = None, name: str | None = None,
                   everything: bool = False) -> list[int]:
    """Mark jobs for cancelling (the controller tears them down); finished ones are left."""
    done = [s.value for s in TERMINAL]
    query = select(jobs.c.id).where(jobs.c.status.notin_(done))
    if ids is not None:
        query = query.where(jobs.c.id.in_(ids))
    elif name is not None:
        query = query.where(jobs.c.name == name)
    elif not everything:
        return []
    with engine.begin() as conn:
        found = [int(r.id) for r in conn.execute(query).all()]
        if found:
            conn.execute(update(jobs).where(jobs.c.id.in_(found)).values(
                cancel_requested=True, updated_at=time.time()))
    return found


def views(engine: Engine, *, include_done: bool = True, job_ids: list[int] | None = None,
          name: str | None = None, limit: int = 1000, detail: bool = False) -> list[JobView]:
    """Jobs newest first, with their attempts (and events when `detail`): one query each."""
    listed = [c for c in jobs.c if c.name not in ("spec", "secrets")]
    query = select(*listed).order_by(jobs.c.id.desc()).limit(limit)
    if not include_done:
        query = query.where(jobs.c.status.notin_([s.value for s in TERMINAL]))
    if job_ids is not None:
        query = query.where(jobs.c.id.in_(job_ids))
    if name is not None:
        query = query.where(jobs.c.name == name)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        ids = [r.id for r in rows]
        by_job: dict[int, list[AttemptView]] = {i: [] for i in ids}
        said: dict[int, list[EventView]] = {i: [] for i in ids}
        if ids:
            for a in conn.execute(select(attempts).where(attempts.c.job_id.in_(ids))
                                  .order_by(attempts.c.number)).all():
                by_job[a.job_id].append(AttemptView(
                    number=a.number, task_index=a.task_index, cluster=a.cluster,
                    status=a.status, placement=a.placement, exit_codes=a.exit_codes,
                    reason=a.reason, started_at=a.started_at, running_at=a.running_at,
                    ended_at=a.ended_at))
            if detail:
                for e in conn.execute(select(events).where(events.c.job_id.in_(ids))
                                      .order_by(events.c.id)).all():
                    said[e.job_id].append(EventView(at=e.at, kind=e.kind, message=e.message))
    return [JobView(id=r.id, name=r.name, status=JobStatus(r.status),
                    tasks=r.task_count, task_index=r.task_index,
                    recoveries=r.recoveries, restarts=r.restarts, reason=r.reason,
                    submitted_at=r.submitted_at, updated_at=r.updated_at, ended_at=r.ended_at,
                    attempts=by_job[r.id], events=said[r.id]) for r in rows]
