"""What GCP resources expose to the internet, read from their planned inputs: firewall
rules open to everyone, instances and TPU VMs with an external address, buckets without enforced
public access prevention or granted to everyone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.clouds.resource import WORLD, Exposed

if TYPE_CHECKING:
    from stix.stack.graph import Graph, Resource

_EVERYONE = ("allUsers", "allAuthenticatedUsers")


def firewall(resource: Resource, graph: Graph) -> list[Exposed]:
    inputs = resource.inputs
    if inputs.get("direction", "INGRESS") != "INGRESS" or inputs.get("disabled"):
        return []
    world = sorted(WORLD & set(inputs.get("sourceRanges") or []))
    if not world:
        return []
    allowed = []
    for allow in inputs.get("allows") or []:
        ports = ",".join(allow.get("ports") or []) or "all ports"
        allowed.append(f"{allow.get('protocol', 'all')} {ports}")
    return [Exposed("open", f"{'; '.join(allowed) or 'nothing'} open to {', '.join(world)}")]


def instance(resource: Resource, graph: Graph) -> list[Exposed]:
    nics = resource.inputs.get("networkInterfaces") or []
    if any(nic.get("accessConfigs") for nic in nics):
        return [Exposed("public_ip", f"{resource.name} has an external IP address")]
    return []


def tpu_vm(resource: Resource, graph: Graph) -> list[Exposed]:
    if (resource.inputs.get("networkConfig") or {}).get("enableExternalIps"):
        return [Exposed("public_ip", f"{resource.name} has an external IP address")]
    return []


def bucket(resource: Resource, graph: Graph) -> list[Exposed]:
    name = resource.inputs.get("name", resource.name)
    if resource.inputs.get("publicAccessPrevention") != "enforced":
        return [Exposed("public_bucket", f"bucket {name} does not enforce public access "
                                         "prevention (an IAM grant could make it public)")]
    return []


def bucket_member(resource: Resource, graph: Graph) -> list[Exposed]:
    member = str(resource.inputs.get("member", ""))
    if member in _EVERYONE:
        return [Exposed("public_bucket", f"{member} granted {resource.inputs.get('role')} "
                                         "on a bucket")]
    return []
