"""Buckets outlive clusters: a persistent bucket is its own stack, made once and shared by
every cluster and pipeline task that names it, deleted only by `stix storage delete` and
never while in use. The engine is the TEST DOUBLE of tests/engine_support.py; planning,
stack files and the state DB are real."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_support import ScriptedEngine

from stix import state
from stix.cluster import stacks, storage
from stix.errors import UsageError
from stix.stack import stackfile
from stix.stack.plan import plan_task_file
from stix.stack.project import init_project
from stix.task import load_task

pytest.importorskip("pulumi_aws", reason="needs the pulumi extra (.ci/install installs it)")

TASK = """\
name: {name}
resources: {{infra: aws/us-east-1, cpus: 2+}}
file_mounts:
  /ckpt: {{name: shared-ckpts, store: s3}}
  /tmp-data: {{name: {name}-scratch, store: s3, persistent: false}}
run: echo
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root, _ = init_project(tmp_path / "proj")
    monkeypatch.chdir(root.root)
    return root.root


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> ScriptedEngine:
    double = ScriptedEngine()
    monkeypatch.setattr(stacks, "engine_for", lambda name: double)
    return double


def _up(project: Path, name: str) -> None:
    path = project / f"{name}.yaml"
    path.write_text(TASK.format(name=name))
    conn = state.connect()
    with state.cluster_lock(conn, name, "up"):
        stacks.provision(load_task(path), name, conn=conn)


def test_a_kept_bucket_is_its_own_stack_made_once(project: Path,
                                                  engine: ScriptedEngine) -> None:
    _up(project, "one")
    _up(project, "two")
    assert engine.bucket_ups == ["bucket-shared-ckpts"]  # made once, reused by the second
    spec = stackfile.read_bucket(project / "stacks" / "Pulumi.bucket-shared-ckpts.yaml")
    assert (spec.name, spec.store, spec.region) == ("shared-ckpts", "s3", "us-east-1")
    cluster = stackfile.read_file(project / "stacks" / "Pulumi.one.yaml").placement
    assert {(b.name, b.persistent) for b in cluster.buckets} == {
        ("shared-ckpts", True), ("one-scratch", False)}
    listed = storage.ls()
    assert [(b.name, b.used_by) for b in listed] == [("shared-ckpts", ["one", "two"])]


def test_a_bucket_in_use_is_not_deleted(project: Path, engine: ScriptedEngine) -> None:
    _up(project, "one")
    with pytest.raises(UsageError, match="in use by cluster"):
        storage.delete("shared-ckpts")
    assert stacks.destroy("one") is True
    assert engine.bucket_destroys == []  # down leaves the kept bucket alone
    storage.delete("shared-ckpts")
    assert engine.bucket_destroys == ["bucket-shared-ckpts"]
    assert storage.ls() == []
    assert not (project / "stacks" / "Pulumi.bucket-shared-ckpts.yaml").exists()


def test_a_pipeline_plans_the_shared_bucket_once(project: Path) -> None:
    import shutil

    from conftest import REPO

    shutil.copy(REPO / "examples" / "pipeline.yaml", project / "pipeline.yaml")
    plans = plan_task_file(project / "pipeline.yaml")
    assert [(p.cluster, p.kind) for p in plans] == [
        ("preprocess", "cluster"), ("bucket-stix-pipeline-shards", "bucket"),
        ("train", "cluster")]
    bucket_graph = plans[1].graph_text
    assert "BucketPublicAccessBlock" in bucket_graph and "forceDestroy\": false" in bucket_graph
    assert "aws:s3/bucket:Bucket" not in plans[0].graph_text  # the cluster only grants access


def test_a_changed_placement_never_replaces_the_bucket(project: Path) -> None:
    path = project / "one.yaml"
    path.write_text(TASK.format(name="one"))
    plan_task_file(path)
    again = plan_task_file(path, overrides={"cpus": "16"})
    cluster, kept = again[0], again[1]
    assert not any(c.type.startswith("aws:s3/bucket:") and c.name.startswith("bucket-")
                   for c in cluster.diff.changes)
    assert kept.diff.empty
