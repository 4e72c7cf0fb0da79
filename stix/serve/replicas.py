"""What a service's replica is where it runs: its logs on the server, its port, its
readiness probe, its address, and how many of each market a count asks for. The
controller (`stix.serve.controller`) decides; these answer."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from stix.serve.spec import ServiceSpec
from stix.serve.store import Replica


def services_home() -> Path:
    from stix.server.settings import server_home

    return server_home() / "services"


def service_dir(name: str) -> Path:
    path = services_home() / name
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def controller_log(name: str) -> Path:
    return service_dir(name) / "controller.log"


def replica_log(name: str, number: int) -> Path:
    return service_dir(name) / f"replica-{number}.log"


def replica_plan(want: int, *, spot: bool, policy: Any, spot_ready: int) -> dict[bool, int]:
    """How many on-demand (False) and spot (True) replicas to keep for `want`: all
    on-demand for an on-demand task; else `base_ondemand_fallback_replicas` on-demand and
    the rest spot, plus — with `dynamic_ondemand_fallback` — an on-demand one for each spot
    replica not ready (preempted, or still coming up)."""
    if not spot:
        return {False: want, True: 0}
    base = min(policy.base_ondemand_fallback_replicas, want)
    spot_want = want - base
    extra = max(0, spot_want - spot_ready) if policy.dynamic_ondemand_fallback else 0
    return {False: base + extra, True: spot_want}


def probe(rep: Replica, spec: ServiceSpec) -> tuple[bool, str]:
    """The readiness probe, once: (ready, why not)."""
    p = spec.readiness_probe
    url = f"http://{url_host(rep.host or '')}:{rep.port}{p.path}"
    data = json.dumps(p.post_data).encode() if p.post_data is not None else None
    headers = {"content-type": "application/json"} if data is not None else {}
    request = urllib.request.Request(url, data=data, headers={**headers, **p.headers},
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=p.timeout_seconds) as reply:
            if 200 <= reply.status < 300:
                return True, ""
            return False, f"{p.path} answered {reply.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{p.path} answered {exc.code}"
    except OSError as exc:
        return False, f"{p.path}: {getattr(exc, 'reason', exc)}"


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def port_for(task: Any, spec: ServiceSpec) -> tuple[int, bool]:
    """The replica's port, and whether it runs on this machine (a `local` replica): there
    replicas share one host, so each gets a free port of its own ($STIX_REPLICA_PORT)."""
    import socket

    from stix.clouds import registry
    from stix.serve.spec import replica_port

    pinned = task.resources.cloud
    if pinned is not None and registry.served(pinned) and (
            registry.get(pinned).capabilities.this_machine):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1]), True
    return replica_port(task, spec), False


def with_port(resources: Any, port: int) -> Any:
    """The replica's port opened to the load balancer, beside the task's own ports."""
    from stix.task.values import PortRange

    ports = list(resources.ports or [])
    if not any(r.start <= port <= r.end for r in ports):
        ports.append(PortRange(start=port, end=port))
    return resources.model_copy(update={"ports": ports})


def head_address(cluster: str) -> str:
    from stix import state

    record = state.require_cluster(state.connect(), cluster)
    head = record.nodes[0]
    if head.local_home:
        return "127.0.0.1"
    return head.ip or head.host


def free_port() -> int:
    """A port for a service's endpoint: from STIX_SERVE_PORTS (`lo-hi`, the range a
    deployed server's firewall opens) when set, else any free one."""
    import os
    import socket

    given = os.environ.get("STIX_SERVE_PORTS", "").strip()
    if given:
        lo, _, hi = given.partition("-")
        for port in range(int(lo), int(hi or lo) + 1):
            with socket.socket() as s:
                try:
                    s.bind(("", port))
                except OSError:
                    continue
                return port
        from stix.errors import StixError

        raise StixError(f"every port of STIX_SERVE_PORTS={given} is taken",
                        hint="shut a service down, or widen the range")
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])
