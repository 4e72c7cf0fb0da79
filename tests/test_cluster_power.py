"""`stix stop` / `stix start`: the stop is a change of the stack (each cloud's program
holds the power state), applied by the engine; the same machines and disks come back.

The end-to-end test runs the real CLI, the real Terraform AWS provider and moto server on
loopback standing in for EC2."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stack_support import placement, synth

from tests.tf_support import moto_provider, moto_server, terraform_or_skip

pytest.importorskip("pulumi_aws", reason="needs the pulumi extra (.ci/install installs it)")


def _power_inputs(cloud: str, stopped: bool) -> Any:
    where = {"aws": dict(instance_type="m6i.large", region="us-east-1", zone="us-east-1a"),
             "gcp": dict(instance_type="n2-standard-2", region="us-central1",
                         zone="us-central1-a"),
             "azure": dict(instance_type="Standard_D2s_v5", region="eastus")}[cloud]
    itype = where.pop("instance_type")
    p = placement(cloud, itype, power="stopped" if stopped else None, **where)
    return synth(p)


@pytest.mark.parametrize("stopped", [False, True])
def test_each_cloud_holds_the_power_state_in_its_stack(stopped: bool) -> None:
    aws = _power_inputs("aws", stopped)
    [state] = aws.of_type("aws:ec2transitgateway/instanceState:InstanceState")
    assert state.inputs["state"] == ("stopped" if stopped else "running")
    assert state.inputs["instanceId"] == {"$ref": "aws:ec2/instance:Instance::t-0",
                                          "attr": "id"}
    [vm] = _power_inputs("gcp", stopped).of_type("gcp:compute/instance:Instance")
    assert vm.inputs["desiredStatus"] == ("TERMINATED" if stopped else "RUNNING")
    [az] = _power_inputs("azure", stopped).of_type("azure-native:compute:VirtualMachine")
    assert az.inputs["tags"].get("stix-power") == ("stopped" if stopped else None)


def test_aws_spot_has_no_power_state_and_shutdown_follows_autodown() -> None:
    spot = synth(placement("aws", "g5.xlarge", region="us-east-1", zone="us-east-1a",
                           use_spot=True))
    assert spot.of_type("aws:ec2transitgateway/instanceState:InstanceState") == []
    assert "instanceInitiatedShutdownBehavior" not in spot.get(
        "aws:ec2/instance:Instance", "t-0").inputs
    down = synth(placement("aws", "m6i.large", region="us-east-1", zone="us-east-1a",
                           autostop_minutes=10, autostop_down=True))
    inst = down.get("aws:ec2/instance:Instance", "t-0").inputs
    assert inst["instanceInitiatedShutdownBehavior"] == "terminate"
    stop = synth(placement("aws", "m6i.large", region="us-east-1", zone="us-east-1a",
                           autostop_minutes=10))
    assert stop.get("aws:ec2/instance:Instance", "t-0").inputs[
        "instanceInitiatedShutdownBehavior"] == "stop"


def _stix(cwd: Path, home: Path, env: dict[str, str], *args: str
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stix", *args], cwd=cwd, text=True,
                          env={**os.environ, "STIX_HOME": str(home), "COLUMNS": "150", **env},
                          capture_output=True, timeout=900)


def _instances(ec2: Any, cluster: str) -> list[dict[str, Any]]:
    reply = ec2.describe_instances(Filters=[{"Name": "tag:stix-cluster", "Values": [cluster]}])
    return [i for r in reply["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] != "terminated"]


@contextlib.contextmanager
def _moto_project(tmp_path: Path,
                  stix_home: Path) -> Iterator[tuple[dict[str, str], Any, str, Path]]:
    """moto on loopback behind the Terraform engine, and a `stix init` project:
    (env for stix, an EC2 client, an AMI moto has, the project)."""
    terraform_or_skip()
    import boto3
    import yaml

    with moto_server() as url:
        env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        (stix_home / "config.yaml").write_text(yaml.safe_dump(
            {"engine": "terraform", "terraform_provider": moto_provider(url)}))
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        project = tmp_path / "proj"
        assert _stix(tmp_path, stix_home, env, "init", str(project)).returncode == 0
        yield env, ec2, ami, project


@pytest.mark.terraform
@pytest.mark.slow
def test_stop_start_with_terraform_against_moto(tmp_path: Path, stix_home: Path) -> None:
    with _moto_project(tmp_path, stix_home) as (env, ec2, ami, project):
        (project / "t.yaml").write_text(
            f"name: pw\nnum_nodes: 2\nresources:\n  infra: aws/us-east-1\n"
            f"  instance_type: m6i.large\n  image_id: {{us-east-1: {ami}}}\n"
            "  autostop: {idle_minutes: 30, down: true}\nrun: echo hi\n")
        config = stix_home / "config.yaml"
        config.write_text(config.read_text() + "max_hourly_cost: 0.05\n")
        over = _stix(project, stix_home, env, "up", "t.yaml", "--yes", "--infra-only")
        assert over.returncode != 0 and "above max_hourly_cost $0.05/h" in over.stderr
        assert _instances(ec2, "pw") == []  # refused before anything was made
        config.write_text(config.read_text().replace("max_hourly_cost: 0.05\n", ""))
        up = _stix(project, stix_home, env, "up", "t.yaml", "--yes", "--infra-only")
        assert up.returncode == 0, up.stderr
        before = {i["InstanceId"]: i for i in _instances(ec2, "pw")}
        assert len(before) == 2 and {i["State"]["Name"] for i in before.values()} == {"running"}
        # autodown's node action is an OS shutdown: the instances terminate on it (moto
        # keeps the attribute but cannot shut an OS down, so the attribute is what we check)
        for instance in before:
            attr = ec2.describe_instance_attribute(InstanceId=instance,
                                                   Attribute="instanceInitiatedShutdownBehavior")
            assert attr["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
        refused = _stix(project, stix_home, env, "autostop", "pw", "-i", "10")
        assert refused.returncode != 0 and "would delete them, not stop them" in refused.stderr
        status = json.loads(_stix(project, stix_home, env, "status", "pw", "--json").stdout)
        assert status[0]["autostop"] == {"idle_minutes": 30, "down": True,
                                         "wait_for": "jobs_and_ssh"}
        volumes = {i["InstanceId"]: [b["Ebs"]["VolumeId"] for b in i["BlockDeviceMappings"]]
                   for i in before.values()}

        stop = _stix(project, stix_home, env, "stop", "pw", "--yes")
        assert stop.returncode == 0, stop.stderr
        assert "InstanceState" in stop.stderr + stop.stdout  # the diff shows the stop
        after = {i["InstanceId"]: i for i in _instances(ec2, "pw")}
        assert set(after) == set(before)
        assert {i["State"]["Name"] for i in after.values()} == {"stopped"}
        stack = (project / "stacks" / "Pulumi.pw.yaml").read_text()
        assert "stix:power: stopped" in stack
        graph = json.loads((project / "stacks" / "pw.graph.json").read_text())
        states = [r["inputs"]["state"] for r in graph["resources"].values()
                  if r["type"].endswith("instanceState:InstanceState")]
        assert states == ["stopped", "stopped"]
        status = json.loads(_stix(project, stix_home, env, "status", "pw", "--json").stdout)
        assert status[0]["status"] == "STOPPED"
        again = _stix(project, stix_home, env, "stop", "pw", "--yes")
        assert again.returncode == 0 and "already stopped" in again.stderr

        start = _stix(project, stix_home, env, "start", "pw", "--yes")
        assert start.returncode == 0, start.stderr
        running = {i["InstanceId"]: i for i in _instances(ec2, "pw")}
        assert set(running) == set(before)  # the same machines ...
        assert {i["State"]["Name"] for i in running.values()} == {"running"}
        assert {i: [b["Ebs"]["VolumeId"] for b in r["BlockDeviceMappings"]]
                for i, r in running.items()} == volumes  # ... with the same disks
        assert "stix:power" not in (project / "stacks" / "Pulumi.pw.yaml").read_text()
        status = json.loads(_stix(project, stix_home, env, "status", "pw", "--json").stdout)
        assert status[0]["status"] == "PROVISIONED"
        hosts = {n["host"] for n in status[0]["nodes"]}
        assert hosts == {i.get("PublicIpAddress") for i in running.values()}

        # `stix up` on a stopped cluster starts it
        assert _stix(project, stix_home, env, "stop", "pw", "--yes").returncode == 0
        up = _stix(project, stix_home, env, "up", "t.yaml", "--yes", "--infra-only")
        assert up.returncode == 0, up.stderr
        assert "is stopped: starting it" in up.stderr
        assert {i["State"]["Name"] for i in _instances(ec2, "pw")} == {"running"}
        assert _stix(project, stix_home, env, "down", "pw", "--yes").returncode == 0
        # the usage ledger followed every step, and outlives the cluster
        cost = _stix(project, stix_home, env, "cost-report", "pw", "--json")
        assert cost.returncode == 0, cost.stderr
        (pw,) = json.loads(cost.stdout)["clusters"]
        assert pw["down"] is True
        assert [i["phase"] for i in pw["intervals"]] == [
            "running", "stopped", "running", "stopped", "running"]
        assert all(i["ended_at"] is not None for i in pw["intervals"])


@pytest.mark.terraform
@pytest.mark.slow
def test_status_refresh_reconciles_what_happened_behind_stix(tmp_path: Path,
                                                            stix_home: Path) -> None:
    with _moto_project(tmp_path, stix_home) as (env, ec2, ami, project):
        (project / "t.yaml").write_text(
            f"name: rc\nnum_nodes: 2\nresources:\n  infra: aws/us-east-1\n"
            f"  instance_type: m6i.large\n  image_id: {{us-east-1: {ami}}}\nrun: echo hi\n")
        assert _stix(project, stix_home, env, "up", "t.yaml", "--yes",
                     "--infra-only").returncode == 0
        ids = sorted(i["InstanceId"] for i in _instances(ec2, "rc"))

        def refreshed() -> tuple[str, str]:
            run = _stix(project, stix_home, env, "status", "rc", "--refresh")
            assert run.returncode == 0, run.stderr
            doc = json.loads(_stix(project, stix_home, env, "status", "--json").stdout)
            return (doc[0]["status"] if doc else "gone"), run.stderr + run.stdout

        ec2.stop_instances(InstanceIds=ids)  # an autostop, or someone in the console
        status, said = refreshed()
        assert status == "STOPPED" and "stopped outside stix" in said
        ec2.start_instances(InstanceIds=ids)
        status, said = refreshed()
        assert status == "PROVISIONED" and "running again" in said
        ec2.terminate_instances(InstanceIds=ids[:1])  # a preemption
        status, said = refreshed()
        assert status == "PARTIAL" and "terminated" in said
        ec2.terminate_instances(InstanceIds=ids[1:])  # an autodown
        status, said = refreshed()
        assert status == "gone"
        assert "every node is gone" in said and "removed the rest of its stack" in said
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:stix-cluster", "Values": ["rc"]}])
        assert vpcs["Vpcs"] == []  # nothing billed or tagged stays behind
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "tag:stix-cluster", "Values": ["rc"]}])["SecurityGroups"]
        assert groups == []
