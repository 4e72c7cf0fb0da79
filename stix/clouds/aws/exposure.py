"""What AWS resources expose to the internet, read from their planned inputs: security
group rules open to everyone, instances with public addresses, buckets without a full
public access block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stix.clouds.resource import WORLD, Exposed

if TYPE_CHECKING:
    from stix.stack.graph import Graph, Resource

_BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _ports(rule: dict[str, Any]) -> str:
    proto = str(rule.get("protocol", "tcp"))
    if proto == "-1":
        return "all traffic"
    low, high = rule.get("fromPort"), rule.get("toPort")
    return f"{proto} {low}" if low == high else f"{proto} {low}-{high}"


def security_group(resource: Resource, graph: Graph) -> list[Exposed]:
    out = []
    for rule in resource.inputs.get("ingress") or []:
        world = sorted(WORLD & set((rule.get("cidrBlocks") or [])
                                   + (rule.get("ipv6CidrBlocks") or [])))
        if world:
            label = f" ({rule['description']})" if rule.get("description") else ""
            out.append(Exposed("open", f"{_ports(rule)}{label} open to {', '.join(world)}"))
    return out


def instance(resource: Resource, graph: Graph) -> list[Exposed]:
    if resource.inputs.get("associatePublicIpAddress"):
        return [Exposed("public_ip", f"{resource.name} has a public IP address")]
    return []


def bucket(resource: Resource, graph: Graph) -> list[Exposed]:
    for block in graph.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        ref = block.inputs.get("bucket")
        if (isinstance(ref, dict) and ref.get("$ref") == resource.key
                and all(block.inputs.get(flag) is True for flag in _BLOCKS)):
            return []
    name = resource.inputs.get("bucket", resource.name)
    return [Exposed("public_bucket", f"bucket {name} has no full public access block "
                                     "(its policy or ACLs could make it public)")]
