"""The server's service routes: `serve up/update/down` in, status, metrics and logs out.
Checks every task before it is stored (a bad service never reaches the controller)."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from sqlalchemy.engine import Engine

from stix.serve import store
from stix.serve.models import ReplicaView, ServiceRequest, ServiceStatus, ServiceView


def _checked(request: ServiceRequest) -> Any:
    from stix.errors import StixError
    from stix.serve.spec import load_service
    from stix.task import Task

    try:
        task = Task.from_yaml_config(request.task)
        return load_service(task)
    except StixError as exc:
        raise HTTPException(422, str(exc)) from None


def endpoint_host(request: Request) -> str:
    """Where clients reach this server's load balancers: STIX_SERVE_HOST when set, else
    the host the client reached the server at (a deployed server's public address)."""
    host = os.environ.get("STIX_SERVE_HOST") or request.url.hostname or "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def add_routes(app: FastAPI, db: Engine, auth: list[Any], controller: Any) -> None:
    from stix.serve.replicas import free_port

    @app.post("/api/v1/services", dependencies=auth, status_code=201)
    def up(request: ServiceRequest, http: Request) -> ServiceView:
        spec = _checked(request)
        port = free_port()
        scheme = "https" if spec.tls is not None else "http"
        try:
            store.create(db, request.name, request.task, request.secrets, port,
                         f"{scheme}://{endpoint_host(http)}:{port}", spec.initial_replicas())
        except store.ServiceExistsError as exc:
            raise HTTPException(409, str(exc)) from None
        return _views(db, controller, request.name)[0]

    @app.post("/api/v1/services/{name}/update", dependencies=auth)
    def update(name: str, request: ServiceRequest) -> ServiceView:
        _checked(request)
        if request.mode not in ("rolling", "blue_green"):
            raise HTTPException(422, f"mode {request.mode!r}: rolling or blue_green")
        found = store.load(db, name)
        if found is None:
            raise HTTPException(404, f"no service {name!r}")
        if found.down_requested:
            raise HTTPException(409, f"service {name!r} is shutting down")
        if found.target_version != found.version:
            raise HTTPException(409, f"service {name!r} is updating to version "
                                f"{found.target_version} already")
        version = store.add_version(db, found.id, request.task, request.mode, request.secrets)
        store.event(db, found.id, "update", f"version {version} ({request.mode}) submitted")
        return _views(db, controller, name)[0]

    @app.get("/api/v1/services", dependencies=auth)
    def status(name: str | None = None) -> list[ServiceView]:
        views = _views(db, controller, name)
        if name is not None and not views:
            raise HTTPException(404, f"no service {name!r}")
        return views

    @app.post("/api/v1/services/down", dependencies=auth)
    def down(body: dict[str, Any]) -> dict[str, list[str]]:
        names = body.get("names") or []
        everything = bool(body.get("all"))
        found = [s for s in store.every(db) if everything or s.name in names]
        missing = sorted(set(names) - {s.name for s in found})
        if missing and not everything:
            raise HTTPException(404, f"no service {', '.join(missing)}")
        for service in found:
            store.set_service(db, service.id, down_requested=True)
            store.event(db, service.id, "down", "shutdown requested")
        return {"shutting_down": [s.name for s in found]}

    @app.get("/api/v1/services/{name}/logs", dependencies=auth)
    def logs(name: str, replica: int | None = None, target: str = "controller",
             offset: int = 0) -> dict[str, Any]:
        from stix.serve.replicas import controller_log, replica_log, service_dir

        found = store.load(db, name)
        if found is None:
            raise HTTPException(404, f"no service {name!r}")
        if replica is not None:
            path = replica_log(name, replica)
            if not any(r.number == replica for r in store.replicas_of(db, found.id)):
                raise HTTPException(404, f"service {name!r} has no replica {replica}")
            text = _read(path, offset) + _replica_run_log(db, found.id, replica)
        elif target == "load_balancer":
            text = _read(service_dir(name) / "lb" / "haproxy.log", offset)
        else:
            text = _read(controller_log(name), offset)
        return {"service": name, "text": text, "status": found.status.value}


def _read(path: Any, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _replica_run_log(db: Engine, service_id: int, number: int) -> str:
    """The replica's own run output, from its nodes (empty when they do not answer)."""
    from stix.cluster import jobs
    from stix.errors import StixError

    rep = next((r for r in store.replicas_of(db, service_id) if r.number == number), None)
    if rep is None or not rep.status.live:
        return ""
    from stix.remote.fanout import LinePrinter

    chunks: list[bytes] = []
    try:
        jobs.logs(rep.cluster, None, follow=False,
                  printer=LinePrinter(chunks.append, prefix=False))
    except StixError:
        return ""
    return b"".join(chunks).decode("utf-8", "replace")


def _views(db: Engine, controller: Any, name: str | None) -> list[ServiceView]:
    out = []
    for service in store.every(db):
        if name is not None and service.name != name:
            continue
        lb = controller.balancers.get(service.id) if controller is not None else None
        stats = {}
        front: dict[str, Any] = {}
        if lb is not None:
            try:
                stats = {s.name: s for s in lb.stats()}
                f = lb.frontend()
                front = {"rps": f.rps, "inflight": f.inflight, "requests": f.requests_total,
                         "errors": f.errors_total, "p50_ms": f.p50_ms, "p99_ms": f.p99_ms}
            except Exception:  # numbers are a view; the status stands without them
                stats, front = {}, {}
        reps = []
        for r in store.replicas_of(db, service.id, live_only=True):
            s = stats.get(f"r{r.number}")
            reps.append(ReplicaView(
                number=r.number, version=r.version, status=r.status, cluster=r.cluster,
                spot=r.spot, endpoint=f"{r.host}:{r.port}" if r.host else None,
                reason=r.reason, started_at=r.started_at, ready_at=r.ready_at,
                rps=s.rps if s else None, inflight=s.inflight if s else None,
                p50_ms=s.p50_ms if s else None, p99_ms=s.p99_ms if s else None,
                requests=s.requests_total if s else None,
                errors=s.errors_total if s else None))
        out.append(ServiceView(
            name=service.name, status=ServiceStatus(service.status), endpoint=service.endpoint,
            version=service.version, target_version=service.target_version,
            update_mode=service.update_mode, desired=service.desired,
            decision=service.decision, reason=service.reason, replicas=reps, metrics=front,
            events=store.events_of(db, service.id, limit=20)))
    return out
