"""The server's HTTP API (FastAPI): jobs in, the queue and logs out, behind a bearer token
on every route but the liveness probe. The controller runs beside it in the same process
and shares only the database."""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from sqlalchemy.engine import Engine

from stix.server import joblogs, store
from stix.server.models import Accepted, JobSpec, JobStatus, JobView

API = "/api/v1"
VERSION = 1


def create_app(db: Engine, token: str, controller: Any = None) -> FastAPI:
    app = FastAPI(title="stix server", version=str(VERSION), docs_url=None, redoc_url=None)

    def authorized(request: Request) -> None:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.encode(),
                                                                  token.encode()):
            raise HTTPException(401, "missing or wrong bearer token",
                                headers={"WWW-Authenticate": "Bearer"})

    auth = [Depends(authorized)]

    @app.get(f"{API}/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": VERSION, "pid": os.getpid()}

    @app.post(f"{API}/jobs", dependencies=auth, status_code=201)
    def launch(spec: JobSpec) -> Accepted:
        job_id = store.submit(db, spec)
        return Accepted(id=job_id, name=spec.name, status=JobStatus.PENDING)

    @app.get(f"{API}/jobs", dependencies=auth)
    def queue(all: bool = False, limit: int = Query(1000, ge=1, le=10000),
              name: str | None = None) -> list[JobView]:
        return store.views(db, include_done=all or name is not None, limit=limit, name=name)

    @app.get(f"{API}/jobs/{{job_id}}", dependencies=auth)
    def one(job_id: int) -> JobView:
        found = store.views(db, job_ids=[job_id], detail=True)
        if not found:
            raise HTTPException(404, f"no managed job {job_id}")
        return found[0]

    @app.post(f"{API}/jobs/cancel", dependencies=auth)
    def cancel(body: dict[str, Any]) -> dict[str, list[int]]:
        ids = body.get("ids")
        if ids is not None and not (isinstance(ids, list)
                                    and all(isinstance(i, int) for i in ids)):
            raise HTTPException(422, "ids must be a list of job ids")
        found = store.request_cancel(db, ids=ids, name=body.get("name"),
                                     everything=bool(body.get("all")))
        return {"cancelling": found}

    @app.get(f"{API}/jobs/{{job_id}}/logs", dependencies=auth)
    def logs(job_id: int, attempt: int | None = None, controller: bool = False,
             offsets: str = "") -> dict[str, Any]:
        """Each log of one attempt (default: the latest) from the byte offsets given as
        `label:n,...`: what a follower has not seen yet."""
        job = store.load(db, job_id)
        if job is None:
            raise HTTPException(404, f"no managed job {job_id}")
        latest = store.latest_attempt(db, job_id)
        number = attempt if attempt is not None else (latest.number if latest else None)
        if attempt is not None and store.attempt(db, job_id, attempt) is None:
            raise HTTPException(404, f"job {job_id} has no attempt {attempt}")
        seen = dict(_offset(part) for part in offsets.split(",") if ":" in part)
        texts = {}
        if number is not None:
            for label, data in joblogs.read(job_id, number, controller=controller):
                texts[label] = data[seen.get(label, 0):].decode("utf-8", "replace")
        return {"job": job_id, "attempt": number, "status": job.status.value,
                "attempts": latest.number if latest else 0, "logs": texts}

    from stix.serve.routes import add_routes

    add_routes(app, db, auth, getattr(controller, "services", None))
    app.state.controller = controller
    return app


def _offset(part: str) -> tuple[str, int]:
    label, _, n = part.rpartition(":")
    return label, int(n) if n.isdigit() else 0
