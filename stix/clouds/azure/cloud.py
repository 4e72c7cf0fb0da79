"""Azure as stix knows it: VMs in a resource group and virtual network (azure-native),
blob containers, AKS agent pools. Prices are per region (no zone column)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from stix.clouds.azure.options import AzureOptions
from stix.clouds.base import (
    Capabilities,
    Charge,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
    NodeState,
    Retired,
    Store,
    StoreTool,
)
from stix.clouds.resource import Lookup, ResourceType

if TYPE_CHECKING:
    from stix.clouds.tagged import Deleted, Scan, TaggedResource
    from stix.placement import Bucket, Placement
    from stix.remote.transport import NodeAddress

_ARM = re.compile(r"^Standard_[A-Z]+\d+[a-z]*p[a-z]*_v\d+$")


class BlobStore(Store):
    def account(self, cluster: str, bucket: Bucket) -> str:
        """The bucket's storage account, or, for containers stix creates, one derived from
        the owner (3-24 lowercase alphanumerics): the bucket itself when it outlives the
        cluster (its own stack), else the cluster."""
        if bucket.account:
            return bucket.account
        owner = bucket.name if bucket.persistent else cluster
        return ("stix" + re.sub(r"[^a-z0-9]", "", owner.lower()))[:24]

    def url(self, bucket: str, prefix: str, account: str) -> str:
        url = f"https://{account}.blob.core.windows.net/{quote(bucket, safe='')}"
        return url + (f"/{quote(prefix)}" if prefix else "")


class AzureCloud(Cloud):
    name = "azure"
    credential_paths = ("~/.azure", "$AZURE_CONFIG_DIR")
    home_regions = ("eastus", "eastus2", "westus2")
    capabilities = Capabilities(zoned_prices=False, stop_start=True, stop_spot=True,
                                managed_kubernetes="aks", autostop=("stop", "down"))
    options_model: ClassVar[type[InfraOptions]] = AzureOptions
    pulumi_packages = ("azure-native",)
    sdk_distributions = ("pulumi", "pulumi-azure-native")
    user_data_limit = 64 * 1024  # custom data
    # Every azure-native resource lives in one location and resource group for good.
    replace_on_all = ("location", "resourceGroupName")
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = (
        ("capacity", r"SkuNotAvailable|AllocationFailed|ZonalAllocationFailed|"
                     r"OverconstrainedAllocationRequest"),
        ("spot", r"OperationNotAllowed.*LowPriority"),
        ("quota", r"QuotaExceeded|OperationNotAllowed.*quota"),
        ("credentials", r"AuthorizationFailed"),
    )
    store = BlobStore("azure", {"MOUNT": StoreTool("blobfuse2", ("fuse3",)),
                                "COPY": StoreTool("azcopy")},
                      template_dir="azure", account_pattern=r"[a-z0-9]{3,24}")
    autostop_template = "azure/autostop-action.sh.j2"

    def image_problem(self, ref: str) -> str | None:
        if ref.startswith("/subscriptions/") or re.fullmatch(r"[^:\s]+(?::[^:\s]+){3}", ref):
            return None
        return (f"{ref!r} is not an Azure image (a publisher:offer:sku:version URN or an "
                "image resource id)")



    def build_bucket(self, spec: Any) -> dict[str, Any]:
        from stix.clouds.azure.buckets import build

        return build(spec)

    def resource_types(self) -> tuple[ResourceType, ...]:
        from stix.clouds.azure.types import TYPES

        return TYPES

    def lookups(self) -> tuple[Lookup, ...]:
        from stix.clouds.azure.types import LOOKUPS

        return LOOKUPS

    def stack_config_keys(self, placement: Placement) -> dict[str, Any]:
        return {"azure-native:location": placement.region}

    def host_key_source(self, placement: Placement, outputs: dict[str, Any]) -> str:
        from stix.clouds.azure.hostkeys import source

        return source(placement, outputs)

    def host_keys(self, region: str, node: NodeAddress) -> list[str] | None:
        from stix.clouds.azure.hostkeys import console_host_keys

        return console_host_keys(region, node)

    def node_states(self, placement: Placement,
                    outputs: dict[str, Any]) -> dict[str, NodeState] | None:
        from stix.clouds.azure import power

        subscription, group = power.where(placement, outputs)
        return power.list_states(power.ARM, power.token(), subscription, group,
                                 placement.cluster)

    def set_power(self, placement: Placement, outputs: dict[str, Any], stopped: bool) -> None:
        from stix.clouds.azure import power

        subscription, group = power.where(placement, outputs)
        names = [n["name"] for n in outputs.get("nodes") or []]
        power.set_power(power.ARM, power.token(), subscription, group, placement.cluster,
                        names, stopped)

    def autostop_problem(self, placement: Placement, down: bool) -> str | None:
        from stix.clouds.azure.program import acts_on_itself

        if not acts_on_itself(placement):
            return ("an Azure VM deallocates or deletes itself with its own identity (an OS "
                    "shutdown leaves it billed), which the stack grants only when the task "
                    "sets autostop")
        return None

    def infer_arch(self, instance_type: str) -> str:
        return "arm64" if _ARM.match(instance_type) else "x86_64"

    def machine_types(self) -> dict[str, MachineType]:
        from stix.clouds.azure.machines import TYPES

        return TYPES

    def is_shared_core(self, instance_type: str) -> bool:
        # The B-series is burstable (CPU credits).
        return instance_type.startswith("Standard_B")

    retired = (
        Retired("K80", r"Standard_NC(6|12|24|24r)(_Promo)?",
                "Azure retired its NC-series (K80) on 6 Sep 2023", ("T4", "A10")),
        Retired("P100", r"Standard_NC(6|12|24|24r)s_v2",
                "Azure retired its NCv2-series (P100) on 6 Sep 2023", ("T4", "A100-80GB")),
        Retired("M60", r"Standard_NV(6|12|24)(_Promo)?",
                "Azure retired its NV-series (M60) on 6 Sep 2023", ("A10", "T4")),
        Retired("V100", r"Standard_NC(6s|12s|24s|24rs)_v3",
                "Azure retired its NCv3-series (V100): Standard_NC24rs_v3 on 31 Mar 2025, "
                "NC6s_v3, NC12s_v3 and NC24s_v3 on 30 Sep 2025", ("A100-80GB", "T4")),
    )

    snapshot = "stix.clouds.azure.snapshot"
    price_source = "the Azure Retail Prices API (no credentials; spot meters included)"
    type_list_source = "stix.clouds.azure.machines"

    def fetch_prices(self, opener: Any, base: Any, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        from stix.clouds.azure.prices import fetch

        return fetch(opener, base, regions=regions)

    def build_node_pool(self, placement: Placement, cluster: str,
                        labels: dict[str, str]) -> Any:
        """An AKS agent pool for `placement` in the existing cluster `cluster`."""
        from stix.clouds.azure.aks import agent_pool

        return agent_pool(placement, cluster, labels)

    def disk_hourly(self, tier: str, size_gb: float, region: str) -> float | None:
        from stix.clouds.azure.costs import disk_hourly

        return disk_hourly(tier, size_gb)

    def node_charges(self, placement: Placement) -> list[Charge]:
        from stix.clouds.azure.costs import node_charges
        from stix.clouds.common import tier

        disk = self.disk_hourly(tier(placement), placement.disk_size, placement.region)
        return node_charges(placement, disk)

    def not_counted(self, placement: Placement) -> list[str]:
        from stix.clouds.azure.costs import not_counted

        return [*super().not_counted(placement), *not_counted(placement)]

    def tagged_resources(self, regions: list[str] | None) -> Scan:
        from stix.clouds.azure.orphans import scan

        return scan(regions)

    def delete_tagged(self, resources: list[TaggedResource]) -> list[Deleted]:
        from stix.clouds.azure.orphans import delete

        return delete(resources)
