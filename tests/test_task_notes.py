"""Accepted means acted on, or said: fields stix does not act on are named with their line
and what happens instead; what it cannot honour is an error before anything is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import TaskError
from stix.task import load_pipeline
from stix.task.notes import NOT_YET, check, notes, task_notes


def _task(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return load_pipeline(path).tasks[0]


def test_every_field_not_acted_on_is_named_with_its_line(tmp_path: Path) -> None:
    task = _task(tmp_path, """\
name: t
service:
  readiness_probe: /health
config: {jobs: {controller: {}}}
volumes: {/data: vol}
event_callback: echo done
inputs: {s3://raw/data: 100}
outputs: {gs://out/model: 2}
resources:
  network_tier: best
  accelerator_args: {tpu_vm: true}
  job_recovery: FAILOVER
  autostop: {idle_minutes: 5, wait_for: jobs, hook: echo bye, hook_timeout: 30}
  volumes: [{path: /data, disk_size: 100}]
  ephemeral_storage: 50
  local_disk: nvme
  priority: 100
  priority_class: high
  container_image: {release: stable}
  _requires_fuse: true
pool: {workers: 2}
experimental: {other: 1}
run: echo
""")
    found = {n.field: n for n in notes(task)}
    assert set(found) == {".".join(p) for p in NOT_YET} | {
        "config.jobs.controller", "resources._requires_fuse", "resources.accelerator_args"}
    assert found["resources._requires_fuse"].line == 20
    assert found["config.jobs.controller"].line == 4
    assert found["service"].line == 2 and found["resources.job_recovery"].line == 12
    assert "inputs" not in found and "outputs" not in found  # priced by the optimizer
    assert found["resources.network_tier"].render() == (
        f"{tmp_path / 't.yaml'}:10: resources.network_tier: not acted on: "
        "each cloud's default networking is used")


def test_skypilot_container_image_ref_is_a_docker_image(tmp_path: Path) -> None:
    task = _task(tmp_path, "resources:\n  container_image: vllm/vllm-openai:v0.9\nrun: x\n")
    assert task.resources.image_id == "docker:vllm/vllm-openai:v0.9"
    assert notes(task) == []
    task = _task(tmp_path, "resources:\n  container_image: {ref: 'nvcr.io/n/p:24'}\nrun: x\n")
    assert task.resources.image_id == "docker:nvcr.io/n/p:24"
    with pytest.raises(TaskError, match="give image_id or container_image, not both"):
        _task(tmp_path, "resources:\n  container_image: a\n  image_id: docker:b\nrun: x\n")


def test_alternatives_are_read_too(tmp_path: Path) -> None:
    task = _task(tmp_path, "resources:\n  any_of:\n    - {infra: aws}\n"
                           "    - {infra: gcp, network_tier: best}\nrun: echo\n")
    assert [n.field for n in notes(task)] == ["resources.any_of.1.network_tier"]


def test_a_plain_task_has_nothing_to_say(tmp_path: Path) -> None:
    assert task_notes(_task(tmp_path, "resources: {cpus: 2}\nrun: echo\n")) == []


@pytest.mark.parametrize(("provider", "field"), [
    ("local", "ports"), ("local", "disk_size"), ("ssh", "labels"), ("kubernetes", "disk_tier"),
])
def test_what_a_provider_ignores_is_said(tmp_path: Path, provider: str, field: str) -> None:
    value = {"ports": "8080", "disk_size": "100", "labels": "{team: ml}", "disk_tier": "high"}
    task = _task(tmp_path, f"resources:\n  {field}: {value[field]}\nrun: echo\n")
    assert [n.field for n in notes(task, provider)] == [f"resources.{field}"]
    assert notes(task, "aws") == []


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure", "kubernetes", "local", "ssh"])
def test_a_container_image_is_acted_on_everywhere(tmp_path: Path, provider: str) -> None:
    task = _task(tmp_path, "resources:\n  image_id: docker:vllm/vllm-openai\nrun: echo\n")
    assert notes(task, provider) == []
    check(task, provider)  # runs in a container on the nodes (tests/test_remote_container.py)


def test_a_skypilot_image_tag_boots_the_default_image(tmp_path: Path) -> None:
    from stix.optimizer import optimize

    task = _task(tmp_path, "resources:\n  infra: aws\n  image_id:\n"
                           "    us-east-1: skypilot:gpu-ubuntu-2204\nrun: echo\n")
    (note,) = notes(task, "aws")
    assert note.field == "resources.image_id" and note.line == 3
    assert "skypilot:gpu-ubuntu-2204: SkyPilot's own image" in note.message
    placement = optimize(task, cluster="c").chosen
    assert placement.region == "us-east-1" and placement.image_id is None


@pytest.mark.parametrize(("text", "fragment"), [
    ("resources: {infra: aws, image_id: projects/p/global/images/x}", "not an AMI id"),
    ("resources: {infra: gcp, image_id: 'Canonical:ubuntu:22_04:latest'}", "not a GCP image"),
    ("resources: {infra: azure, image_id: ubuntu}", "not an Azure image"),
    ("resources: {infra: local, image_id: 'docker:ubuntu latest'}", "not a container image"),
])
def test_what_cannot_be_honoured_is_an_error_with_its_line(tmp_path: Path, text: str,
                                                           fragment: str) -> None:
    task = _task(tmp_path, text + "\nrun: echo\n")
    with pytest.raises(TaskError) as err:
        task_notes(task)
    assert fragment in str(err.value) and f"{tmp_path / 't.yaml'}:1" in str(err.value)


@pytest.mark.parametrize(("text", "fragment"), [
    ("envs: {SKYPILOT_DOCKER_USERNAME: me}",
     "envs.SKYPILOT_DOCKER_USERNAME: a private registry login needs "
     "SKYPILOT_DOCKER_PASSWORD, SKYPILOT_DOCKER_SERVER as well"),
    ("file_mounts: {'/a:b': .}", "file_mounts./a:b: '/a:b': a path shared into the "
                                 "container cannot hold ':' or ','"),
])
def test_what_a_container_cannot_take_is_an_error(tmp_path: Path, text: str,
                                                  fragment: str) -> None:
    task = _task(tmp_path, "resources: {image_id: 'docker:x'}\n" + text + "\nrun: echo\n")
    with pytest.raises(TaskError) as err:
        task_notes(task)
    assert fragment in str(err.value) and f"{tmp_path / 't.yaml'}:2" in str(err.value)


def test_a_git_workdir_is_acted_on(tmp_path: Path) -> None:
    task = _task(tmp_path, "workdir: {url: 'https://github.com/x/y', ref: main}\nrun: echo\n")
    assert task_notes(task) == []  # fetched on the nodes (tests/test_cli_cluster.py)


@pytest.mark.parametrize("image", ["ami-0123456789abcdef0", "resolve:ssm:/aws/service/x"])
def test_real_images_pass(tmp_path: Path, image: str) -> None:
    task = _task(tmp_path, f"resources: {{infra: aws, image_id: '{image}'}}\nrun: echo\n")
    assert task_notes(task) == []


def test_a_local_source_of_a_bucket_is_said_to_stay_here(tmp_path: Path) -> None:
    task = _task(tmp_path, """\
file_mounts:
  /datasets:
    name: my-bucket
    source: ~/datasets
    mode: COPY
run: echo
""")
    [said] = [n for n in notes(task) if "uploaded" in n.message]
    assert (said.field, said.line) == ("file_mounts./datasets.source", 4)
    # Into an S3-compatible bucket reached with keys, `up` uploads it (stix.remote.keyed).
    keyed = _task(tmp_path, "file_mounts:\n  /d: {name: b, store: minio, source: ~/d}\n")
    assert not [n for n in notes(keyed) if "uploaded" in n.message]
    s3 = _task(tmp_path, "file_mounts:\n  /d: {name: b, store: s3, source: ~/d}\n")
    assert not [n for n in notes(s3, "gcp") if "uploaded" in n.message]  # keyed there
    assert [n for n in notes(s3, "aws") if "uploaded" in n.message]  # AWS's own stack
