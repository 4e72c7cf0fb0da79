"""Graph → Terraform JSON, on graphs from the real AWS program under Pulumi's mocks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stix.engine.terraform.translate import TranslationError, snake, to_terraform
from stix.stack.graph import Graph, Resource
from tests.tf_support import PUBLIC_KEY, VARIANTS, user_data


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    from stix.stack.synth import synthesize

    return {name: to_terraform(synthesize(p, user_data, PUBLIC_KEY))
            for name, p in VARIANTS.items()}


@pytest.mark.parametrize(("camel", "snake_"), [
    ("instanceType", "instance_type"), ("vpcSecurityGroupIds", "vpc_security_group_ids"),
    ("cidrBlock", "cidr_block"), ("id", "id"), ("publicIp", "public_ip"),
    ("enableDnsHostnames", "enable_dns_hostnames"), ("arn", "arn"),
])
def test_snake(camel: str, snake_: str) -> None:
    assert snake(camel) == snake_


def test_instances_references_and_escaping(docs: dict[str, dict[str, Any]]) -> None:
    doc = docs["multinode"]
    instances = doc["resource"]["aws_instance"]
    assert len(instances) == 4
    node = instances["tf-0"]
    assert node["instance_type"] == "p4d.24xlarge"
    assert node["subnet_id"] == "${aws_subnet.tf-subnet.id}"
    assert node["vpc_security_group_ids"] == ["${aws_security_group.tf-sg.id}"]
    # Shell/template syntax in user-data reaches the node unchanged.
    assert "echo $${HOME} %%{x} 0" in node["user_data"]
    # Map keys are user data, not field names.
    assert node["tags"]["stix-cluster"] == "tf"
    assert doc["provider"]["aws"] == {"region": "us-east-1"}


def test_spot_and_root_volume(docs: dict[str, dict[str, Any]]) -> None:
    node = docs["spot"]["resource"]["aws_instance"]["tf-0"]
    assert node["instance_market_options"]["market_type"] == "spot"
    assert node["root_block_device"]["volume_size"] == 256


def test_security_group_rules_complete(docs: dict[str, dict[str, Any]]) -> None:
    sg = docs["ports"]["resource"]["aws_security_group"]["tf-sg"]
    ports = sorted((r["from_port"], r["to_port"]) for r in sg["ingress"] if r["protocol"] == "tcp")
    assert (22, 22) in ports and (8000, 8000) in ports and (9000, 9010) in ports
    for rule in sg["ingress"] + sg["egress"]:
        assert set(rule) >= {"cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids",
                             "security_groups", "self", "description"}


def test_route_block_renamed(docs: dict[str, dict[str, Any]]) -> None:
    rt = next(iter(docs["cpu"]["resource"]["aws_route_table"].values()))
    assert "route" in rt and "routes" not in rt


def test_bucket_policy_references_embedded_in_string(docs: dict[str, dict[str, Any]]) -> None:
    policies = docs["bucket"]["resource"]["aws_iam_role_policy"]
    text = json.dumps(policies)
    assert "${aws_s3_bucket." in text and ".arn}" in text
    assert docs["bucket"]["resource"]["aws_s3_bucket"]


def test_outputs_keep_their_keys(docs: dict[str, dict[str, Any]]) -> None:
    out = docs["multinode"]["output"]
    nodes = out["nodes"]["value"]
    assert len(nodes) == 4 and nodes[0]["public_ip"] == "${aws_instance.tf-0.public_ip}"


def test_unknown_type_is_a_clear_error() -> None:
    g = Graph(stack="x", program="aws")
    g.add(Resource("aws:lambda/function:Function", "f", {}))
    with pytest.raises(TranslationError, match="no mapping for aws:lambda/function:Function"):
        to_terraform(g)


def test_names_are_valid_terraform_identifiers() -> None:
    g = Graph(stack="x", program="aws")
    g.add(Resource("aws:ec2/vpc:Vpc", "9lives", {"cidrBlock": "10.0.0.0/16"}))
    g.add(Resource("aws:ec2/subnet:Subnet", "a.b", {"vpcId": {"$ref": "aws:ec2/vpc:Vpc::9lives",
                                                               "attr": "id"}}))
    doc = to_terraform(g)
    assert "r_9lives" in doc["resource"]["aws_vpc"]
    assert doc["resource"]["aws_subnet"]["a_b"]["vpc_id"] == "${aws_vpc.r_9lives.id}"


def test_configured_backend_gets_the_clusters_state_path() -> None:
    from stix.engine.terraform.engine import backend_block
    from stix.errors import UsageError

    assert backend_block(None, "c") is None
    assert backend_block({"s3": {"bucket": "b", "region": "us-east-1"}}, "c") == {
        "s3": {"bucket": "b", "region": "us-east-1", "key": "stix/c.tfstate"}}
    assert backend_block({"gcs": {"bucket": "b"}}, "c") == {"gcs": {"bucket": "b",
                                                                   "prefix": "stix/c"}}
    assert backend_block({"s3": {"bucket": "b", "key": "mine"}}, "c") == {
        "s3": {"bucket": "b", "key": "mine"}}
    with pytest.raises(UsageError):
        backend_block({"s3": {}, "gcs": {}}, "c")
