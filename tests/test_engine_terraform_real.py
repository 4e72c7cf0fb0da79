"""The AWS program checked by the REAL AWS Terraform provider: `terraform validate` for
every variant, and apply/destroy against moto server on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from stix.engine.base import ClusterBusyError, EngineError, ResourceEvent, StackSpec
from stix.engine.terraform.engine import TerraformEngine, workdir
from stix.user_config import Config
from tests.tf_support import (
    PUBLIC_KEY,
    VARIANTS,
    moto_provider,
    moto_server,
    placement,
    terraform_or_skip,
    user_data,
)

pytestmark = pytest.mark.terraform


def spec_for(p, tmp_path: Path) -> StackSpec:  # type: ignore[no-untyped-def]
    from stix.stack.synth import synthesize

    return StackSpec(p.cluster, tmp_path, p, program=lambda: None,
                     synthesize=lambda: synthesize(p, user_data, PUBLIC_KEY))


def assert_valid(directory: Path) -> None:
    """`terraform init` (offline, from the provider mirror) and `validate` pass there."""
    env = TerraformEngine(Config())._env(directory)
    binary = shutil.which("terraform") or shutil.which("tofu")
    assert binary
    init = subprocess.run([binary, "init", "-input=false", "-no-color"], cwd=directory,
                          env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stdout + init.stderr
    check = subprocess.run([binary, "validate", "-json"], cwd=directory, env=env,
                           capture_output=True, text=True, timeout=120)
    result = json.loads(check.stdout)
    assert result["valid"], json.dumps(result["diagnostics"], indent=1)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_passes_terraform_validate(variant: str, tmp_path: Path) -> None:
    terraform_or_skip()
    engine = TerraformEngine(Config())
    spec = spec_for(VARIANTS[variant].model_copy(update={"cluster": f"v-{variant}"}), tmp_path)
    out = tmp_path / "tf"
    engine.export(spec, out)
    assert_valid(out)


def test_a_kept_buckets_stack_passes_terraform_validate(tmp_path: Path) -> None:
    from stix.buckets import BucketSpec
    from stix.cluster.storage import bucket_stack

    terraform_or_skip()
    spec = BucketSpec(name="stix-tf-kept", store="s3", cloud="aws", region="us-east-1",
                      labels={"stix-bucket": "stix-tf-kept"})
    out = tmp_path / "tf"
    TerraformEngine(Config()).export(bucket_stack(tmp_path, spec), out)
    assert_valid(out)


@pytest.fixture
def moto(tmp_path: Path):  # type: ignore[no-untyped-def]
    terraform_or_skip()
    with moto_server() as url:
        yield url


def _boto(service: str, url: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(service, region_name="us-east-1", endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _moto_ami(url: str) -> str:
    return str(_boto("ec2", url).describe_images(Owners=["amazon"])["Images"][0]["ImageId"])


@pytest.mark.slow
def test_apply_and_destroy_against_moto(moto: str, tmp_path: Path) -> None:
    from stix.placement import Bucket

    p = placement(cluster="tfe2e", num_nodes=3, image_id=_moto_ami(moto), ports=[8888],
                  buckets=[Bucket(store="s3", name="stix-e2e-bucket", mount_path="/data",
                                   persistent=False)])  # dies with the cluster
    engine = TerraformEngine(Config(terraform_provider=moto_provider(moto)))
    spec = spec_for(p, tmp_path)
    events: list[ResourceEvent] = []
    result = engine.up(spec, events.append)
    assert result.ok and result.changes.get("create", 0) >= 10
    assert any(e.kind == "done" and e.type == "aws_instance" for e in events)
    nodes = result.outputs["nodes"]
    assert [n["name"] for n in nodes] == ["tfe2e-0", "tfe2e-1", "tfe2e-2"]
    assert all(n["private_ip"] for n in nodes)

    ec2 = _boto("ec2", moto)
    running = [i for r in ec2.describe_instances(Filters=[
        {"Name": "tag:stix-cluster", "Values": ["tfe2e"]},
        {"Name": "instance-state-name", "Values": ["running", "pending"]}])["Reservations"]
        for i in r["Instances"]]
    assert len(running) == 3
    assert {i["InstanceType"] for i in running} == {"m6i.large"}
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:stix-cluster", "Values": ["tfe2e"]}])["Vpcs"]
    assert len(vpcs) == 1
    sgs = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]},
                 {"Name": "tag:stix-cluster", "Values": ["tfe2e"]}])["SecurityGroups"]
    assert len(sgs) == 1 and sgs[0]["GroupName"].startswith("tfe2e-sg-")
    opened = sorted({(r["FromPort"], r["ToPort"]) for g in sgs for r in g["IpPermissions"]
                     if r.get("IpProtocol") == "tcp"})
    assert opened == [(22, 22), (8888, 8888)]  # SSH and the task's port, nothing else
    assert "stix-e2e-bucket" in [b["Name"] for b in _boto("s3", moto).list_buckets()["Buckets"]]
    assert engine.outputs(spec)["head_ip"] is not None

    engine.destroy(spec)
    left = [i for r in ec2.describe_instances(Filters=[
        {"Name": "tag:stix-cluster", "Values": ["tfe2e"]},
        {"Name": "instance-state-name", "Values": ["running", "pending", "stopped"]}])[
        "Reservations"] for i in r["Instances"]]
    assert left == []
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:stix-cluster", "Values": ["tfe2e"]}])[
        "Vpcs"] == []
    assert "stix-e2e-bucket" not in [b["Name"] for b in _boto("s3", moto).list_buckets()["Buckets"]]
    engine.destroy(spec)  # twice is fine
    engine.remove(spec)
    assert not workdir("tfe2e").exists()


@pytest.mark.slow
def test_failed_apply_is_cleaned_by_destroy(moto: str, tmp_path: Path) -> None:
    p = placement(cluster="tfhalf", image_id="ami-does-not-exist")
    engine = TerraformEngine(Config(terraform_provider=moto_provider(moto)))
    spec = spec_for(p, tmp_path)
    with pytest.raises(EngineError) as info:
        engine.up(spec)
    assert "terraform apply failed" in str(info.value)
    state = json.loads((workdir("tfhalf") / "terraform.tfstate").read_text())
    assert any(r["type"] == "aws_vpc" for r in state["resources"])  # half-way
    engine.destroy(spec)
    state = json.loads((workdir("tfhalf") / "terraform.tfstate").read_text())
    assert [r for r in state["resources"] if r["mode"] == "managed"] == []
    ec2 = _boto("ec2", moto)
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:stix-cluster", "Values": ["tfhalf"]}])[
        "Vpcs"] == []


@pytest.mark.slow
def test_second_concurrent_operation_is_refused(moto: str, tmp_path: Path) -> None:
    p = placement(cluster="tflock", image_id=_moto_ami(moto))
    engine = TerraformEngine(Config(terraform_provider=moto_provider(moto)))
    spec = spec_for(p, tmp_path)
    graph = spec.synthesize()  # type: ignore[misc]
    spec.synthesize = lambda: graph
    started = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            engine.up(spec, lambda e: started.set())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=first)
    t.start()
    while not started.wait(1):
        assert t.is_alive(), f"the first up ended early: {errors}"
    with pytest.raises(ClusterBusyError, match="state lock"):
        engine.up(spec)
    t.join(300)
    assert not errors
    engine.destroy(spec)


AWS_EXAMPLE_STACKS = sorted(
    p for p in (Path(__file__).parent.parent / "stacks").glob("Pulumi.*.yaml")
    if "stix:cloud: aws" in p.read_text()
)


def test_there_are_aws_example_stacks() -> None:
    assert len(AWS_EXAMPLE_STACKS) >= 2


def test_aws_example_stacks_export_and_validate(tmp_path: Path) -> None:
    """`stix export CLUSTER` of every committed AWS example stack, each a module of one
    root that Terraform inits once (the provider is copied once) and validates whole; a
    diagnostic names the module, hence the stack."""
    import os
    import sys

    terraform_or_skip()
    root = tmp_path / "all"
    modules = {}
    for stack in AWS_EXAMPLE_STACKS:
        cluster = stack.name.removeprefix("Pulumi.").removesuffix(".yaml")
        export = subprocess.run([sys.executable, "-m", "stix", "export", cluster,
                                 str(root / cluster)], cwd=stack.parent.parent,
                                env=dict(os.environ), capture_output=True, text=True,
                                timeout=300)
        assert export.returncode == 0, f"{cluster}: {export.stderr}"
        modules[cluster.replace(".", "_")] = {"source": f"./{cluster}"}
    (root / "main.tf.json").write_text(json.dumps({"module": modules}))
    assert_valid(root)
