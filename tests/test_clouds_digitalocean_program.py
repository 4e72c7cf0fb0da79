"""The DigitalOcean program under Pulumi's mocks: resources, the inputs that matter, and
golden graphs for CPU, GPU, multi-node with ports, private nodes and AMD GPUs (DigitalOcean
sells no spot capacity: a spot task is refused at plan, tested in
test_clouds_digitalocean.py)."""

from __future__ import annotations

import pytest
from stack_support import check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi_digitalocean",
                    reason="needs the pulumi extra (pip install -e '.[pulumi]')")

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
VPC = "digitalocean:index/vpc:Vpc"
KEY = "digitalocean:index/sshKey:SshKey"
TAG = "digitalocean:index/tag:Tag"
ALL = [{"portRange": "1-65535", "protocol": "tcp"}, {"portRange": "1-65535", "protocol": "udp"},
       {"protocol": "icmp"}]


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cases = {
        "cpu": placement("digitalocean", "g-8vcpu-32gb", region="nyc1",
                         labels={"team": "ml.research"}),
        "gpu": placement("digitalocean", "gpu-h100x8-640gb", region="tor1", gpu=("H100", 8),
                         vcpus=160, memory_gib=1920),
        "multi-node": placement("digitalocean", "gpu-l40sx1-48gb", region="tor1",
                                gpu=("L40S", 1), num_nodes=3, ports=[8000, "9000-9010", 8001]),
        "private": placement("digitalocean", "c-8", region="fra1",
                             extra={"private": True, "vpc_uuid": "vpc-uuid-1",
                                    "ssh_key": "ab:cd:ef", "ssh_cidrs": ["10.0.0.0/8"]}),
        "amd": placement("digitalocean", "gpu-mi300x1-192gb", region="atl1",
                         gpu=("MI300X", 1)),
    }
    return {k: synth(p) for k, p in cases.items()}


def test_cpu_task_owns_its_vpc_key_tag_and_firewall(graphs: dict) -> None:
    g = graphs["cpu"]
    assert sorted({r.type for r in g.resources.values()}) == sorted([
        "pulumi:providers:digitalocean", VPC, KEY, TAG, DROPLET, FIREWALL])
    vpc = inputs(g, VPC, "t-vpc")
    assert vpc["region"] == "nyc1" and "ipRange" not in vpc  # DigitalOcean picks a free range
    assert inputs(g, KEY, "t-key")["publicKey"].startswith("ssh-ed25519 ")
    assert inputs(g, TAG, "t-tag") == {"name": "stix-cluster:t"}
    node = inputs(g, DROPLET, "t-0")
    assert node["size"] == "g-8vcpu-32gb" and node["region"] == "nyc1"
    assert node["image"] == "ubuntu-22-04-x64"
    assert node["vpcUuid"] == ref(VPC, "t-vpc")
    assert node["sshKeys"] == [ref(KEY, "t-key", "fingerprint")]
    assert node["userData"] == "#cloud-config\nhostname: node-0\n"
    # the cluster's tag, who manages it, the task's labels (dots are not tag characters)
    assert node["tags"] == ["stix-cluster:t", "managed-by:stix", "team:ml_research",
                            "stix-node-rank:0"]
    assert "publicNetworking" not in node
    fw = inputs(g, FIREWALL, "t-fw")
    assert fw["tags"] == ["stix-cluster:t"]
    assert fw["inboundRules"] == [
        {"portRange": "22", "protocol": "tcp", "sourceAddresses": ["0.0.0.0/0"]}]
    assert fw["outboundRules"] == [{**r, "destinationAddresses": ["0.0.0.0/0", "::/0"]}
                                   for r in ALL]
    assert g.resources[f"{DROPLET}::t-0"].provider == "pulumi:providers:digitalocean::t-do"
    assert f"{TAG}::t-tag" in g.resources[f"{FIREWALL}::t-fw"].dependencies
    assert g.outputs["head_ip"] == ref(DROPLET, "t-0", "ipv4Address")
    assert g.outputs["nodes"][0]["private_ip"] == ref(DROPLET, "t-0", "ipv4AddressPrivate")
    assert g.outputs["ssh_user"] == "stix" and g.outputs["region"] == "nyc1"


def test_eight_gpu_sizes_boot_the_nvlink_image(graphs: dict) -> None:
    assert inputs(graphs["gpu"], DROPLET, "t-0")["image"] == "gpu-h100x8-base"
    assert inputs(graphs["multi-node"], DROPLET, "t-0")["image"] == "gpu-h100x1-base"
    assert inputs(graphs["amd"], DROPLET, "t-0")["image"] == "gpu-amd-base"


def test_multi_node_shares_the_vpc_and_talks_inside_the_cluster(graphs: dict) -> None:
    g = graphs["multi-node"]
    nodes = g.of_type(DROPLET)
    assert [n.name for n in nodes] == ["t-0", "t-1", "t-2"]
    assert {n.inputs["vpcUuid"]["$ref"] for n in nodes} == {f"{VPC}::t-vpc"}
    assert [n.inputs["tags"][-1] for n in nodes] == [f"stix-node-rank:{i}" for i in range(3)]
    rules = inputs(g, FIREWALL, "t-fw")["inboundRules"]
    world = ["0.0.0.0/0"]
    assert rules == [
        {"portRange": "22", "protocol": "tcp", "sourceAddresses": world},
        {"portRange": "8000-8001", "protocol": "tcp", "sourceAddresses": world},
        {"portRange": "9000-9010", "protocol": "tcp", "sourceAddresses": world},
        *({**r, "sourceTags": ["stix-cluster:t"]} for r in ALL)]
    assert len(g.outputs["nodes"]) == 3


def test_private_nodes_in_an_existing_vpc_with_an_existing_key(graphs: dict) -> None:
    g = graphs["private"]
    assert not g.of_type(VPC) and not g.of_type(KEY)
    node = inputs(g, DROPLET, "t-0")
    assert node["vpcUuid"] == "vpc-uuid-1" and node["sshKeys"] == ["ab:cd:ef"]
    assert node["publicNetworking"] is False
    assert inputs(g, FIREWALL, "t-fw")["inboundRules"][0]["sourceAddresses"] == ["10.0.0.0/8"]
    assert g.outputs["head_ip"] == ref(DROPLET, "t-0", "ipv4AddressPrivate")


@pytest.mark.parametrize(("extra", "match"), [
    ({"private": True}, "private Droplets need an existing VPC"),
    ({"subnet_cidr": "10.1.0.0/24"}, "have no subnets"),
])
def test_what_the_program_refuses(extra: dict, match: str) -> None:
    from stix.errors import StixError

    with pytest.raises(StixError, match=match):
        synth(placement("digitalocean", "c-8", region="fra1", extra=extra))


def test_user_data_over_the_limit_is_refused() -> None:
    from stix.clouds.digitalocean.program import USER_DATA_LIMIT
    from stix.errors import StixError
    from stix.stack.synth import synthesize

    big = "#cloud-config\n" + "#" * USER_DATA_LIMIT
    with pytest.raises(StixError, match="DigitalOcean takes at most"):
        synthesize(placement("digitalocean", "c-8", region="fra1"), lambda rank: big, "k")


@pytest.mark.parametrize("case", ["cpu", "gpu", "multi-node", "private", "amd"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"digitalocean-{case}")
