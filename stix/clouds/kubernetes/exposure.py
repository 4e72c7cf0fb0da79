"""What Kubernetes resources expose: a LoadBalancer Service admits everyone unless it
names source ranges; a NodePort Service opens its ports on every node's address."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.clouds.resource import WORLD, Exposed

if TYPE_CHECKING:
    from stix.stack.graph import Graph, Resource


def service(resource: Resource, graph: Graph) -> list[Exposed]:
    spec = resource.inputs.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    ports = ",".join(str(p.get("port")) for p in spec.get("ports") or [])
    if kind == "LoadBalancer":
        ranges = spec.get("loadBalancerSourceRanges") or []
        world = sorted(WORLD & set(ranges)) if ranges else ["0.0.0.0/0"]
        if world:
            return [Exposed("open", f"LoadBalancer {resource.name} (ports {ports}) open to "
                                    f"{', '.join(world)}")]
        return [Exposed("public_ip", f"LoadBalancer {resource.name} has a public address "
                                     f"(ports {ports}, from {', '.join(ranges)})")]
    if kind == "NodePort":
        return [Exposed("open", f"NodePort {resource.name} (ports {ports}) open on every "
                                "node's address")]
    return []
