"""A task's `config:` sets stix's user config for that task alone (SkyPilot's keys that
mean the same are mapped); every other key is named with its line and what happens."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import TaskError
from stix.task import Task, load_pipeline
from stix.task.notes import notes
from stix.task.settings import ignored, settings
from stix.user_config import for_task, load_config, where


@pytest.fixture(autouse=True)
def _no_env_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in ("STIX_SSH_CIDR", "STIX_SSH_PROXY_COMMAND"):
        monkeypatch.delenv(env, raising=False)


def _task(tmp_path: Path, text: str) -> Task:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return load_pipeline(path).tasks[0]


def test_stix_keys_are_set_and_skypilot_proxy_is_mapped(tmp_path: Path) -> None:
    task = _task(tmp_path, """\
config:
  ssh_cidr: 203.0.113.0/24
  max_hourly_cost: 3
  aws:
    ssh_proxy_command: ssh -W %h:%p bastion
run: echo
""")
    assert {s.key: s.value for s in settings(task)} == {
        "ssh_cidr": "203.0.113.0/24", "max_hourly_cost": 3,
        "ssh_proxy_command": {"aws": "ssh -W %h:%p bastion"}}
    assert ignored(task) == []
    assert notes(task) == []


def test_the_task_wins_inside_for_task_only(tmp_path: Path, stix_home: Path) -> None:
    (stix_home / "config.yaml").write_text("ssh_cidr: 10.0.0.0/8\nssh_proxy_command: ssh -W %h:%p j\n"
                                       "max_hourly_cost: 50\n")
    task = _task(tmp_path, "config:\n  ssh_cidr: [203.0.113.0/24]\n"
                           "  gcp: {ssh_proxy_command: ssh -W %h:%p g}\nrun: echo\n")
    with for_task(task):
        config = load_config()
        assert config.ssh_cidr == ["203.0.113.0/24"]
        assert config.max_hourly_cost == 50  # not set by the task: the file's
        assert config.proxy_command_for("gcp") == "ssh -W %h:%p g"
        assert config.proxy_command_for("aws") == "ssh -W %h:%p j"
        assert where("ssh_cidr") == f"config.ssh_cidr in {tmp_path / 't.yaml'}:2"
        assert where("max_hourly_cost").startswith("max_hourly_cost in ")
    assert load_config().ssh_cidr == ["10.0.0.0/8"]


def test_every_other_key_is_named_with_its_line(tmp_path: Path) -> None:
    task = _task(tmp_path, """\
config:
  engine: terraform
  kubernetes:
    pod_config: {spec: {}}
    provision_timeout: 600
  docker: {run_options: [--shm-size=1g]}
  gcp: {ssh_proxy_command: {us-central1: ssh -W %h:%p b}}
  nvidia_gpus: {disable_ecc: true}
  active_workspace: team
  colour: blue
run: echo
""")
    found = {n.field: n for n in notes(task)}
    assert set(found) == {
        "config.engine", "config.kubernetes.pod_config", "config.kubernetes.provision_timeout",
        "config.docker.run_options", "config.gcp.ssh_proxy_command",
        "config.nvidia_gpus.disable_ecc", "config.active_workspace", "config.colour"}
    assert found["config.kubernetes.pod_config"].line == 4
    assert "this machine's stix" in found["config.engine"].message
    assert "no workspaces" in found["config.active_workspace"].message
    assert "no such setting" in found["config.colour"].message
    assert settings(task) == []


@pytest.mark.parametrize(("text", "where_"), [
    ("config:\n  ssh_cidr: [nope]\n", ":2: config.ssh_cidr: 'nope' is not a CIDR"),
    ("config:\n  allowed_clouds: [mars]\n", ":2: config.allowed_clouds: 'mars' is not a cloud"),
    ("config:\n  policy: lax\n", ":2: config.policy: Input should be 'warn' or 'strict'"),
    ("config:\n  max_hourly_cost: -1\n", ":2: config.max_hourly_cost: Input should be greater"),
])
def test_a_wrong_value_is_an_error_with_field_and_line(tmp_path: Path, text: str,
                                                       where_: str) -> None:
    with pytest.raises(TaskError) as err:
        _task(tmp_path, text + "run: echo\n")
    assert where_ in str(err.value)


def test_allowed_clouds_from_the_task_bounds_the_optimizer(tmp_path: Path) -> None:
    from stix.errors import UsageError
    from stix.optimizer import optimize

    task = _task(tmp_path, "config:\n  allowed_clouds: [gcp]\nresources: {cpus: 2}\nrun: echo\n")
    assert optimize(task).chosen.cloud == "gcp"
    pinned = _task(tmp_path, "config:\n  allowed_clouds: [gcp]\n"
                             "resources: {cpus: 2, infra: aws}\nrun: echo\n")
    with pytest.raises(UsageError, match=r"config.allowed_clouds in .*t.yaml:2"):
        optimize(pinned)


def test_the_config_fixture_sets_maps_and_names() -> None:
    from conftest import FIXTURES

    task = load_pipeline(FIXTURES / "skypilot_forms" / "config_overrides.yaml").tasks[0]
    assert {s.key for s in settings(task)} == {"ssh_cidr", "max_hourly_cost",
                                               "ssh_proxy_command"}
    assert [".".join(p) for p, _ in ignored(task)] == ["config.kubernetes.provision_timeout"]
    with for_task(task):
        assert load_config().proxy_command_for("aws") == "ssh -W %h:%p jump.example"
