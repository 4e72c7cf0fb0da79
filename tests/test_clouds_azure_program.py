"""The Azure (azure-native) program under Pulumi's mocks."""

from __future__ import annotations

import base64

import pytest
from stack_support import PUBLIC_KEY, bucket, check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi_azure_native", reason="needs the pulumi extra")

VM = "azure-native:compute:VirtualMachine"
NIC = "azure-native:network:NetworkInterface"
NSG = "azure-native:network:NetworkSecurityGroup"


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cases = {
        "cpu": placement("azure", "Standard_D8s_v5", region="eastus"),
        "gpu": placement("azure", "Standard_NC24ads_A100_v4", region="westus3", num_nodes=2,
                         gpu=("A100-80GB", 1), use_spot=True, ports=["8000-8002"],
                         buckets=[bucket("azure", "ckpts"), bucket("s3", "x", False),
                                  bucket("azure", "scratch", persistent=False)]),
    }
    return {k: synth(p) for k, p in cases.items()}


def test_cpu_task(graphs: dict) -> None:
    g = graphs["cpu"]
    assert sorted(r.type for r in g.resources.values()) == sorted([
        "pulumi:providers:azure-native", "azure-native:resources:ResourceGroup",
        "azure-native:network:VirtualNetwork", NSG, "azure-native:network:Subnet",
        "azure-native:network:PublicIPAddress", NIC, VM])
    rg = ref("azure-native:resources:ResourceGroup", "t-rg", "name")
    vm = inputs(g, VM, "t-0")
    assert vm["resourceGroupName"] == rg and vm["location"] == "eastus"
    assert vm["hardwareProfile"] == {"vmSize": "Standard_D8s_v5"}
    assert vm["storageProfile"]["imageReference"] == {
        "offer": "0001-com-ubuntu-server-jammy", "publisher": "Canonical",
        "sku": "22_04-lts-gen2", "version": "latest"}
    assert vm["storageProfile"]["osDisk"]["diskSizeGB"] == 256
    os_profile = vm["osProfile"]
    assert base64.b64decode(os_profile["customData"]).decode() == (
        "#cloud-config\nhostname: node-0\n")
    linux = os_profile["linuxConfiguration"]
    assert linux["disablePasswordAuthentication"] is True
    assert linux["ssh"]["publicKeys"] == [{"keyData": PUBLIC_KEY,
                                           "path": "/home/stix/.ssh/authorized_keys"}]
    assert "priority" not in vm
    assert vm["networkProfile"]["networkInterfaces"][0]["id"] == ref(NIC, "t-0-nic")
    # Managed boot diagnostics: the serial log stix reads the host keys from.
    assert vm["diagnosticsProfile"] == {"bootDiagnostics": {"enabled": True}}
    assert vm["tags"]["stix-cluster"] == "t"
    rules = inputs(g, NSG, "t-nsg")["securityRules"]
    assert [r["destinationPortRanges"] for r in rules] == [["22"]]
    assert g.outputs["head_ip"] == ref("azure-native:network:PublicIPAddress", "t-0-ip",
                                       "ipAddress")


def test_spot_multi_node_with_ports_and_bucket(graphs: dict) -> None:
    g = graphs["gpu"]
    vms = g.of_type(VM)
    assert [v.name for v in vms] == ["t-0", "t-1"]
    assert all(v.inputs["priority"] == "Spot" and v.inputs["evictionPolicy"] == "Delete"
               for v in vms)
    assert vms[0].inputs["storageProfile"]["imageReference"]["publisher"] == "microsoft-dsvm"
    rules = inputs(g, NSG, "t-nsg")["securityRules"]
    assert rules[0]["destinationPortRanges"] == ["22", "8000-8002"]
    # only the container that dies with the cluster is in its stack (in the cluster's
    # account); the persistent one has a stack of its own and is only granted
    account = g.of_type("azure-native:storage:StorageAccount")
    assert [a.inputs["accountName"] for a in account] == ["stixt"]
    assert account[0].inputs["allowBlobPublicAccess"] is False
    assert account[0].inputs["encryption"]["keySource"] == "Microsoft.Storage"
    container = g.of_type("azure-native:storage:BlobContainer")
    assert [c.inputs["containerName"] for c in container] == ["scratch"]
    # each node's managed identity gets exactly the task's containers
    assert all(v.inputs["identity"] == {"type": "SystemAssigned"} for v in vms)
    grants = g.of_type("azure-native:authorization:RoleAssignment")
    assert [r.name for r in grants] == ["t-0-bucket-0-access", "t-0-bucket-1-access",
                                        "t-1-bucket-0-access", "t-1-bucket-1-access"]
    kept = grants[0].inputs["scope"]["$concat"]
    assert kept[-1].endswith("/resourceGroups/stix-bucket-ckpts/providers/Microsoft.Storage/"
                             "storageAccounts/stixckpts/blobServices/default/containers/ckpts")
    assert grants[1].inputs["scope"] == ref("azure-native:storage:BlobContainer", "t-bucket-1")
    assert grants[0].inputs["principalId"] == ref(VM, "t-0", "identity.principalId")
    role = grants[0].inputs["roleDefinitionId"]["$concat"]
    assert role[-1].endswith("/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe")
    assert role[1]["$data"].startswith("azure-native:authorization:getClientConfig::")
    assert "identity" not in inputs(graphs["cpu"], VM, "t-0")


@pytest.mark.parametrize("case", ["cpu", "gpu"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"azure-{case}")


def test_autostop_lets_each_vm_deallocate_only_itself() -> None:
    g = synth(placement("azure", "Standard_D8s_v5", region="eastus", num_nodes=2,
                        autostop_minutes=10))
    for rank in (0, 1):
        vm = inputs(g, VM, f"t-{rank}")
        assert vm["identity"] == {"type": "SystemAssigned"}
        grant = inputs(g, "azure-native:authorization:RoleAssignment", f"t-{rank}-self")
        assert grant["scope"] == ref(VM, f"t-{rank}")
        assert grant["roleDefinitionId"]["$concat"][-1].endswith(
            "/roleDefinitions/9980e02c-c2be-4d73-94e8-173b1dc7cf3c")  # VM Contributor
        assert grant["principalId"] == ref(VM, f"t-{rank}", "identity.principalId")
    plain = synth(placement("azure", "Standard_D8s_v5", region="eastus"))
    assert "identity" not in inputs(plain, VM, "t-0")
    assert plain.of_type("azure-native:authorization:RoleAssignment") == []
