"""`stix server deploy`: the server's own stack, planned offline under Pulumi's mocks, and
the same stack applied by the real AWS Terraform provider against moto (the IAM policy the
machine gets is created as the plan shows it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stix.errors import UsageError
from stix.server.deploy import CLUSTER, PORT, deploy, server_task

CIDR = "203.0.113.0/24"


@pytest.fixture
def project(tmp_path: Path, stix_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from stix.stack.project import init_project

    root = tmp_path / "infra"
    init_project(root)
    monkeypatch.chdir(root)
    return root


def _graph(project: Path) -> dict[str, Any]:
    return dict(json.loads((project / "stacks" / f"{CLUSTER}.graph.json").read_text()))


def _of(graph: dict[str, Any], suffix: str) -> list[dict[str, Any]]:
    return [r for r in graph["resources"].values() if r["type"].endswith(suffix)]


def test_the_plan_shows_the_machine_its_identity_and_a_port_for_the_team_only(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STIX_SSH_CIDR", CIDR)
    said: list[str] = []
    done = deploy("aws", plan_only=True, say=said.append)
    assert done.url is None and "rolePolicy:RolePolicy  stix-server-server" in said[0]
    stack = (project / "stacks" / f"Pulumi.{CLUSTER}.yaml").read_text()
    assert "role: stix-server" in stack
    graph = _graph(project)
    [sg] = _of(graph, "securityGroup:SecurityGroup")
    assert sorted((r["fromPort"], tuple(r["cidrBlocks"])) for r in sg["inputs"]["ingress"]) == [
        (22, (CIDR,)), (30001, (CIDR,)), (PORT, (CIDR,))]  # and the services' endpoints
    [policy] = _of(graph, "rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in json.loads(policy["inputs"]["policy"])["Statement"]}
    assert statements["PassNodeRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    assert statements["OwnNodeRoles"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/managed-by": "stix"}}
    assert "iam:*" not in json.dumps(statements)
    [instance] = _of(graph, "ec2/instance:Instance")
    assert instance["inputs"]["iamInstanceProfile"]
    # a second plan keeps the identity (it is in the stack file) and changes nothing
    again: list[str] = []
    deploy("aws", plan_only=True, say=again.append)
    assert "0 to create, 0 to update, 0 to replace, 0 to delete" in again[0]


def test_refused_without_a_cidr_or_on_a_cloud_without_the_identity(project: Path) -> None:
    with pytest.raises(UsageError, match="never to the whole internet"):
        deploy("aws", plan_only=True)
    with pytest.raises(UsageError, match="not declared for gcp yet"):
        deploy("gcp", plan_only=True)
    assert not (project / "stacks" / f"Pulumi.{CLUSTER}.yaml").exists()


def test_the_task_runs_this_version_with_the_token_as_a_secret() -> None:
    from stix import __version__

    task = server_task("aws", "us-west-2")
    r = task.resources
    assert (r.cloud, r.region, [(x.start, x.end) for x in r.ports or []]) == (
        "aws", "us-west-2", [(30001, 30100), (PORT, PORT)])
    assert f"stix[pulumi,postgres]=={__version__}" in (task.setup or "")
    assert list(task.secrets) == ["STIX_SERVER_TOKEN"] and task.secrets["STIX_SERVER_TOKEN"] is None
    assert "server start --foreground" in (task.run or "")


@pytest.mark.terraform
@pytest.mark.slow
def test_the_identity_is_created_by_terraform_against_moto(tmp_path: Path, stix_home: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import boto3

    from stix.clouds.aws.identity import server_policy
    from stix.engine.base import StackSpec
    from stix.engine.terraform.engine import TerraformEngine
    from stix.server.deploy import _placement
    from stix.stack.synth import synthesize
    from stix.user_config import Config
    from tests.tf_support import (
        PUBLIC_KEY,
        moto_provider,
        moto_server,
        terraform_or_skip,
        user_data,
    )

    terraform_or_skip()
    monkeypatch.setenv("STIX_SSH_CIDR", CIDR)
    with moto_server() as url:
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        p = _placement(server_task("aws", "us-east-1"), "aws")
        p = p.model_copy(update={"image_id": ami})
        spec = StackSpec(p.cluster, tmp_path, p, program=lambda: None,
                         synthesize=lambda: synthesize(p, user_data, PUBLIC_KEY))
        engine = TerraformEngine(Config(terraform_provider=moto_provider(url)))
        assert engine.up(spec, lambda e: None).ok
        iam = boto3.client("iam", region_name="us-east-1", endpoint_url=url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        [role] = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(CLUSTER)]
        names = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
        [server] = [n for n in names if "server" in n]
        doc = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=server)["PolicyDocument"]
        assert (json.loads(doc) if isinstance(doc, str) else doc) == server_policy()
        engine.destroy(spec)
        assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(CLUSTER)]
