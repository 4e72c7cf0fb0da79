"""The AWS program under Pulumi's mocks: resources and the inputs that matter."""

from __future__ import annotations

import json

import pytest
from stack_support import bucket, check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi_aws", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

INSTANCE = "aws:ec2/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cpu = placement("aws", "m6i.2xlarge", region="us-east-1", zone="us-east-1a")
    gpu = placement("aws", "p4d.24xlarge", region="us-west-2", zone="us-west-2b",
                    gpu=("A100", 8), num_nodes=3, ports=[8000, "9000-9010", 8001],
                    disk_tier="ultra", disk_size=1024)
    spot = placement("aws", "g5.xlarge", region="us-east-1", zone="us-east-1b",
                     gpu=("A10G", 1), use_spot=True,
                     buckets=[bucket("s3", "ckpts"), bucket("s3", "data", create=False),
                              bucket("s3", "scratch", persistent=False),
                              bucket("gcs", "elsewhere", create=False)])
    private = placement("aws", "m6i.2xlarge", region="us-east-1",
                        extra={"private": True, "vpc_id": "vpc-1", "subnet_id": "subnet-1",
                               "ssh_cidrs": ["10.0.0.0/8"]})
    return {k: synth(p) for k, p in
            {"cpu": cpu, "gpu": gpu, "spot": spot, "private": private}.items()}


def test_cpu_task_owns_its_network(graphs: dict) -> None:
    g = graphs["cpu"]
    types = sorted({r.type for r in g.resources.values()})
    assert types == sorted([
        "pulumi:providers:aws", "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet",
        "aws:ec2/internetGateway:InternetGateway", "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation", SG, "aws:ec2/keyPair:KeyPair",
        INSTANCE, "aws:ec2transitgateway/instanceState:InstanceState"])
    assert g.get("pulumi:providers:aws", "t-aws").inputs["region"] == "us-east-1"
    inst = inputs(g, INSTANCE, "t-0")
    assert inst["instanceType"] == "m6i.2xlarge"
    assert inst["subnetId"] == ref("aws:ec2/subnet:Subnet", "t-subnet")
    assert inst["vpcSecurityGroupIds"] == [ref(SG, "t-sg")]
    assert inst["keyName"] == ref("aws:ec2/keyPair:KeyPair", "t-key", "keyName")
    assert inst["rootBlockDevice"] == {"deleteOnTermination": True, "encrypted": True,
                                       "iops": 3000, "throughput": 250, "volumeSize": 256,
                                       "volumeType": "gp3"}
    assert "instanceMarketOptions" not in inst and "placementGroup" not in inst
    assert inst["userData"] == "#cloud-config\nhostname: node-0\n"
    assert inst["metadataOptions"]["httpTokens"] == "required"
    # the CPU image comes from the catalog's SSM parameter, looked up at deploy time
    lookup = g.data[inst["ami"]["$data"]]
    assert lookup.type == "aws:ssm/getParameter:getParameter"
    assert "ubuntu/server/22.04" in lookup.args["name"] and "amd64" in lookup.args["name"]
    # SSH only, from anywhere by default; nothing else in
    assert inputs(g, SG, "t-sg")["ingress"] == [
        {"cidrBlocks": ["0.0.0.0/0"], "description": "ssh", "fromPort": 22, "protocol": "tcp",
         "toPort": 22}]
    assert g.resources[f"{INSTANCE}::t-0"].provider == "pulumi:providers:aws::t-aws"
    assert set(g.resources[f"{INSTANCE}::t-0"].dependencies) >= {
        "aws:ec2/subnet:Subnet::t-subnet", f"{SG}::t-sg", "aws:ec2/keyPair:KeyPair::t-key"}
    assert g.outputs["head_ip"] == ref(INSTANCE, "t-0", "publicIp")
    assert g.outputs["ssh_user"] == "stix"


def test_every_resource_is_tagged(graphs: dict) -> None:
    for g in graphs.values():
        for r in g.resources.values():
            if "tags" in r.inputs:
                assert r.inputs["tags"]["stix-cluster"] == "t"
                assert r.inputs["tags"]["managed-by"] == "stix"
            else:
                assert r.type in (  # the types AWS does not tag
                    "pulumi:providers:aws", "aws:iam/rolePolicy:RolePolicy",
                    "aws:ec2/routeTableAssociation:RouteTableAssociation",
                    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                    "aws:s3/bucketServerSideEncryptionConfiguration:"
                    "BucketServerSideEncryptionConfiguration",
                    "aws:ec2transitgateway/instanceState:InstanceState"), r.key


def test_multi_node_gpu_task(graphs: dict) -> None:
    g = graphs["gpu"]
    nodes = g.of_type(INSTANCE)
    assert [n.name for n in nodes] == ["t-0", "t-1", "t-2"]
    assert [n.inputs["tags"]["stix-node-rank"] for n in nodes] == ["0", "1", "2"]
    assert [n.inputs["userData"] for n in nodes] == [
        f"#cloud-config\nhostname: node-{i}\n" for i in range(3)]
    pg = g.get("aws:ec2/placementGroup:PlacementGroup", "t-pg")
    assert pg.inputs["strategy"] == "cluster"
    assert all(n.inputs["placementGroup"] == ref(pg.type, "t-pg", "name") for n in nodes)
    assert nodes[0].inputs["rootBlockDevice"]["volumeType"] == "io2"
    assert nodes[0].inputs["rootBlockDevice"]["volumeSize"] == 1024
    assert "gpu" in g.data[nodes[0].inputs["ami"]["$data"]].args["name"]
    assert len(g.outputs["nodes"]) == 3


def test_ports_open_from_the_ssh_cidr_and_nodes_talk_to_each_other(graphs: dict) -> None:
    rules = inputs(graphs["gpu"], SG, "t-sg")["ingress"]
    assert [(r["fromPort"], r["toPort"]) for r in rules] == [(22, 22), (8000, 8001),
                                                           (9000, 9010), (0, 0)]
    assert rules[-1] == {"description": "between the cluster nodes", "fromPort": 0,
                         "protocol": "-1", "self": True, "toPort": 0}


def test_spot_task(graphs: dict) -> None:
    inst = inputs(graphs["spot"], INSTANCE, "t-0")
    assert inst["instanceMarketOptions"] == {
        "marketType": "spot",
        "spotOptions": {"instanceInterruptionBehavior": "terminate",
                        "spotInstanceType": "one-time"}}
    assert "aws:ec2/placementGroup:PlacementGroup::t-pg" not in graphs["spot"].resources


def test_bucket_task_gets_exactly_its_s3_buckets(graphs: dict) -> None:
    g = graphs["spot"]
    # Only the bucket that dies with the cluster is in its stack; a persistent one has a
    # stack of its own (stix.buckets), an existing one is only granted.
    assert [b.inputs["bucket"] for b in g.of_type("aws:s3/bucket:Bucket")] == ["scratch"]
    made = ref("aws:s3/bucket:Bucket", "t-bucket-2")
    assert inputs(g, "aws:s3/bucket:Bucket", "t-bucket-2")["forceDestroy"] is True
    block = inputs(g, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                   "t-bucket-2-private")
    assert block == {"blockPublicAcls": True, "blockPublicPolicy": True, "bucket": made,
                     "ignorePublicAcls": True, "restrictPublicBuckets": True}
    sse = inputs(g, "aws:s3/bucketServerSideEncryptionConfiguration:"
                 "BucketServerSideEncryptionConfiguration", "t-bucket-2-encryption")
    assert sse["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    policy = inputs(g, "aws:iam/rolePolicy:RolePolicy", "t-buckets")["policy"]
    # the created bucket's ARN stays a reference inside the JSON policy text
    parts = policy["$concat"]
    assert ref("aws:s3/bucket:Bucket", "t-bucket-2", "arn") in parts
    text = "".join(p if isinstance(p, str) else "ARN" for p in parts)
    doc = json.loads(text)
    resources = [r for s in doc["Statement"] for r in s["Resource"]]
    assert resources == ["arn:aws:s3:::ckpts", "arn:aws:s3:::data", "ARN",
                         "arn:aws:s3:::ckpts/*", "arn:aws:s3:::data/*", "ARN/*"]
    assert "elsewhere" not in text  # a GCS bucket is not AWS's business
    inst = inputs(g, INSTANCE, "t-0")
    assert inst["iamInstanceProfile"] == ref("aws:iam/instanceProfile:InstanceProfile",
                                             "t-profile", "name")


def test_private_nodes_in_an_existing_subnet(graphs: dict) -> None:
    g = graphs["private"]
    assert not g.of_type("aws:ec2/vpc:Vpc")
    inst = inputs(g, INSTANCE, "t-0")
    assert inst["subnetId"] == "subnet-1"
    assert inst["associatePublicIpAddress"] is False
    assert inputs(g, SG, "t-sg")["vpcId"] == "vpc-1"
    assert inputs(g, SG, "t-sg")["ingress"][0]["cidrBlocks"] == ["10.0.0.0/8"]
    assert g.outputs["head_ip"] == ref(INSTANCE, "t-0", "privateIp")


def test_private_without_a_subnet_is_refused() -> None:
    from stix.errors import StixError

    with pytest.raises(StixError, match="private nodes need an existing subnet"):
        synth(placement("aws", "m6i.2xlarge", region="us-east-1", extra={"private": True}))


@pytest.mark.parametrize("case", ["cpu", "gpu", "spot", "private"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"aws-{case}")


def test_determinism(graphs: dict) -> None:
    again = synth(placement("aws", "m6i.2xlarge", region="us-east-1", zone="us-east-1a"))
    assert again.to_json() == graphs["cpu"].to_json()
