"""Serving end to end on this machine: a real stix server process (its service
controller), real HAProxy in front, replicas that are `local` stix clusters each running a
small HTTP server (tests/fixtures/serve/replica.py), and a bounded load from this process.

Checked: traffic spreads; requests in flight above the target scale out and idle time
scales back in after the delays; a killed replica costs few requests and is replaced; a
rolling update under load loses no request; a version whose probe fails is rolled back; a
restarted server leaves the endpoint and the replicas alone; `min_replicas: 0` starts a
replica on the first request; down takes everything away.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stix import api
from stix.serve.models import ServiceView
from stix.server import process

REPLICA = Path(__file__).parent / "fixtures" / "serve" / "replica.py"
pytestmark = [pytest.mark.serve,
              pytest.mark.skipif(shutil.which("haproxy") is None and not Path(
                  "/usr/sbin/haproxy").exists(), reason="haproxy is not installed "
                  "(.ci/install installs Debian's)")]


def _service(tmp_path: Path, name: str, policy: str, version: int = 1,
             fail_health: bool = False) -> Path:
    path = tmp_path / f"{name}-v{version}.yaml"
    path.write_text(f"""\
name: {name}
resources:
  infra: local
envs:
  VERSION: "{version}"
  FAIL_HEALTH: "{1 if fail_health else 0}"
run: exec python3 {REPLICA}
service:
  readiness_probe:
    path: /health
    initial_delay_seconds: 20
    timeout_seconds: 2
  ports: 8080
{policy}""")
    return path


@pytest.fixture
def server(stix_home: Path) -> Iterator[process.Running]:
    running = process.start()
    yield running
    try:
        api.serve_down(None, all_services=True)
        _until(lambda: not api.serve_status(), "every service down", 90)
    finally:
        process.stop()
        _stop_balancers(stix_home)


def _stop_balancers(home: Path) -> None:
    """HAProxy runs detached (it outlives the server on purpose): end those a failed test
    left under its own home."""
    subprocess.run(["pkill", "-f", f"haproxy.*{home}"], check=False)


def _until(check: Callable[[], object], what: str, timeout: float = 90) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.3)
    views = [v.model_dump(mode="json") for v in api.serve_status()] if process.running() else []
    raise AssertionError(f"timed out waiting for {what}: {views}")


def _one(name: str) -> ServiceView:
    (view,) = api.serve_status([name])
    return view


def _ready(name: str, n: int, version: int | None = None) -> Callable[[], bool]:
    def check() -> bool:
        v = _one(name)
        ready = [r for r in v.replicas if r.status.value == "READY"
                 and (version is None or r.version == version)]
        return len(ready) >= n
    return check


def _get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except OSError as exc:
        return 0, str(exc)


class Load:
    """Requests one after another (or `width` at once) until stopped; what came back."""

    def __init__(self, url: str, width: int = 1) -> None:
        self.url, self.results = url, []  # type: ignore[var-annotated]
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(width)]

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.results.append(_get(self.url))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=30)

    @property
    def failures(self) -> list[tuple[int, str]]:
        return [r for r in self.results if r[0] != 200]


def test_a_service_serves_scales_heals_updates_and_goes(server: process.Running,
                                                        tmp_path: Path) -> None:
    policy = """\
  replica_policy:
    min_replicas: 1
    max_replicas: 3
    target_inflight_per_replica: 2
    upscale_delay_seconds: 2
    downscale_delay_seconds: 6
"""
    view = api.serve_up(_service(tmp_path, "web", policy), name="web")
    endpoint = view.endpoint
    _until(_ready("web", 1), "a ready replica")
    _until(lambda: _get(endpoint)[0] == 200, "the endpoint answering", 30)
    assert all(_get(endpoint)[0] == 200 for _ in range(20))

    # long requests in flight (streaming answers) above the target: scale out to 3
    with Load(f"{endpoint}/slow?s=3", width=6) as slow:
        _until(_ready("web", 3), "three ready replicas", 120)
        seen = {_get(endpoint)[1] for _ in range(30)}
    assert len({s for s in seen if s.startswith("replica")}) >= 2, seen  # spread
    assert not slow.failures, slow.failures[:3]
    view = _one("web")
    assert view.decision and "scale up" in view.decision and "in flight" in view.decision
    assert view.metrics["requests"] > 0 and view.metrics["p99_ms"] is not None
    busy = [r for r in view.replicas if r.requests]
    assert busy and all(r.p50_ms is not None and r.errors == 0 for r in busy)

    # idle: back to one after the downscale delay
    _until(lambda: len(_one("web").replicas) == 1 and _one("web").desired == 1,
           "scaled back in to one replica", 120)

    # a rolling update under load: no request fails, and v2 serves at the end
    with Load(endpoint, width=2) as rolling:
        api.serve_update("web", _service(tmp_path, "web", policy, version=2))
        _until(lambda: _one("web").version == 2 and all(
            r.version == 2 for r in _one("web").replicas), "version 2 everywhere", 120)
    assert not rolling.failures, rolling.failures[:5]
    assert _get(endpoint)[1].strip().endswith("v2")

    # a version whose readiness probe never passes is rolled back; v2 keeps serving
    api.serve_update("web", _bad_version(tmp_path, policy))
    _until(lambda: _one("web").target_version == _one("web").version == 2
           and "rolled back" in (_one("web").reason or ""), "the rollback", 150)
    assert _get(endpoint)[1].strip().endswith("v2")

    # the server restarts: the endpoint keeps answering meanwhile, replicas stay
    before = [(r.number, r.cluster) for r in _one("web").replicas]
    process.stop()
    assert all(_get(endpoint)[0] == 200 for _ in range(10))
    process.start()
    _until(_ready("web", 1), "the service after the restart")
    assert [(r.number, r.cluster) for r in _one("web").replicas] == before

    # down: the replicas' clusters go, then the endpoint
    assert api.serve_down(["web"]) == ["web"]
    _until(lambda: not api.serve_status(), "the service gone", 90)
    assert not [c for c in api.status() if c.name.startswith("web-")]
    assert _get(endpoint, timeout=2)[0] != 200


def _kill_replica(number: int) -> None:
    """End one replica's server, as a lost node would (found by the env it was given)."""
    import os
    import signal

    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if str(REPLICA).encode() in cmd and f"STIX_REPLICA={number}".encode() in env:
            os.kill(int(pid), signal.SIGKILL)


def test_a_dead_replica_costs_few_requests_and_is_replaced(server: process.Running,
                                                           tmp_path: Path) -> None:
    endpoint = api.serve_up(_service(tmp_path, "heal", "  replicas: 2\n"), name="heal").endpoint
    _until(_ready("heal", 2), "two ready replicas", 90)
    _until(lambda: _get(endpoint)[0] == 200, "the endpoint answering", 30)
    with Load(endpoint, width=2) as steady:
        time.sleep(1)
        _kill_replica(1)
        _until(lambda: any(r.number == 3 and r.status.value == "READY"
                           for r in _one("heal").replicas), "a replacement replica", 120)
        time.sleep(1)
    # Bound: HAProxy retries a refused connection on the other replica and takes the dead
    # one out at its first failed check, so at most a handful of requests fail.
    assert steady.results and len(steady.failures) <= 5, steady.failures[:5]
    assert sorted(r.number for r in _one("heal").replicas) == [2, 3]
    assert "replica 1" in " ".join(e["message"] for e in _one("heal").events)

    # blue-green: the whole new set comes up, traffic switches at once, nothing fails
    with Load(endpoint) as switching:  # one at a time: answers arrive in request order
        api.serve_update("heal", _service(tmp_path, "heal", "  replicas: 2\n", version=2),
                         mode="blue_green")
        _until(lambda: _one("heal").version == 2 and [r.version for r in
               _one("heal").replicas] == [2, 2], "version 2 everywhere", 120)
    assert not switching.failures, switching.failures[:5]
    answers = [text for code, text in switching.results if code == 200]
    first_v2 = next(i for i, t in enumerate(answers) if t.strip().endswith("v2"))
    assert all(t.strip().endswith("v2") for t in answers[first_v2:])  # one switch


def _bad_version(tmp_path: Path, policy: str) -> Path:
    path = _service(tmp_path, "web", policy, version=3, fail_health=True)
    text = path.read_text().replace("initial_delay_seconds: 20", "initial_delay_seconds: 3")
    path.write_text(text)
    return path


def test_min_replicas_zero_starts_on_the_first_request(server: process.Running,
                                                       tmp_path: Path) -> None:
    policy = """\
  replica_policy:
    min_replicas: 0
    max_replicas: 1
    target_qps_per_replica: 10
    upscale_delay_seconds: 1
    downscale_delay_seconds: 600
"""
    import stix as sky

    name, endpoint = sky.get(sky.serve.up(_service(tmp_path, "cold", policy),
                                          service_name="cold"))
    assert name == "cold"
    time.sleep(3)
    (row,) = sky.get(sky.serve.status("cold"))
    assert row["status"] == "NO_REPLICA" and row["replica_info"] == []
    first = _get(endpoint, timeout=5)  # no replica yet: refused, but it counts
    assert first[0] != 200
    _until(_ready("cold", 1), "a replica after the first request", 90)
    _until(lambda: _get(endpoint)[0] == 200, "the endpoint answering", 30)
    assert "cold start" in (_one("cold").decision or "")


@pytest.mark.sshd
def test_replicas_on_ssh_machines_survive_a_lost_node(
        sshd_nodes: Callable[[int], list[object]], sshd_hosts: object, stix_home: Path,
        tmp_path: Path, server: process.Running) -> None:
    """Replicas on an ssh pool of real sshd machines (network namespaces): the replica's
    code is synced with file_mounts, the load balancer reaches each machine's address;
    one machine goes away, the other keeps serving and a third takes its place."""
    import yaml
    from sshd_fixtures import kill_user_processes

    nodes = sshd_nodes(3)
    if len({n.host.address for n in nodes}) < 3:  # type: ignore[attr-defined]
        pytest.skip("needs network namespaces (three machines)")
    hosts = [{"address": n.host.address, "port": n.port, "user": n.host.user}  # type: ignore[attr-defined]
             for n in nodes]
    (stix_home / "ssh_node_pools.yaml").write_text(yaml.safe_dump(
        {"lab": {"identity_file": str(sshd_hosts.key), "hosts": hosts}}))  # type: ignore[attr-defined]
    task = tmp_path / "pool-svc.yaml"
    task.write_text(f"""\
name: pooled
resources: {{infra: ssh/lab, ports: 8080}}
file_mounts: {{~/replica.py: {REPLICA}}}
run: exec python3 ~/replica.py
service:
  readiness_probe: {{path: /health, initial_delay_seconds: 20, timeout_seconds: 2}}
  replicas: 2
""")
    endpoint = api.serve_up(task, name="pooled").endpoint
    _until(_ready("pooled", 2), "two ready replicas", 120)
    seen = {_get(endpoint)[1] for _ in range(20)}
    assert len({s for s in seen if s.startswith("replica")}) == 2, seen
    before = _one("pooled").replicas
    assert [r.number for r in before] == [1, 2]
    victim = next(n for n in nodes
                  if (before[0].endpoint or "").startswith(n.host.address + ":"))  # type: ignore[attr-defined]
    with Load(endpoint) as steady:
        victim.kill()  # type: ignore[attr-defined]
        kill_user_processes(victim.host.user)  # type: ignore[attr-defined]
        _until(lambda: [(r.number, r.status.value) for r in _one("pooled").replicas]
               == [(2, "READY"), (3, "READY")], "a replacement on the third machine", 150)
    assert steady.results and len(steady.failures) <= 5, steady.failures[:5]
    third = next(r for r in _one("pooled").replicas if r.number == 3)
    assert not (third.endpoint or "").startswith(victim.host.address + ":")  # type: ignore[attr-defined]
