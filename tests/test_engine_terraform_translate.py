"""Graph → Terraform JSON, on graphs from the real AWS program under Pulumi's mocks."""

from __future__ import annotations

import json
from pathlib import Path
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


HOSTILE_TAGS = {'${file("/etc/hostname")}': "k", "v": '${file("/etc/hostname")}',
                "%{ if true }t%{ endif }": "%{ for x in [1] }y%{ endfor }", "$${x}": "$$${x}"}


def _tagged_bucket() -> Graph:
    g = Graph(stack="x", program="aws")
    g.add(Resource("pulumi:providers:aws", "default", {"region": "us-east-1"}))
    g.add(Resource("aws:s3/bucket:Bucket", "b", {"bucket": "stix-escape-test",
                                                  "tags": HOSTILE_TAGS}))
    return g


def test_map_keys_are_escaped_like_values() -> None:
    tags = to_terraform(_tagged_bucket())["resource"]["aws_s3_bucket"]["b"]["tags"]
    assert tags == {'$${file("/etc/hostname")}': "k", "v": '$${file("/etc/hostname")}',
                    "%%{ if true }t%%{ endif }": "%%{ for x in [1] }y%%{ endfor }",
                    "$$${x}": "$$$${x}"}


@pytest.mark.terraform
def test_terraform_tags_what_the_graph_says_against_moto(tmp_path: Path) -> None:
    """The issue's attack, with the real provider: a tag key `${file(...)}` must reach S3 as
    those very characters, never as the file's content."""
    import subprocess

    import boto3

    from stix.engine.terraform.engine import TerraformEngine
    from stix.user_config import Config
    from tests.tf_support import moto_provider, moto_server, terraform_or_skip

    terraform_or_skip()
    with moto_server() as url:
        doc = to_terraform(_tagged_bucket(), moto_provider(url))
        (tmp_path / "main.tf.json").write_text(json.dumps(doc))
        env = TerraformEngine(Config())._env(tmp_path)
        for argv in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
            done = subprocess.run(["terraform", *argv, "-no-color"], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        got = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(
            Bucket="stix-escape-test")["TagSet"]}
        # moto's S3 drops the `%{ ... }` tag (characters S3 does not take); the rest arrive.
        assert got == {k: v for k, v in HOSTILE_TAGS.items() if "%" not in k}
        state = json.loads((tmp_path / "terraform.tfstate").read_text())
        (bucket,) = [r for r in state["resources"] if r["type"] == "aws_s3_bucket"]
        assert bucket["instances"][0]["attributes"]["tags"] == got  # read back from S3
        assert Path("/etc/hostname").read_text().strip() not in json.dumps(state["resources"])
