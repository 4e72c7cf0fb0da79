"""A GKE node pool in an existing GKE cluster, for Kubernetes placements with
`extra.managed: gke`."""

from __future__ import annotations

from typing import Any

from stix.clouds import common as c
from stix.clouds.gcp.program import DISK, gcp_labels
from stix.clouds.kubernetes.options import KubernetesOptions
from stix.clouds.kubernetes.pools import POOL_LABEL, pool_name
from stix.placement import Placement

# stix accelerator -> GKE accelerator type (bundled families need it named too)
ACCELERATORS = {
    "T4": "nvidia-tesla-t4", "P4": "nvidia-tesla-p4", "V100": "nvidia-tesla-v100",
    "P100": "nvidia-tesla-p100", "L4": "nvidia-l4", "A100": "nvidia-tesla-a100",
    "A100-80GB": "nvidia-a100-80gb", "H100": "nvidia-h100-80gb",
    "H100-MEGA": "nvidia-h100-mega-80gb", "H200": "nvidia-h200-141gb", "B200": "nvidia-b200",
}  # fmt: skip


def node_pool(p: Placement, cluster: str, labels: dict[str, str]) -> Any:
    import pulumi
    import pulumi_gcp as gcp

    provider = gcp.Provider(c.name(p, "gcp"), project=c.options(p, KubernetesOptions).project,
                            region=p.region, zone=p.zone)  # fmt: skip
    accelerators = None
    if p.accelerator is not None:
        kind = ACCELERATORS.get(p.accelerator.name)
        if kind is None:
            raise c.ProgramError(f"placement {p.cluster}: GKE has no accelerator type for "
                                 f"{p.accelerator.name}")
        accelerators = [{"type": kind, "count": int(p.accelerator.count),
                         "gpu_driver_installation_config": {"gpu_driver_version": "DEFAULT"}}]
    return gcp.container.NodePool(
        c.name(p, "pool"), name=pool_name(p), cluster=cluster,
        location=p.zone or p.region, node_count=p.num_nodes,
        node_config={
            "machine_type": p.instance_type, "disk_size_gb": p.disk_size,
            "disk_type": DISK[c.tier(p)], "spot": p.use_spot,
            "guest_accelerators": accelerators, "labels": labels,
            "resource_labels": gcp_labels(p),
            "taints": [{"key": POOL_LABEL, "value": p.cluster, "effect": "NO_SCHEDULE"}],
            "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        },
        opts=pulumi.ResourceOptions(provider=provider),
    )  # fmt: skip
