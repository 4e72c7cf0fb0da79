"""Managed Kubernetes: a node pool added to an existing EKS, GKE or AKS cluster (declared by
the cloud running that service), and the task's pods pinned to it by the pool's label and
taint. `extra.managed` picks the service, `extra.cluster_name` the cluster,
`extra.context` the kubeconfig context for the pods."""

from __future__ import annotations

from typing import Any

from stix.clouds import common as c
from stix.clouds.base import Cloud
from stix.clouds.kubernetes.options import KubernetesOptions
from stix.clouds.kubernetes.pools import POOL_LABEL
from stix.clouds.kubernetes.program import workload
from stix.placement import Placement


def build_managed(p: Placement, cloud: Cloud) -> dict[str, Any]:
    import pulumi_kubernetes as k8s

    o = c.options(p, KubernetesOptions)
    service = cloud.capabilities.managed_kubernetes or ""
    cluster = c.require(p, "cluster_name", o.cluster_name,
                        f"the {service.upper()} cluster to add the pool to")
    context = c.require(p, "context", o.context, f"the kubeconfig context of {cluster}")
    labels = {POOL_LABEL: p.cluster}
    pool = cloud.build_node_pool(p, cluster, labels)
    provider = k8s.Provider(c.name(p, "k8s"), context=context)
    tolerations = [{"key": POOL_LABEL, "operator": "Equal", "value": p.cluster,
                    "effect": "NoSchedule"}]  # fmt: skip
    if p.accelerator is not None:
        tolerations.append({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
    out = workload(p, provider, node_selector=labels, tolerations=tolerations, depends_on=[pool])
    out.update(context=context, managed=service, cluster_name=cluster)
    return out
