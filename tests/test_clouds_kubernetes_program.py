"""The Kubernetes programs under Pulumi's mocks: an existing cluster by context, and a GPU
node pool added to EKS / GKE / AKS."""

from __future__ import annotations

import pytest
from stack_support import check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi_kubernetes", reason="needs the pulumi extra")

POD = "kubernetes:core/v1:Pod"
SERVICE = "kubernetes:core/v1:Service"
MANAGED = {"cluster_name": "prod", "context": "prod-ctx"}


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cases = {
        "cpu": placement("kubernetes", "8CPU--32GB", region="lab", vcpus=8, memory_gib=32),
        "gpu": placement("kubernetes", "4CPU--16GB--1T4", region="gpu-cluster", vcpus=4,
                         memory_gib=16, gpu=("T4", 1), num_nodes=2, ports=[8000]),
        "eks": placement("kubernetes", "g5.xlarge", region="us-east-1", gpu=("A10G", 1),
                         use_spot=True, extra={"managed": "eks", "subnet_ids": ["s-2", "s-1"],
                                               **MANAGED}),
        "gke": placement("kubernetes", "g2-standard-8", region="us-central1",
                         zone="us-central1-a", gpu=("L4", 1), extra={"managed": "gke", **MANAGED}),
        "aks": placement("kubernetes", "Standard_NC4as_T4_v3", region="eastus", gpu=("T4", 1),
                         use_spot=True, extra={"managed": "aks", "resource_group": "rg",
                                               **MANAGED}),
    }
    return {k: synth(p) for k, p in cases.items()}


def test_existing_cluster_cpu(graphs: dict) -> None:
    g = graphs["cpu"]
    assert g.get("pulumi:providers:kubernetes", "t-k8s").inputs["context"] == "lab"
    ns = inputs(g, "kubernetes:core/v1:Namespace", "t-ns")
    assert ns["metadata"]["name"] == "t"
    pod = inputs(g, POD, "t-0")
    container = pod["spec"]["containers"][0]
    assert container["image"] == "ubuntu:22.04"
    assert container["resources"] == {"limits": {"memory": "32Gi"},
                                      "requests": {"cpu": "8", "memory": "32Gi"}}
    # the namespace name is an input (known), and the pod waits for the namespace
    assert pod["metadata"]["namespace"] == "t"
    assert "kubernetes:core/v1:Namespace::t-ns" in g.resources[f"{POD}::t-0"].dependencies
    headless = inputs(g, SERVICE, "t-nodes")
    assert headless["spec"]["clusterIP"] == "None"
    assert pod["spec"]["subdomain"] == "t-nodes" and pod["spec"]["hostname"] == "t-0"
    assert f"{SERVICE}::t-ports" not in g.resources
    assert g.outputs["context"] == "lab" and g.outputs["namespace"] == "t"
    assert g.outputs["head_ip"] == ref(POD, "t-0", "status.podIP")


def test_existing_cluster_gpu_pods_and_ports(graphs: dict) -> None:
    g = graphs["gpu"]
    pods = g.of_type(POD)
    assert [p.name for p in pods] == ["t-0", "t-1"]
    res = pods[0].inputs["spec"]["containers"][0]["resources"]
    assert res["limits"]["nvidia.com/gpu"] == "1" and res["requests"]["nvidia.com/gpu"] == "1"
    assert "cuda" in pods[0].inputs["spec"]["containers"][0]["image"]
    ports = inputs(g, SERVICE, "t-ports")["spec"]
    assert ports["type"] == "LoadBalancer"
    assert ports["ports"] == [{"name": "p8000", "port": 8000, "protocol": "TCP",
                               "targetPort": 8000}]
    assert ports["selector"] == {"stix-cluster": "t", "stix-node-rank": "0"}


def _pinned_to_pool(g: object) -> None:
    for pod in g.of_type(POD):  # type: ignore[attr-defined]
        spec = pod.inputs["spec"]
        assert spec["nodeSelector"] == {"stix-pool": "t"}
        assert {"effect": "NoSchedule", "key": "stix-pool", "operator": "Equal",
                "value": "t"} in spec["tolerations"]


def test_eks_node_group(graphs: dict) -> None:
    g = graphs["eks"]
    ng = inputs(g, "aws:eks/nodeGroup:NodeGroup", "t-pool")
    assert ng["clusterName"] == "prod" and ng["instanceTypes"] == ["g5.xlarge"]
    assert ng["capacityType"] == "SPOT" and ng["amiType"] == "AL2023_x86_64_NVIDIA"
    assert ng["subnetIds"] == ["s-1", "s-2"]
    assert ng["taints"] == [{"effect": "NO_SCHEDULE", "key": "stix-pool", "value": "t"}]
    assert ng["nodeRoleArn"] == ref("aws:iam/role:Role", "t-node-role", "arn")
    assert len(g.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")) == 3
    assert not g.of_type("aws:ec2/instance:Instance")
    _pinned_to_pool(g)
    assert "aws:eks/nodeGroup:NodeGroup::t-pool" in g.resources[f"{POD}::t-0"].dependencies


def test_gke_node_pool(graphs: dict) -> None:
    g = graphs["gke"]
    pool = inputs(g, "gcp:container/nodePool:NodePool", "t-pool")
    cfg = pool["nodeConfig"]
    assert pool["cluster"] == "prod" and pool["location"] == "us-central1-a"
    assert cfg["guestAccelerators"] == [{"count": 1, "gpuDriverInstallationConfig": {
        "gpuDriverVersion": "DEFAULT"}, "type": "nvidia-l4"}]
    assert cfg["spot"] is False and cfg["machineType"] == "g2-standard-8"
    _pinned_to_pool(g)


def test_aks_agent_pool(graphs: dict) -> None:
    g = graphs["aks"]
    pool = inputs(g, "azure-native:containerservice:AgentPool", "t-pool")
    assert pool["resourceName"] == "prod" and pool["resourceGroupName"] == "rg"
    assert pool["scaleSetPriority"] == "Spot" and pool["nodeTaints"] == [
        "stix-pool=t:NoSchedule"]
    assert pool["vmSize"] == "Standard_NC4as_T4_v3" and pool["mode"] == "User"
    _pinned_to_pool(g)


def test_managed_needs_its_cluster() -> None:
    from stix.errors import StixError

    with pytest.raises(StixError, match="cluster_name is required"):
        synth(placement("kubernetes", "g5.xlarge", region="us-east-1",
                        extra={"managed": "eks"}))


@pytest.mark.parametrize("case", ["cpu", "gpu", "eks", "gke", "aks"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"kubernetes-{case}")
