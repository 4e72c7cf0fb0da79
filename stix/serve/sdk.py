"""`sky.serve.*` as SkyPilot scripts call it (`import stix as sky; sky.serve.up(task,
service_name=...)`): services run by the stix server, with SkyPilot's parameter names and
its request pattern (`sky.get(...)` of what these return)."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any

from stix.sdk import Request


class UpdateMode(str, Enum):
    ROLLING = "rolling"
    BLUE_GREEN = "blue_green"


class ServiceComponent(str, Enum):
    CONTROLLER = "controller"
    LOAD_BALANCER = "load_balancer"
    REPLICA = "replica"


def up(task: Any, service_name: str | None = None) -> Request:
    """Start a Task (or a task file) as a service. Result: (service_name, endpoint)."""
    from stix.serve import client

    view = client.up(task, name=service_name)
    return Request("serve.up", (view.name, view.endpoint))


def update(task: Any, service_name: str, mode: UpdateMode | str = UpdateMode.ROLLING
           ) -> Request:
    from stix.serve import client

    view = client.update(service_name, task, mode=UpdateMode(mode).value)
    return Request("serve.update", view.target_version)


def status(service_names: str | list[str] | None = None) -> Request:
    """One dict per service: name, status, endpoint, version, replica_info (each replica's
    replica_id, status, version, endpoint, is_spot, and the load balancer's numbers)."""
    from stix.serve import client

    names = [service_names] if isinstance(service_names, str) else service_names
    rows = []
    for v in client.status(names):
        rows.append({
            "name": v.name, "status": v.status.value, "endpoint": v.endpoint,
            "version": v.version, "active_versions": sorted({v.version, v.target_version}),
            "requested_resources_str": None, "load_balancing_policy": None,
            "replica_info": [{"replica_id": r.number, "name": r.cluster,
                              "status": r.status.value, "version": r.version,
                              "endpoint": r.endpoint, "is_spot": r.spot,
                              "launched_at": r.started_at, "rps": r.rps,
                              "inflight": r.inflight, "p50_ms": r.p50_ms,
                              "p99_ms": r.p99_ms} for r in v.replicas],
            "metrics": v.metrics, "decision": v.decision})
    return Request("serve.status", rows)


def down(service_names: str | list[str] | None = None, all: bool = False,
         purge: bool = False) -> Request:
    from stix.serve import client

    names = [service_names] if isinstance(service_names, str) else service_names
    return Request("serve.down", client.down(names, all_services=all))


def tail_logs(service_name: str, target: ServiceComponent | str = ServiceComponent.CONTROLLER,
              replica_id: int | None = None, follow: bool = True) -> None:
    from stix.serve import client

    which = ServiceComponent(target)
    if which == ServiceComponent.REPLICA and replica_id is None:
        raise ValueError("target REPLICA needs replica_id")

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    client.logs(service_name, replica=replica_id if which == ServiceComponent.REPLICA else None,
                target="load_balancer" if which == ServiceComponent.LOAD_BALANCER
                else "controller", follow=follow, write=write)
