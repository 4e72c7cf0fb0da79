"""Services as a user calls them (`stix serve ...`, `stix.api.serve_*`, `sky.serve.*`):
a task with a `service:` section checked here as `stix up` checks a task, then handed to
the stix server, whose controller runs the replicas and the load balancer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stix.errors import UsageError
from stix.say import Say, quiet
from stix.serve.models import ServiceRequest, ServiceView

FOLLOW_SECONDS = 1.0


def request_for(task_file: str | Path | Any, *, name: str | None = None,
                env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
                mode: str = "rolling") -> ServiceRequest:
    """What the server gets: the task checked (its service, its envs and secrets, that it
    has a placement), with local paths absolute and secret values apart."""
    from stix.managed import _placeable, _portable
    from stix.names import for_task, normalize
    from stix.serve.spec import load_service
    from stix.task import load_task

    if isinstance(task_file, (str, Path)):
        task = load_task(task_file, env)
    else:
        task = task_file.model_copy(deep=True)
        if env:
            task.update_envs(env)
    load_service(task)
    from stix.cluster.node_phase import resolve_secrets

    given = dict(secrets or {})
    resolve_secrets(task, given)
    _placeable(task.model_copy(update={"service": None}))
    service = normalize(name or for_task(task)) or "service"
    doc = _portable(task)
    tls = (doc.get("service") or {}).get("tls")
    if isinstance(tls, dict):  # the server reads the files: paths as absolute as the task's
        base = task.origin.path.parent if task.origin and task.origin.path else Path.cwd()
        doc["service"]["tls"] = {k: str((base / Path(v).expanduser()).resolve())
                                 for k, v in tls.items()}
    return ServiceRequest(name=service, task=doc, secrets=given, mode=mode)


def _client(start: bool = False, say: Say = quiet) -> Any:
    from stix.server.client import connect

    return connect(start=start, say=say)


def up(task_file: str | Path | Any, *, name: str | None = None,
       env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
       say: Say = quiet) -> ServiceView:
    """Start the service; returns once the server took it (replicas come up after)."""
    request = request_for(task_file, name=name, env=env, secrets=secrets)
    client = _client(start=True, say=say)
    try:
        return ServiceView.model_validate(client._call("POST", "/services",
                                                       json=request.model_dump(mode="json")))
    finally:
        client.close()


def update(name: str, task_file: str | Path | Any, *, mode: str = "rolling",
           env: dict[str, str] | None = None, secrets: dict[str, str] | None = None
           ) -> ServiceView:
    if mode not in ("rolling", "blue_green"):
        raise UsageError(f"mode {mode!r} (--mode): rolling or blue_green")
    request = request_for(task_file, name=name, env=env, secrets=secrets, mode=mode)
    client = _client()
    try:
        return ServiceView.model_validate(client._call(
            "POST", f"/services/{request.name}/update", json=request.model_dump(mode="json")))
    finally:
        client.close()


def status(names: list[str] | None = None) -> list[ServiceView]:
    client = _client()
    try:
        if names and len(names) == 1:
            rows = client._call("GET", "/services", params={"name": names[0]})
        else:
            rows = client._call("GET", "/services")
            if names:
                rows = [r for r in rows if r["name"] in names]
        return [ServiceView.model_validate(r) for r in rows]
    finally:
        client.close()


def down(names: list[str] | None = None, *, all_services: bool = False) -> list[str]:
    if bool(names) == all_services:
        raise UsageError("give service names or all_services=True (--all), one of them")
    client = _client()
    try:
        got = client._call("POST", "/services/down",
                           json={"names": names or [], "all": all_services})
        return list(got["shutting_down"])
    finally:
        client.close()


def logs(name: str, *, replica: int | None = None, target: str = "controller",
         follow: bool = False, write: Callable[[str], None]) -> None:
    """Write a service's log: its controller's decisions (default), the load balancer's,
    or one replica's (launch and run output); `follow` until the service is gone."""
    from stix.errors import NotFoundError

    client = _client()
    offset = 0
    try:
        while True:
            try:
                got = client._call("GET", f"/services/{name}/logs",
                                   params={"replica": replica, "target": target,
                                           "offset": offset} if replica is not None else
                                   {"target": target, "offset": offset})
            except NotFoundError:
                if offset:  # it was there: the service went down while followed
                    return
                raise
            text = got["text"]
            if text:
                write(text)
                offset += len(text.encode("utf-8")) if replica is None else 0
            if not follow or replica is not None:
                return
            time.sleep(FOLLOW_SECONDS)
    finally:
        client.close()


def wait_ready(name: str, timeout: float = 1800.0, poll: float = 1.0) -> ServiceView:
    """Block until the service takes traffic (what `serve up` without --detach waits for)."""
    deadline = time.monotonic() + timeout
    while True:
        (view,) = status([name])
        if view.status.value == "READY":
            return view
        if time.monotonic() > deadline:
            raise UsageError(f"service {name!r} is not ready after {timeout:g} s "
                             f"({view.status.value}): `stix serve logs {name}` says why")
        time.sleep(poll)
