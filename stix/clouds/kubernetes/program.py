"""Kubernetes (an existing cluster, by kubeconfig context): one pod per node.

Declares: provider pinned to the context, a namespace (unless it is `default`), a headless
service so the pods find each other by name (`<pod>.<service>`), one pod per node
requesting the placement's CPUs, memory and `nvidia.com/gpu`, and a service for the task's
ports. Pods run `sleep infinity`, meant to be reached with `kubectl exec`, so no SSH key
goes into the cluster. `managed` reuses `workload` with a node selector and toleration for
the node pool it adds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stix.clouds import common as c
from stix.clouds.kubernetes.options import KubernetesOptions
from stix.placement import Placement

DEFAULT_IMAGE = "ubuntu:22.04"
DEFAULT_GPU_IMAGE = "nvidia/cuda:12.4.1-runtime-ubuntu22.04"
GPU_RESOURCE = "nvidia.com/gpu"


def container_image(p: Placement) -> str:
    if p.image_id:
        return p.image_id.removeprefix("docker:")
    given = c.options(p, KubernetesOptions).k8s_image
    if given:
        return given
    return DEFAULT_GPU_IMAGE if p.accelerator is not None else DEFAULT_IMAGE


def namespace_of(p: Placement) -> str:
    return c.options(p, KubernetesOptions).namespace or p.cluster


def _resources(p: Placement) -> dict[str, Any]:
    cpu = f"{p.vcpus:g}"
    memory = f"{p.memory_gib:g}Gi"
    requests = {"cpu": cpu, "memory": memory}
    limits = {"memory": memory}
    if p.accelerator is not None:
        gpus = str(int(p.accelerator.count))
        requests[GPU_RESOURCE] = gpus
        limits[GPU_RESOURCE] = gpus
    return {"requests": requests, "limits": limits}


def _ports(p: Placement) -> list[dict[str, Any]]:
    out = []
    for r in c.port_ranges(p):
        if r.high - r.low > 100:
            raise c.ProgramError(f"placement {p.cluster}: port range {r.text} is too wide for a "
                                 "Kubernetes service (at most 100 ports)")
        for port in range(r.low, r.high + 1):
            out.append({"name": f"p{port}", "port": port, "target_port": port, "protocol": "TCP"})
    return out


def _exposure(p: Placement) -> dict[str, Any]:
    """How the ports service is reached: a LoadBalancer admits only `ssh_cidrs` (when
    set); a NodePort cannot be limited by the Service, so limiting one is an error."""
    options = c.options(p, KubernetesOptions)
    kind = options.ports_service_type or "LoadBalancer"
    cidrs = options.ssh_cidrs
    if kind == "LoadBalancer":
        return {"type": kind, "load_balancer_source_ranges": sorted(cidrs) if cidrs else None}
    if kind == "NodePort" and cidrs and c.DEFAULT_SSH_CIDR not in cidrs:
        raise c.ProgramError(
            f"placement {p.cluster}: ports_service_type NodePort opens the ports on every "
            "node to whoever reaches the nodes; ssh_cidrs cannot limit it",
            hint="use LoadBalancer (source ranges) or ClusterIP with your own ingress")
    return {"type": kind}


def workload(p: Placement, provider: Any, *, node_selector: dict[str, str] | None = None,
             tolerations: list[dict[str, str]] | None = None,
             depends_on: list[Any] | None = None) -> dict[str, Any]:
    """Namespace, services and pods for `p` on the cluster `provider` talks to."""
    import pulumi
    import pulumi_kubernetes as k8s

    opts = pulumi.ResourceOptions(provider=provider, depends_on=depends_on or [])
    labels = c.labels(p)
    ns_name = namespace_of(p)
    ns: Any = ns_name
    if ns_name != "default":
        ns = k8s.core.v1.Namespace(c.name(p, "ns"), metadata={"name": ns_name, "labels": labels},
                                   opts=opts).metadata.name
    selector = {"stix-cluster": p.cluster}
    headless = k8s.core.v1.Service(
        c.name(p, "nodes"), opts=opts,
        metadata={"name": c.name(p, "nodes"), "namespace": ns, "labels": labels},
        spec={"cluster_ip": "None", "selector": selector, "publish_not_ready_addresses": True},
    )  # fmt: skip
    ports = _ports(p)
    if ports:
        k8s.core.v1.Service(
            c.name(p, "ports"), opts=opts,
            metadata={"name": c.name(p, "ports"), "namespace": ns, "labels": labels},
            spec={**_exposure(p), "selector": {**selector, "stix-node-rank": "0"},
                  "ports": ports},
        )  # fmt: skip
    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        pod = k8s.core.v1.Pod(
            node, opts=opts,
            metadata={"name": node, "namespace": ns,
                      "labels": {**labels, "stix-node-rank": str(rank)}},
            spec={
                "hostname": node, "subdomain": headless.metadata.name,
                "restart_policy": "Never", "node_selector": node_selector,
                "tolerations": tolerations,
                "containers": [{
                    "name": "node", "image": container_image(p),
                    "command": ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"],
                    "resources": _resources(p),
                    "ports": [{"container_port": x["port"]} for x in ports] or None,
                }],
            },
        )  # fmt: skip
        nodes.append({"name": node, "private_ip": pod.status.pod_ip, "public_ip": None})
    return c.outputs(nodes, p.ssh_user, namespace=ns_name)


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:  # fmt: skip
    import pulumi_kubernetes as k8s

    # The optimizer reads `infra: k8s/<context>` as the region; `extra.context` overrides.
    context = c.options(placement, KubernetesOptions).context or placement.region
    provider = k8s.Provider(c.name(placement, "k8s"), context=context)
    out = workload(placement, provider)
    out["context"] = context
    return out
