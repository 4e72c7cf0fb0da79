"""Managed Kubernetes: a GPU (or CPU) node pool added to an existing EKS, GKE or AKS cluster,
and the task's pods pinned to it.

The pool's nodes carry the label `stix-pool=<cluster>` and the taint
`stix-pool=<cluster>:NoSchedule`, so only this task's pods (which select the label and
tolerate the taint) land there. Plain provider resources (no pulumi-eks / awsx: those are
remote components that mocks cannot see into). `extra.managed` picks the service,
`extra.cluster_name` the cluster, `extra.context` the kubeconfig context for the pods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stix.placement import Placement
from stix.program import common as c
from stix.program.kubernetes import workload

POOL_LABEL = "stix-pool"
# stix accelerator -> GKE accelerator type (bundled families need it named too)
GKE_ACCELERATORS = {
    "T4": "nvidia-tesla-t4", "P4": "nvidia-tesla-p4", "V100": "nvidia-tesla-v100",
    "P100": "nvidia-tesla-p100", "L4": "nvidia-l4", "A100": "nvidia-tesla-a100",
    "A100-80GB": "nvidia-a100-80gb", "H100": "nvidia-h100-80gb",
    "H100-MEGA": "nvidia-h100-mega-80gb", "H200": "nvidia-h200-141gb", "B200": "nvidia-b200",
}  # fmt: skip
_EKS_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
                 "AmazonEC2ContainerRegistryReadOnly")  # fmt: skip


def pool_name(p: Placement, limit: int = 40) -> str:
    return f"stix-{p.cluster}"[:limit].rstrip("-")


def _eks(p: Placement, cluster: str, labels: dict[str, str]) -> Any:
    import pulumi
    import pulumi_aws as aws

    provider = aws.Provider(c.name(p, "aws"), region=p.region)
    opts = pulumi.ResourceOptions(provider=provider)
    subnets = p.extra.get("subnet_ids")
    if not subnets or not isinstance(subnets, list):
        raise c.ProgramError(f"placement {p.cluster}: an EKS node group needs extra.subnet_ids "
                             "(a list of the cluster's subnets)")
    tags = c.labels(p)
    role_arn: Any = c.extra_str(p, "node_role_arn")
    attachments: list[Any] = []
    if not role_arn:
        role = aws.iam.Role(c.name(p, "node-role"), tags=tags, opts=opts,
                            assume_role_policy=pulumi.Output.json_dumps({
                                "Version": "2012-10-17", "Statement": [{
                                    "Effect": "Allow", "Action": "sts:AssumeRole",
                                    "Principal": {"Service": "ec2.amazonaws.com"}}]}))  # fmt: skip
        for policy in _EKS_POLICIES:
            attachments.append(aws.iam.RolePolicyAttachment(
                c.name(p, f"node-{policy.lower().replace('_', '-')}"), role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}", opts=opts))  # fmt: skip
        role_arn = role.arn
    arm = p.arch == "arm64"
    ami_type = ("AL2023_ARM_64_NVIDIA" if arm else "AL2023_x86_64_NVIDIA") if p.accelerator \
        else ("AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD")
    return aws.eks.NodeGroup(
        c.name(p, "pool"), cluster_name=cluster, node_group_name=pool_name(p),
        node_role_arn=role_arn, subnet_ids=sorted(str(s) for s in subnets),
        instance_types=[p.instance_type], ami_type=ami_type, disk_size=p.disk_size,
        capacity_type="SPOT" if p.use_spot else "ON_DEMAND",
        scaling_config={"desired_size": p.num_nodes, "min_size": p.num_nodes,
                        "max_size": p.num_nodes},
        labels=labels, taints=[{"key": POOL_LABEL, "value": p.cluster, "effect": "NO_SCHEDULE"}],
        tags=tags, opts=pulumi.ResourceOptions(provider=provider, depends_on=attachments),
    )  # fmt: skip


def _gke(p: Placement, cluster: str, labels: dict[str, str]) -> Any:
    import pulumi
    import pulumi_gcp as gcp

    provider = gcp.Provider(c.name(p, "gcp"), project=c.extra_str(p, "project"),
                            region=p.region, zone=p.zone)  # fmt: skip
    accelerators = None
    if p.accelerator is not None:
        kind = GKE_ACCELERATORS.get(p.accelerator.name)
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
            "disk_type": c.GCP_DISK[c.tier(p)], "spot": p.use_spot,
            "guest_accelerators": accelerators, "labels": labels,
            "resource_labels": c.gcp_labels(p),
            "taints": [{"key": POOL_LABEL, "value": p.cluster, "effect": "NO_SCHEDULE"}],
            "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
        },
        opts=pulumi.ResourceOptions(provider=provider),
    )  # fmt: skip


def _aks(p: Placement, cluster: str, labels: dict[str, str]) -> Any:
    import pulumi
    import pulumi_azure_native as az

    provider = az.Provider(c.name(p, "azure"), location=p.region)
    rg = c.require(p, "resource_group", "the resource group of the AKS cluster")
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


_POOLS = {"eks": _eks, "gke": _gke, "aks": _aks}


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:  # fmt: skip
    import pulumi_kubernetes as k8s

    p = placement
    managed = str(p.extra.get("managed"))
    cluster = c.require(p, "cluster_name", f"the {managed.upper()} cluster to add the pool to")
    context = c.require(p, "context", f"the kubeconfig context of {cluster}")
    labels = {POOL_LABEL: p.cluster}
    pool = _POOLS[managed](p, cluster, labels)
    provider = k8s.Provider(c.name(p, "k8s"), context=context)
    tolerations = [{"key": POOL_LABEL, "operator": "Equal", "value": p.cluster,
                    "effect": "NoSchedule"}]  # fmt: skip
    if p.accelerator is not None:
        tolerations.append({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
    out = workload(p, provider, node_selector=labels, tolerations=tolerations, depends_on=[pool])
    out.update(context=context, managed=managed, cluster_name=cluster)
    return out
