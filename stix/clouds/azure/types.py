"""Every resource type the Azure program (and the AKS agent pool) emits: what forces its
replacement and what the mocks answer. azure-native is not a bridged provider: there is
no one-to-one Terraform translation, so `--engine terraform` refuses Azure stacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stix.clouds.azure import exposure
from stix.clouds.resource import Lookup, MockAnswer, ResourceType


def _nic_address(state: dict[str, Any], mark: Callable[[str], str]) -> None:
    for i, cfg in enumerate(state.get("ipConfigurations") or []):
        cfg.setdefault("privateIPAddress", mark(f"ipConfigurations[{i}].privateIPAddress"))


def _vm_identity(state: dict[str, Any], mark: Callable[[str], str]) -> None:
    if state.get("identity"):
        state["identity"].setdefault("principalId", mark("identity.principalId"))


TYPES = (
    ResourceType("azure-native:compute:VirtualMachine", (
        "vmName", "zones", "storageProfile.imageReference", "osProfile", "priority",
        "evictionPolicy",
    ), mock=MockAnswer(_vm_identity)),
    ResourceType("azure-native:network:NetworkInterface", ("networkInterfaceName",),
                 mock=MockAnswer(_nic_address)),
    ResourceType("azure-native:network:PublicIPAddress", ("publicIpAddressName", "sku"),
                 exposure=exposure.public_ip),
    ResourceType("azure-native:network:VirtualNetwork", ("virtualNetworkName",)),
    ResourceType("azure-native:network:Subnet", ("subnetName", "virtualNetworkName")),
    ResourceType("azure-native:network:NetworkSecurityGroup", ("networkSecurityGroupName",),
                 exposure=exposure.security_group),
    ResourceType("azure-native:resources:ResourceGroup", ("resourceGroupName",)),
    ResourceType("azure-native:storage:StorageAccount", ("accountName", "kind"),
                 exposure=exposure.storage_account),
    ResourceType("azure-native:storage:BlobContainer", ("containerName", "accountName"),
                 exposure=exposure.container),
    ResourceType("azure-native:authorization:RoleAssignment", (
        "roleAssignmentName", "principalId", "roleDefinitionId", "scope", "principalType")),
    ResourceType("azure-native:containerservice:AgentPool", (
        "agentPoolName", "resourceName", "vmSize", "osDiskSizeGB", "scaleSetPriority",
        "availabilityZones", "nodeTaints",
    )),
)

LOOKUPS = (
    Lookup("azure-native:authorization:getClientConfig",
           ("clientId", "objectId", "subscriptionId", "tenantId")),
)
