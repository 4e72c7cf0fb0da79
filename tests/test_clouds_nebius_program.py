"""The Nebius program under Pulumi's mocks: resources and the inputs that matter, golden
graphs, and what `stix plan` and `--engine terraform` refuse for Nebius."""

from __future__ import annotations

from typing import Any

import pytest
from stack_support import check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi_nebius", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

P = "nebius:index/"
INSTANCE = f"{P}computeV1Instance:ComputeV1Instance"
DISK = f"{P}computeV1Disk:ComputeV1Disk"
RULE = f"{P}vpcV1SecurityRule:VpcV1SecurityRule"
SG = f"{P}vpcV1SecurityGroup:VpcV1SecurityGroup"
SUBNET = f"{P}vpcV1Subnet:VpcV1Subnet"
NETWORK = f"{P}vpcV1Network:VpcV1Network"


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cpu = placement("nebius", "cpu-d3_8vcpu-32gb", region="eu-west1",
                    labels={"Team": "ML Infra"}, extra={"project_id": "project-e01abc"})
    gpu = placement("nebius", "gpu-h100-sxm_8gpu-128vcpu-1600gb", region="eu-north1",
                    gpu=("H100", 8), num_nodes=3, ports=[8000, "9000-9010"],
                    disk_size=1024, disk_tier="low")
    spot = placement("nebius", "gpu-h200-sxm_1gpu-16vcpu-200gb", region="us-central1",
                     gpu=("H200", 1), use_spot=True,
                     extra={"ssh_cidrs": ["192.0.2.0/24"], "profile": "work"})
    return {k: synth(p) for k, p in {"cpu": cpu, "gpu": gpu, "spot": spot}.items()}


def test_cpu_task_owns_its_network(graphs: dict) -> None:
    g = graphs["cpu"]
    assert sorted({r.type for r in g.resources.values()}) == sorted([
        "pulumi:providers:nebius", NETWORK, SUBNET, SG, RULE, DISK, INSTANCE])
    assert g.get("pulumi:providers:nebius", "t-nebius").inputs == {"parentId": "project-e01abc"}
    inst = inputs(g, INSTANCE, "t-0")
    assert inst["resources"] == {"platform": "cpu-d3", "preset": "8vcpu-32gb"}
    assert inst["parentId"] == "project-e01abc" and inst["hostname"] == "t-0"
    assert inst["bootDisk"] == {"attachMode": "READ_WRITE",
                                "existingDisk": {"id": ref(DISK, "t-0-boot")}}
    assert inst["networkInterfaces"] == [{
        "name": "eth0", "subnetId": ref(SUBNET, "t-subnet"), "ipAddress": {},
        "publicIpAddress": {}, "securityGroups": [{"id": ref(SG, "t-sg")}]}]
    # the provider marks user-data secret, so the graph holds no copy of it
    assert inst["cloudInitUserData"] == "[secret]"
    assert inst["stopped"] is False
    assert "preemptible" not in inst and "recoveryPolicy" not in inst
    # labels: the task's, lowercased to Nebius's rules, then stix's own
    assert inst["labels"] == {"managed-by": "stix", "stix-cluster": "t",
                              "stix-node-rank": "0", "team": "ml_infra"}
    disk = inputs(g, DISK, "t-0-boot")
    assert disk["type"] == "NETWORK_SSD" and disk["sizeGibibytes"] == 256
    assert disk["sourceImageFamily"] == {"imageFamily": "ubuntu22.04-driverless"}
    assert inputs(g, SUBNET, "t-subnet")["networkId"] == ref(NETWORK, "t-net")
    assert inputs(g, SG, "t-sg")["networkId"] == ref(NETWORK, "t-net")
    # SSH only, from anywhere by default, all egress; no rule between nodes for one node
    rules = {r.name: r.inputs for r in g.of_type(RULE)}
    assert sorted(rules) == ["t-egress", "t-ssh-0"]
    assert rules["t-ssh-0"]["ingress"] == {"destinationPorts": [22],
                                           "sourceCidrs": ["0.0.0.0/0"]}
    assert rules["t-ssh-0"]["parentId"] == ref(SG, "t-sg")
    assert rules["t-egress"]["egress"] == {"destinationCidrs": ["0.0.0.0/0"]}
    status = "status.networkInterfaces[0]"
    assert g.outputs["head_ip"] == ref(INSTANCE, "t-0", f"{status}.publicIpAddress.address")
    assert g.outputs["nodes"][0]["private_ip"] == ref(INSTANCE, "t-0",
                                                      f"{status}.ipAddress.address")
    assert g.outputs["ssh_user"] == "stix" and g.outputs["region"] == "eu-west1"


def test_multi_node_gpu_task_with_ports(graphs: dict) -> None:
    g = graphs["gpu"]
    nodes = g.of_type(INSTANCE)
    assert [n.name for n in nodes] == ["t-0", "t-1", "t-2"]
    assert {n.inputs["networkInterfaces"][0]["subnetId"]["$ref"] for n in nodes} == {
        f"{SUBNET}::t-subnet"}  # one subnet: the nodes reach each other privately
    assert [n.inputs["labels"]["stix-node-rank"] for n in nodes] == ["0", "1", "2"]
    assert nodes[1].inputs["resources"] == {"platform": "gpu-h100-sxm",
                                            "preset": "8gpu-128vcpu-1600gb"}
    disk = inputs(g, DISK, "t-2-boot")
    assert disk["sourceImageFamily"] == {"imageFamily": "ubuntu22.04-cuda12"}
    assert (disk["type"], disk["sizeGibibytes"]) == ("NETWORK_HDD", 1024)
    rules = {r.name: r.inputs for r in g.of_type(RULE)}
    # Nebius rules list single ports, at most 8 a rule: 12 task ports make two rules
    assert rules["t-ports-0-0"]["ingress"]["destinationPorts"] == [8000, *range(9000, 9007)]
    assert rules["t-ports-1-0"]["ingress"]["destinationPorts"] == list(range(9007, 9011))
    assert rules["t-cluster"] == {"access": "ALLOW", "labels": rules["t-cluster"]["labels"],
                                  "name": "t-cluster", "parentId": ref(SG, "t-sg"),
                                  "protocol": "ANY",
                                  "ingress": {"sourceSecurityGroupId": ref(SG, "t-sg")}}
    assert len(g.outputs["nodes"]) == 3


def test_spot_is_preemptible_and_ssh_cidrs_limit_the_rules(graphs: dict) -> None:
    g = graphs["spot"]
    inst = inputs(g, INSTANCE, "t-0")
    assert inst["preemptible"] == {"onPreemption": "STOP", "priority": 1}
    assert inst["recoveryPolicy"] == "FAIL"
    # a provider's object settings travel JSON-encoded
    assert g.get("pulumi:providers:nebius", "t-nebius").inputs == {
        "profile": '{"name": "work"}'}
    assert inputs(g, RULE, "t-ssh-0")["ingress"]["sourceCidrs"] == ["192.0.2.0/24"]
    from stix.stack.exposure import findings

    assert [f.kind for f in findings(g)] == ["public_ip"]


@pytest.mark.parametrize("case", ["cpu", "gpu", "spot"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"nebius-{case}")


def test_existing_subnet_private_stopped_and_an_image_id() -> None:
    p = placement("nebius", "cpu-e2_4vcpu-16gb", region="eu-north1", power="stopped",
                  image_id="computeimage-e00abc123",
                  extra={"private": True, "network_id": "vpcnetwork-1", "subnet_id": "vpcsubnet-1",
                         "credentials_file": "~/.nebius/sa.json", "subnet_cidr": "10.9.0.0/24"})
    g = synth(p)
    assert not g.of_type(NETWORK) and not g.of_type(SUBNET)
    inst = inputs(g, INSTANCE, "t-0")
    assert inst["stopped"] is True
    assert inst["networkInterfaces"][0]["subnetId"] == "vpcsubnet-1"
    assert "publicIpAddress" not in inst["networkInterfaces"][0]
    assert inputs(g, SG, "t-sg")["networkId"] == "vpcnetwork-1"
    assert inputs(g, DISK, "t-0-boot")["sourceImageId"] == "computeimage-e00abc123"
    assert g.get("pulumi:providers:nebius", "t-nebius").inputs == {
        "serviceAccount": '{"credentials_file": "~/.nebius/sa.json"}'}
    assert g.outputs["nodes"][0].get("public_ip") is None
    assert g.outputs["head_ip"] == ref(INSTANCE, "t-0", "status.networkInterfaces[0]."
                                                        "ipAddress.address")


def test_a_subnet_cidr_gives_the_subnet_its_own_pool() -> None:
    g = synth(placement("nebius", "cpu-e2_4vcpu-16gb", region="eu-north1",
                        extra={"subnet_cidr": "10.9.0.0/24"}))
    assert inputs(g, SUBNET, "t-subnet")["ipv4PrivatePools"] == {
        "pools": [{"cidrs": [{"cidr": "10.9.0.0/24"}]}], "useNetworkPools": False}


@pytest.mark.parametrize(("extra", "more", "says"), [
    ({"private": True}, {}, "private nodes need an existing subnet"),
    ({"subnet_id": "vpcsubnet-1"}, {}, "extra.network_id and extra.subnet_id go together"),
    ({}, {"ports": ["10000-10100"]}, "list ports one by one"),
])
def test_programs_refuse_what_nebius_cannot_build(extra: dict, more: dict, says: str) -> None:
    from stix.clouds.common import ProgramError

    with pytest.raises(ProgramError, match=says):
        synth(placement("nebius", "cpu-e2_4vcpu-16gb", region="eu-north1", extra=extra, **more))


def test_addresses_lose_the_prefix_nebius_reports() -> None:
    from stix.clouds.nebius.program import address

    assert address("10.0.0.5/32") == "10.0.0.5" and address("203.0.113.9") == "203.0.113.9"
    assert address(None) is None


def test_terraform_engine_refuses_nebius_stacks_clearly(graphs: dict) -> None:
    from stix.clouds import registry
    from stix.engine.terraform.translate import TranslationError, to_terraform

    assert registry.cloud("nebius").capabilities.terraform is False
    with pytest.raises(TranslationError, match=r"nebius"):
        to_terraform(graphs["cpu"])


# ---- what `stix plan` places and refuses for Nebius, with Nebius's own choices --------------


def _optimize(resources: str) -> Any:
    from stix.optimizer import optimize
    from stix.task import parse_tasks

    task = parse_tasks(f"resources:\n{resources}run: echo ok\n").tasks[0]
    return optimize(task, cluster="c").chosen


def test_plan_places_skypilot_names() -> None:
    chosen = _optimize("  cloud: nebius\n  region: us-central1\n  accelerators: H200:8\n")
    assert (chosen.cloud, chosen.region, chosen.instance_type, chosen.zone) == (
        "nebius", "us-central1", "gpu-h200-sxm_8gpu-128vcpu-1600gb", None)
    named = _optimize("  infra: nebius\n  instance_type: gpu-l40s-d_2gpu-64vcpu-384gb\n")
    assert (named.vcpus, named.memory_gib, named.hourly_price) == (64, 384, 4.5688)
    spot = _optimize("  infra: nebius\n  accelerators: H100:1\n  use_spot: true\n")
    assert spot.use_spot and spot.hourly_price == 1.25


@pytest.mark.parametrize(("resources", "says"), [
    ("  infra: nebius\n  accelerators: A100:1\n", "A100:1 is not offered in nebius"),
    ("  infra: nebius/us-east-1\n  cpus: 2\n", "eu-north1"),
    ("  infra: nebius\n  accelerators: L40S:1\n  use_spot: true\n",
     "L40S:1 has no spot price where it fits; on demand: nebius"),
])
def test_bad_input_is_refused_with_nebius_choices(resources: str, says: str) -> None:
    from stix.errors import StixError

    with pytest.raises(StixError, match=says):
        _optimize(resources)
