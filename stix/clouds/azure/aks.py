"""An AKS agent pool in an existing AKS cluster, for Kubernetes placements with
`extra.managed: aks`."""

from __future__ import annotations

from typing import Any

from stix.clouds import common as c
from stix.clouds.kubernetes.options import KubernetesOptions
from stix.clouds.kubernetes.pools import POOL_LABEL
from stix.placement import Placement


def agent_pool(p: Placement, cluster: str, labels: dict[str, str]) -> Any:
    import pulumi
    import pulumi_azure_native as az

    provider = az.Provider(c.name(p, "azure"), location=p.region)
    rg = c.require(p, "resource_group", c.options(p, KubernetesOptions).resource_group,
                   "the resource group of the AKS cluster")
    spot: dict[str, Any] = {}
    if p.use_spot:
        spot = {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete",
                "spot_max_price": -1}  # fmt: skip
    name = "".join(ch for ch in p.cluster if ch.isalnum())[:12] or "stix"
    return az.containerservice.AgentPool(
        c.name(p, "pool"), agent_pool_name=name, resource_group_name=rg, resource_name_=cluster,
        count=p.num_nodes, vm_size=p.instance_type, os_disk_size_gb=p.disk_size,
        os_type="Linux", mode="User", node_labels=labels,
        node_taints=[f"{POOL_LABEL}={p.cluster}:NoSchedule"],
        availability_zones=[p.zone] if p.zone else None, tags=c.labels(p),
        opts=pulumi.ResourceOptions(provider=provider), **spot,
    )  # fmt: skip
