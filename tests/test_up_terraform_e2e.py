"""`stix up --engine terraform` end to end on a multi-node AWS task with buckets: the real
CLI, the real optimizer/planner/synthesis, the real Terraform AWS provider, and moto server
on loopback standing in for AWS. Then `stix status` and `stix destroy`: nothing of the
cluster is left, the persistent bucket and its objects are, and `stix storage delete`
removes them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tf_support import moto_provider, moto_server, terraform_or_skip

pytestmark = [pytest.mark.terraform, pytest.mark.slow]


def stix(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STIX_HOME": str(home), "COLUMNS": "150"}
    return subprocess.run([sys.executable, "-m", "stix", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def _boto(service: str, url: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(service, region_name="us-east-1", endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_up_status_destroy_with_terraform_against_moto(tmp_path: Path, stix_home: Path) -> None:
    terraform_or_skip()
    import yaml

    with moto_server() as url:
        (stix_home / "config.yaml").write_text(yaml.safe_dump(
            {"engine": "terraform", "terraform_provider": moto_provider(url)}))
        ami = _boto("ec2", url).describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        project = tmp_path / "proj"
        assert stix(tmp_path, stix_home, "init", str(project)).returncode == 0
        task = project / "train.yaml"
        task.write_text(f"""
name: e2e
num_nodes: 2
resources:
  infra: aws/us-east-1
  instance_type: m6i.large
  image_id: {{us-east-1: {ami}}}
  ports: 8080
file_mounts:
  /data:
    name: stix-e2e-data
    store: s3
  /scratch:
    name: stix-e2e-scratch
    store: s3
    persistent: false
run: echo hi
""")
        up = stix(project, stix_home, "up", "train.yaml", "--yes", "--infra-only")
        assert up.returncode == 0, up.stderr
        assert (project / "stacks" / "Pulumi.e2e.yaml").is_file()
        assert (project / "stacks" / "e2e.graph.json").is_file()

        ec2 = _boto("ec2", url)
        instances = [i for r in ec2.describe_instances(Filters=[
            {"Name": "tag:stix-cluster", "Values": ["e2e"]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
            for i in r["Instances"]]
        assert sorted(i["InstanceType"] for i in instances) == [
            "m6i.large", "m6i.large"]
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:stix-cluster", "Values": ["e2e"]}])["Vpcs"]
        assert len(vpcs) == 1
        sg = ec2.describe_security_groups(Filters=[
            {"Name": "tag:stix-cluster", "Values": ["e2e"]}])["SecurityGroups"]
        tcp = sorted((p["FromPort"], p["ToPort"]) for g in sg for p in g["IpPermissions"]
                     if p["IpProtocol"] == "tcp")
        assert tcp == [(22, 22), (8080, 8080)]
        s3 = _boto("s3", url)
        assert {"stix-e2e-data", "stix-e2e-scratch"} <= {b["Name"] for b in
                                                         s3.list_buckets()["Buckets"]}
        assert (project / "stacks" / "Pulumi.bucket-stix-e2e-data.yaml").is_file()
        for bucket in ("stix-e2e-data", "stix-e2e-scratch"):  # data a job wrote
            s3.put_object(Bucket=bucket, Key="ckpt/step-1.pt", Body=b"weights")
        block = s3.get_public_access_block(Bucket="stix-e2e-data")
        assert all(block["PublicAccessBlockConfiguration"].values())
        sse = s3.get_bucket_encryption(Bucket="stix-e2e-data")["ServerSideEncryptionConfiguration"]
        assert sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

        status = stix(project, stix_home, "status", "e2e", "--json")
        assert status.returncode == 0, status.stderr
        record = json.loads(status.stdout)[0]
        assert record["provider"] == "aws" and len(record["nodes"]) == 2
        assert record["engine"] == "terraform" and record["status"] == "PROVISIONED"
        assert record["hourly_price"] > 0

        down = stix(project, stix_home, "destroy", "e2e", "--yes")
        assert down.returncode == 0, down.stderr
        left = [i for r in ec2.describe_instances(Filters=[
            {"Name": "tag:stix-cluster", "Values": ["e2e"]},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}])[
            "Reservations"] for i in r["Instances"]]
        assert left == []
        assert ec2.describe_vpcs(Filters=[{"Name": "tag:stix-cluster",
                                           "Values": ["e2e"]}])["Vpcs"] == []
        left_buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert "stix-e2e-scratch" not in left_buckets  # persistent: false, emptied with it
        assert "stix-e2e-data" in left_buckets  # persistent: outlives the cluster ...
        assert s3.get_object(Bucket="stix-e2e-data", Key="ckpt/step-1.pt")["Body"].read() == (
            b"weights")  # ... with its data
        kept = json.loads(stix(project, stix_home, "storage", "ls", "--json").stdout)
        assert [(b["name"], b["used_by"]) for b in kept] == [("stix-e2e-data", [])]
        gone = stix(project, stix_home, "storage", "delete", "stix-e2e-data", "--yes")
        assert gone.returncode == 0, gone.stderr
        assert "stix-e2e-data" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert json.loads(stix(project, stix_home, "storage", "ls", "--json").stdout) == []
        assert json.loads(stix(project, stix_home, "status", "--json").stdout) == []
        again = stix(project, stix_home, "destroy", "e2e", "--yes")
        assert again.returncode == 0 and "does not exist" in again.stderr + again.stdout
        # The stack config stays (reviewable history) unless --purge.
        assert (project / "stacks" / "Pulumi.e2e.yaml").is_file()
