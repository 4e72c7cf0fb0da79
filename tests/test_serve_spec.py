"""SkyPilot's `service:` section as stix reads it: every form it takes, and a service that
cannot work refused at validate time with its field and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import TaskError
from stix.serve.spec import ReplicaPolicy, desired_replicas, load_service
from stix.task import load_task
from stix.task.notes import task_notes

BASE = """\
name: svc
resources:
  ports: 8080
run: python -m http.server 8080
service:
"""


def _task(tmp_path: Path, service: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "svc.yaml"
    path.write_text(BASE + service)
    return load_task(path)


def test_skypilot_forms(tmp_path: Path) -> None:
    spec = load_service(_task(tmp_path, "  readiness_probe: /health\n  replicas: 2\n"))
    assert spec.readiness_probe.path == "/health" and spec.policy.min_replicas == 2
    assert spec.policy.ceiling == 2
    spec = load_service(_task(tmp_path, """\
  readiness_probe:
    path: /v1/models
    post_data: {model: m, messages: [{role: user, content: hi}]}
    headers: {Authorization: Bearer x}
    initial_delay_seconds: 30
    timeout_seconds: 5
  replica_policy:
    min_replicas: 0
    max_replicas: 4
    target_qps_per_replica: 2.5
    upscale_delay_seconds: 10
    downscale_delay_seconds: 60
    base_ondemand_fallback_replicas: 1
    dynamic_ondemand_fallback: true
  load_balancing_policy: least_load
  ports: 8080
"""))
    assert spec.readiness_probe.post_data["model"] == "m"
    assert spec.policy.min_replicas == 0 and spec.policy.ceiling == 4
    assert spec.load_balancing_policy == "least_load"


@pytest.mark.parametrize(("service", "field", "line", "fragment"), [
    ("  readiness_probe: /h\n  replica_policy: {min_replicas: 3, max_replicas: 2, "
     "target_qps_per_replica: 1}\n", "service.replica_policy", 7,
     "min_replicas (3) is more than max_replicas (2)"),
    ("  readiness_probe: health\n", "service.readiness_probe.path", 6, "absolute URL path"),
    ("  readiness_probe: /h\n  tls: {keyfile: nokey.pem, certfile: nocert.pem}\n",
     "service.tls.keyfile", 7, "nokey.pem: no such file"),
    ("  readiness_probe: /h\n  replica_policy: {min_replicas: 0, max_replicas: 2}\n",
     "service.replica_policy", 7, "min_replicas 0 needs a scaling target"),
    ("  readiness_probe: /h\n  replicas: 2\n  replica_policy: {min_replicas: 1}\n",
     "service", 5, "replicas or replica_policy, not both"),
])
def test_what_cannot_work_is_refused_with_field_and_line(
        tmp_path: Path, service: str, field: str, line: int, fragment: str) -> None:
    with pytest.raises(TaskError) as err:
        task_notes(_task(tmp_path, service))
    (problem,) = err.value.problems
    assert problem.path == field and problem.line == line and fragment in problem.message


@pytest.mark.parametrize(("ports", "port", "said"), [
    ("resources: {ports: [9090, 9091]}\n", 9090, "the replicas' port is the first, 9090"),
    ("", 8080, "no port is named: replicas serve on 8080"),
])
def test_the_replica_port_as_skypilot_picks_it(tmp_path: Path, ports: str, port: int,
                                                said: str) -> None:
    from stix.serve.spec import replica_port

    path = tmp_path / "svc.yaml"
    path.write_text(f"run: x\n{ports}service:\n  readiness_probe: /\n")
    task = load_task(path)
    assert replica_port(task, load_service(task)) == port
    assert any(said in n for n in task_notes(task))


def test_without_a_readiness_probe_replicas_are_probed_at_the_root(tmp_path: Path) -> None:
    task = _task(tmp_path, "  replicas: 2\n")
    assert load_service(task).readiness_probe.path == "/"
    assert any("no readiness_probe: a replica is ready when / answers 2xx" in n
               for n in task_notes(task))


def test_a_valid_service_is_said_to_be_for_serve_up(tmp_path: Path) -> None:
    (note,) = task_notes(_task(tmp_path, "  readiness_probe: /health\n"))
    assert "`stix serve up` runs it as a service" in note


@pytest.mark.parametrize(("qps", "inflight", "want"), [
    (0, 0, 0), (0.1, 0, 1), (5, 0, 2), (100, 0, 4), (0, 7, 2), (3, 9, 3),
])
def test_desired_replicas_takes_the_larger_need(qps: float, inflight: float, want: int) -> None:
    policy = ReplicaPolicy(min_replicas=0, max_replicas=4, target_qps_per_replica=2.5,
                           target_inflight_per_replica=4)
    assert desired_replicas(policy, qps=qps, inflight=inflight) == want


def test_the_ssh_port_is_not_a_replica_port(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="cannot be 22"):
        task_notes(_task(tmp_path, "  readiness_probe: /h\n  ports: 22\n"))


@pytest.mark.parametrize(("spot", "base", "dynamic", "ready", "want"), [
    (False, 0, False, 0, {False: 3, True: 0}),
    (True, 0, False, 0, {False: 0, True: 3}),
    (True, 1, False, 0, {False: 1, True: 2}),
    (True, 1, True, 0, {False: 3, True: 2}),  # no spot ready yet: on-demand covers them
    (True, 1, True, 2, {False: 1, True: 2}),  # spot back: the fallback ones go
    (True, 5, True, 0, {False: 3, True: 0}),  # the floor never exceeds what is wanted
])
def test_the_spot_policy(spot: bool, base: int, dynamic: bool, ready: int,
                         want: dict[bool, int]) -> None:
    from stix.serve.replicas import replica_plan

    policy = ReplicaPolicy(min_replicas=3, max_replicas=3,
                           base_ondemand_fallback_replicas=base,
                           dynamic_ondemand_fallback=dynamic)
    assert replica_plan(3, spot=spot, policy=policy, spot_ready=ready) == want


def test_skypilot_serve_settings_stix_lacks_are_reported_not_refused(tmp_path: Path) -> None:
    task = _task(tmp_path, """\
  readiness_probe: {path: /h, period_seconds: 10}
  port: 8080
  load_balancing_policy: instance_aware_least_load
  replica_policy:
    min_replicas: 1
    max_replicas: 3
    num_overprovision: 1
    base_on_demand_fallback_replicas: 1
    dynamic_on_demand_fallback: true
""")
    spec = load_service(task)
    policy = spec.policy
    assert spec.ports == 8080 and spec.load_balancing_policy == "least_load"
    assert policy.base_ondemand_fallback_replicas == 1 and policy.dynamic_ondemand_fallback
    assert policy.ceiling == 1  # no target to scale on: SkyPilot keeps min_replicas too
    notes = {n.split(": not acted on: ")[0].split(": ", 1)[1]: n for n in task_notes(task)}
    assert set(notes) >= {"service.readiness_probe.period_seconds",
                          "service.replica_policy.num_overprovision",
                          "service.replica_policy.max_replicas",
                          "service.load_balancing_policy"}
    assert f"{tmp_path / 'svc.yaml'}:12:" in notes["service.replica_policy.num_overprovision"]


def test_endpoint_ports_come_from_the_range_a_deployed_server_opens(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from stix.errors import StixError
    from stix.serve.replicas import free_port
    from stix.server.deploy import SERVE_PORTS, server_task

    with socket.socket() as taken:
        taken.bind(("", 0))
        port = taken.getsockname()[1]
        monkeypatch.setenv("STIX_SERVE_PORTS", f"{port}-{port + 1}")
        assert free_port() == port + 1  # the first is in use
        monkeypatch.setenv("STIX_SERVE_PORTS", f"{port}-{port}")
        with pytest.raises(StixError, match="is taken"):
            free_port()
    task = server_task("aws")
    assert task.envs["STIX_SERVE_PORTS"] == SERVE_PORTS
    lo, hi = (int(p) for p in SERVE_PORTS.split("-"))
    assert any(r.start == lo and r.end == hi for r in task.resources.ports or [])
