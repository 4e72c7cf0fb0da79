"""Every resource type the GCP program (and the GKE node pool) emits: what forces its
replacement, what the mocks answer, and its Terraform type (the provider is bridged)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stix.clouds.gcp import exposure
from stix.clouds.resource import Lookup, MockAnswer, ResourceType, TerraformType


def _instance_addresses(state: dict[str, Any], mark: Callable[[str], str]) -> None:
    for i, nic in enumerate(state.get("networkInterfaces") or []):
        nic.setdefault("networkIp", mark(f"networkInterfaces[{i}].networkIp"))
        for j, ac in enumerate(nic.get("accessConfigs") or []):
            ac.setdefault("natIp", mark(f"networkInterfaces[{i}].accessConfigs[{j}].natIp"))


def _tpu_hosts(state: dict[str, Any], mark: Callable[[str], str]) -> None:
    """A single-host TPU VM has one network endpoint (a pod slice would have one per
    host); its external address only when external IPs are enabled."""
    external = (state.get("networkConfig") or {}).get("enableExternalIps")
    endpoint: dict[str, Any] = {"ipAddress": mark("networkEndpoints[0].ipAddress"),
                                "port": 8470}
    endpoint["accessConfigs"] = ([{"externalIp": mark(
        "networkEndpoints[0].accessConfigs[0].externalIp")}] if external else [])
    state.setdefault("networkEndpoints", [endpoint])


TYPES = (
    ResourceType("gcp:compute/network:Network", ("name", "autoCreateSubnetworks"),
                 TerraformType("google_compute_network")),
    ResourceType("gcp:compute/subnetwork:Subnetwork", ("name", "network", "region"),
                 TerraformType("google_compute_subnetwork")),
    ResourceType("gcp:compute/firewall:Firewall", ("name", "network", "direction"),
                 TerraformType("google_compute_firewall"), exposure=exposure.firewall),
    ResourceType("gcp:compute/instance:Instance", (
        "name", "zone", "bootDisk", "networkInterfaces", "scheduling.provisioningModel",
        "scheduling.preemptible",
    ), TerraformType("google_compute_instance", maps=frozenset({"labels", "metadata"})),
        MockAnswer(_instance_addresses), exposure.instance),
    # google_tpu_v2_vm is in the google-beta Terraform provider only: no translation, so
    # the Terraform engine refuses a TPU stack by this type's name.
    ResourceType("gcp:tpu/v2Vm:V2Vm", (
        "name", "zone", "acceleratorType", "acceleratorConfig", "runtimeVersion",
        "networkConfig", "schedulingConfig", "serviceAccount", "dataDisks",
    ), None, MockAnswer(_tpu_hosts), exposure.tpu_vm),
    ResourceType("gcp:storage/bucket:Bucket", ("name", "location"),
                 TerraformType("google_storage_bucket"), exposure=exposure.bucket),
    ResourceType("gcp:serviceaccount/account:Account", ("accountId",),
                 TerraformType("google_service_account")),
    ResourceType("gcp:storage/bucketIAMMember:BucketIAMMember", ("bucket", "role", "member"),
                 TerraformType("google_storage_bucket_iam_member"),
                 exposure=exposure.bucket_member),
    ResourceType("gcp:compute/instanceIAMMember:InstanceIAMMember",
                 ("instanceName", "zone", "role", "member"),
                 TerraformType("google_compute_instance_iam_member")),
    ResourceType("gcp:container/nodePool:NodePool", ("name", "cluster", "location", "nodeConfig"),
                 TerraformType("google_container_node_pool")),
)

LOOKUPS = (
    Lookup("gcp:compute/getImage:getImage", ("id", "name", "selfLink"), "google_compute_image"),
)
