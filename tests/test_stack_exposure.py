"""Who may reach a stack, read from the synthesized graph of every cloud (and the
Terraform JSON where the cloud has one): ssh_cidrs decide the rules, and the exposure
findings name every rule open to everyone, every public address and public bucket."""

from __future__ import annotations

from typing import Any

import pytest
from stack_support import placement, synth

from stix.clouds.common import ProgramError
from stix.stack.exposure import enforce, findings
from stix.stack.graph import Graph, Resource

pytest.importorskip("pulumi_aws", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

LIMITED = ["10.0.0.0/8", "203.0.113.7/32"]
CLOUDS = {
    "aws": dict(instance_type="m6i.2xlarge", region="us-east-1", zone="us-east-1a"),
    "gcp": dict(instance_type="n2-standard-8", region="us-central1", zone="us-central1-a"),
    "azure": dict(instance_type="Standard_D8s_v5", region="eastus"),
}


def _graph(cloud: str, **extra: Any) -> Graph:
    where = dict(CLOUDS[cloud])
    itype = where.pop("instance_type")
    return synth(placement(cloud, itype, ports=[8000], extra=extra, **where))


def _kinds(graph: Graph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in findings(graph):
        out.setdefault(f.kind, []).append(f.text)
    return out


def _rule_sources(cloud: str, graph: Graph) -> list[list[str]]:
    if cloud == "aws":
        sg = graph.of_type("aws:ec2/securityGroup:SecurityGroup")[0]
        return [r["cidrBlocks"] for r in sg.inputs["ingress"] if "cidrBlocks" in r]
    if cloud == "gcp":
        return [fw.inputs["sourceRanges"] for fw in graph.of_type("gcp:compute/firewall:Firewall")]
    nsg = graph.of_type("azure-native:network:NetworkSecurityGroup")[0]
    return [r["sourceAddressPrefixes"] for r in nsg.inputs["securityRules"]]


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_default_is_open_and_flagged(cloud: str) -> None:
    graph = _graph(cloud)
    assert all(src == ["0.0.0.0/0"] for src in _rule_sources(cloud, graph))
    kinds = _kinds(graph)
    assert any("22" in t and "0.0.0.0/0" in t for t in kinds["open"]), kinds
    assert any("8000" in t for t in kinds["open"]), kinds
    assert len(kinds["public_ip"]) == 1
    assert "public_bucket" not in kinds


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_ssh_cidrs_decide_every_rule(cloud: str) -> None:
    graph = _graph(cloud, ssh_cidrs=LIMITED)
    sources = _rule_sources(cloud, graph)
    assert sources and all(sorted(src) == sorted(LIMITED) for src in sources)
    assert "open" not in _kinds(graph)


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_private_has_no_public_address(cloud: str) -> None:
    extra: dict[str, Any] = {"private": True, "ssh_cidrs": ["10.0.0.0/8"]}
    if cloud == "aws":
        extra.update(vpc_id="vpc-1", subnet_id="subnet-1")
    if cloud == "gcp":
        extra.update(network="net", subnet_id="sub")
    assert _kinds(_graph(cloud, **extra)) == {}


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_terraform_json_carries_the_cidrs(cloud: str) -> None:
    from stix.engine.terraform.translate import to_terraform

    doc = to_terraform(_graph(cloud, ssh_cidrs=LIMITED))
    blocks = _tf_sources(cloud, doc["resource"])
    assert blocks and all(sorted(b) == sorted(LIMITED) for b in blocks)
    assert all(b == ["0.0.0.0/0"] for b in _tf_sources(cloud, to_terraform(_graph(cloud))
                                                      ["resource"]))


def _tf_sources(cloud: str, resources: dict[str, Any]) -> list[list[str]]:
    if cloud == "aws":
        (sg,) = resources["aws_security_group"].values()
        return [r["cidr_blocks"] for r in sg["ingress"] if r["cidr_blocks"]]
    return [fw["source_ranges"] for fw in resources["google_compute_firewall"].values()]


def _k8s(**extra: Any) -> Graph:
    return synth(placement("kubernetes", "pod", region="ctx", ports=[8000], extra=extra))


def test_kubernetes_load_balancer_source_ranges() -> None:
    svc = "kubernetes:core/v1:Service"
    default = _k8s()
    ports = default.get(svc, "t-ports").inputs["spec"]
    assert ports["type"] == "LoadBalancer" and "loadBalancerSourceRanges" not in ports
    assert any("LoadBalancer" in t for t in _kinds(default)["open"])
    limited = _k8s(ssh_cidrs=LIMITED)
    spec = limited.get(svc, "t-ports").inputs["spec"]
    assert spec["loadBalancerSourceRanges"] == sorted(LIMITED)
    assert "open" not in _kinds(limited) and _kinds(limited)["public_ip"]
    assert _kinds(_k8s(ports_service_type="ClusterIP")) == {}
    assert "every node" in _kinds(_k8s(ports_service_type="NodePort"))["open"][0]


def test_kubernetes_node_port_cannot_be_limited() -> None:
    with pytest.raises(ProgramError, match="NodePort"):
        _k8s(ports_service_type="NodePort", ssh_cidrs=LIMITED)


def _resource(type_: str, logical: str, **inputs: Any) -> Resource:
    return Resource(type_, logical, inputs)


def _one(*resources: Resource) -> list[str]:
    g = Graph("s", "p")
    for r in resources:
        g.add(r)
    return [f"{f.kind}: {f.text}" for f in findings(g)]


def test_aws_bucket_needs_every_public_block() -> None:
    bucket = _resource("aws:s3/bucket:Bucket", "b", bucket="data")
    block = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True,
             "restrictPublicBuckets": True}
    pab = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
    ref = {"$ref": bucket.key, "attr": "id"}
    assert _one(bucket, _resource(pab, "p", bucket=ref, **block)) == []
    half = {**block, "restrictPublicBuckets": False}
    assert _one(bucket, _resource(pab, "p", bucket=ref, **half))[0].startswith("public_bucket")
    assert _one(bucket)[0].startswith("public_bucket: bucket data")


def test_gcs_and_azure_public_buckets() -> None:
    gcs = _resource("gcp:storage/bucket:Bucket", "g", name="g1")
    assert _one(gcs) == ["public_bucket: bucket g1 does not enforce public access prevention "
                         "(an IAM grant could make it public)"]
    enforced = _resource("gcp:storage/bucket:Bucket", "g", publicAccessPrevention="enforced")
    grant = _resource("gcp:storage/bucketIAMMember:BucketIAMMember", "m",
                      member="allUsers", role="roles/storage.objectViewer")
    assert _one(enforced, grant) == ["public_bucket: allUsers granted "
                                     "roles/storage.objectViewer on a bucket"]
    account = _resource("azure-native:storage:StorageAccount", "a", accountName="acct")
    assert "allows public blob access" in _one(account)[0]
    closed = _resource("azure-native:storage:StorageAccount", "a", allowBlobPublicAccess=False)
    blob = _resource("azure-native:storage:BlobContainer", "c", containerName="c",
                     publicAccess="Blob")
    assert _one(closed, blob) == ["public_bucket: container c has public access Blob"]


def test_rules_open_to_ipv6_world_and_azure_wildcards() -> None:
    sg = _resource("aws:ec2/securityGroup:SecurityGroup", "sg", ingress=[
        {"ipv6CidrBlocks": ["::/0"], "fromPort": 80, "toPort": 90, "protocol": "tcp"},
        {"cidrBlocks": ["10.0.0.0/8"], "fromPort": 22, "toPort": 22, "protocol": "tcp"}])
    assert _one(sg) == ["open: tcp 80-90 open to ::/0"]
    nsg = _resource("azure-native:network:NetworkSecurityGroup", "n", securityRules=[
        {"name": "any", "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
         "sourceAddressPrefix": "Internet", "destinationPortRange": "443"},
        {"name": "deny", "direction": "Inbound", "access": "Deny",
         "sourceAddressPrefix": "*", "destinationPortRange": "*"}])
    assert _one(nsg) == ["open: Tcp 443 (any) open to Internet"]
    fw = _resource("gcp:compute/firewall:Firewall", "f", direction="EGRESS",
                   sourceRanges=["0.0.0.0/0"])
    assert _one(fw) == []


def test_strict_policy_refuses_and_names_everything() -> None:
    from stix.errors import UsageError

    found = findings(_graph("aws"))
    enforce("t", found, "warn", "here")
    with pytest.raises(UsageError) as info:
        enforce("t", found, "strict", "policy in config.yaml")
    text = str(info.value)
    assert "strict" in text and "0.0.0.0/0" in text and "public IP" in text
    enforce("t", [], "strict", "here")
