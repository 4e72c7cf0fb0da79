"""Task → YAML → Task is the identity, and no input escapes as anything but TaskError."""

from __future__ import annotations

import contextlib
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stix.errors import TaskError
from stix.task import Task, load_pipeline, parse_tasks
from stix.yamlio import dump

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.yaml"))
FIXTURES = sorted((Path(__file__).parent / "fixtures" / "tasks").glob("*.yaml"))


def _roundtrip(task: Task) -> Task:
    return parse_tasks(dump(task.to_yaml_dict()), "rt.yaml").tasks[0]


def test_examples_and_fixtures_round_trip() -> None:
    assert len(EXAMPLES) >= 8
    for path in EXAMPLES + FIXTURES:
        for task in load_pipeline(path).tasks:
            again = _roundtrip(task)
            assert again == task, path
            assert again.to_yaml_dict() == task.to_yaml_dict(), path


def test_rich_task_round_trips() -> None:
    text = """
name: everything
workdir: {url: https://example.com/r.git, ref: v1}
num_nodes: 3
resources:
  infra: aws/us-east-1
  accelerators: [H100:8, A100-80GB:8]
  cpus: 32+
  memory: 256+
  disk_size: 1TB
  ports: [22, 8000-8010]
  image_id: {us-east-1: ami-1}
  labels: {a: b}
  autostop: {idle_minutes: 30, down: true}
  job_recovery: {strategy: FAILOVER, recover_on_exit_codes: 3}
  any_of:
    - zone: us-east-1a
    - zone: us-east-1b
      use_spot: true
envs: {A: '1', B: null}
secrets: {S: null}
file_mounts:
  /a: ./a
  /b: {name: bkt, store: gcs, mode: COPY, persistent: false}
volumes: {/v: vol}
setup: "echo 'quoted' \\"$HOME\\""
run: |
  echo line1
  echo line2
"""
    task = parse_tasks(text, "rich.yaml").tasks[0]
    assert _roundtrip(task) == task


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)
_keys = st.sampled_from(
    ["name", "run", "setup", "num_nodes", "resources", "envs", "file_mounts", "accelerators",
     "cpus", "memory", "ports", "cloud", "infra", "any_of", "autostop", "disk_size", "x", "/mnt"]
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _values, max_size=6))
def test_arbitrary_structures_only_raise_task_error(data: dict[str, object]) -> None:
    text = yaml.safe_dump(data)
    try:
        parse_tasks(text, "fuzz.yaml")
    except TaskError as exc:
        assert exc.render().startswith("fuzz.yaml")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_raises_task_error(text: str) -> None:
    with contextlib.suppress(TaskError):
        parse_tasks(text, "fuzz.yaml")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(
    ["name: x", "run: |", "  echo", "resources:", "  cpus: 4+", "  accelerators: A100:8",
     "- a", "---", "&a [1]", "*a", "{", "}", "[", "]", ":", "!!python/name:os", "'", '"',
     "envs:", "  K: null", "\t", "file_mounts:", "  /x: s3://b"]), max_size=12))
def test_yaml_shaped_text_only_raises_task_error(lines: list[str]) -> None:
    with contextlib.suppress(TaskError):
        parse_tasks("\n".join(lines), "fuzz.yaml")
