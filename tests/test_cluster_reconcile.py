"""Reconciliation asks the cloud (EC2 on moto server, a real API on loopback) what the
cluster's nodes are; the engine is the TEST DOUBLE of tests/engine_support.py, the state
DB, the planner and the AWS node reader are real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_support import ScriptedEngine

from stix import state
from stix.cluster import jobs, stacks
from stix.cluster.reconcile import reconcile
from stix.errors import StixError
from stix.stack.project import init_project
from stix.state import ClusterStatus
from stix.task import load_task
from tests.tf_support import moto_server

pytest.importorskip("pulumi_aws", reason="needs the pulumi extra (.ci/install installs it)")
TASK = "name: rc\nnum_nodes: 2\nresources:\n  infra: aws/us-east-1\n  cpus: 2\nrun: echo\n"


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3

    with moto_server() as url:
        for k, v in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
                     "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            monkeypatch.setenv(k, v)
        yield boto3.client("ec2", region_name="us-east-1")


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ScriptedEngine:
    root, _ = init_project(tmp_path / "proj")
    monkeypatch.chdir(root.root)
    double = ScriptedEngine()
    monkeypatch.setattr(stacks, "engine_for", lambda name: double)
    (root.root / "t.yaml").write_text(TASK)
    conn = state.connect()
    with state.cluster_lock(conn, "rc", "up"):
        stacks.provision(load_task(root.root / "t.yaml"), "rc", conn=conn)
    return double


def _instances(ec2: Any, names: list[str]) -> list[str]:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = []
    for name in names:
        reply = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[{
            "ResourceType": "instance",
            "Tags": [{"Key": "stix-cluster", "Value": "rc"}, {"Key": "Name", "Value": name}]}])
        ids.append(reply["Instances"][0]["InstanceId"])
    return ids


def _status() -> ClusterStatus | None:
    record = state.get_cluster(state.connect(), "rc")
    return None if record is None else record.status


def test_stopped_behind_stix_is_recorded_and_exec_says_so(ec2: Any,
                                                          engine: ScriptedEngine) -> None:
    ids = _instances(ec2, ["rc-0", "rc-1"])
    running = reconcile("rc")
    assert running.after == ClusterStatus.PROVISIONED and not running.changed
    # the cloud's addresses replace the recorded ones
    hosts = {n.host for n in state.require_cluster(state.connect(), "rc").nodes}
    public = {i["PublicIpAddress"] for r in ec2.describe_instances(InstanceIds=ids)[
        "Reservations"] for i in r["Instances"]}
    assert hosts == public
    ec2.stop_instances(InstanceIds=ids)
    done = reconcile("rc")
    assert done.after == ClusterStatus.STOPPED and "stopped outside stix" in done.notes[0]
    with pytest.raises(StixError, match="is stopped; `stix start rc`"):
        jobs.exec_task("rc", command="echo hi")
    ec2.start_instances(InstanceIds=ids)
    assert reconcile("rc").after == ClusterStatus.PROVISIONED


def test_one_node_gone_is_partial_all_gone_removes_the_rest(ec2: Any,
                                                             engine: ScriptedEngine) -> None:
    ids = _instances(ec2, ["rc-0", "rc-1"])
    ec2.terminate_instances(InstanceIds=ids[:1])
    partial = reconcile("rc")
    assert partial.after == ClusterStatus.PARTIAL and "rc-0 terminated" in partial.notes[0]
    ec2.terminate_instances(InstanceIds=ids[1:])
    kept = reconcile("rc", cleanup=False)
    assert kept.after == ClusterStatus.TERMINATED and engine.destroys == []
    gone = reconcile("rc")
    assert gone.after is None and gone.removed == 9 and len(engine.destroys) == 1
    assert "removed the rest of its stack (9 resources)" in gone.notes[-1]
    assert _status() is None


def test_unreachable_nodes_are_explained_by_the_cloud(ec2: Any, engine: ScriptedEngine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "CONNECT_TIMEOUT", 1.0)
    with pytest.raises(StixError) as info:  # no instance left in the cloud at all
        jobs.exec_task("rc", command="echo hi")
    assert "the cloud says cluster rc is TERMINATED" in str(info.value)
    assert _status() == ClusterStatus.TERMINATED  # recorded; the rest waits for `down`
    with pytest.raises(StixError, match="has no node left; `stix down rc`"):
        jobs.exec_task("rc", command="echo hi")
