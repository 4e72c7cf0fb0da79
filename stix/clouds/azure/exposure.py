"""What Azure resources expose to the internet, read from their planned inputs: inbound
security rules that admit everyone, public IP addresses, storage that allows public
blob access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stix.clouds.resource import WORLD, Exposed

if TYPE_CHECKING:
    from stix.stack.graph import Graph, Resource

# Source prefixes Azure reads as "anyone on the internet".
_ANYONE = WORLD | {"*", "Internet", "Any", "0.0.0.0"}


def _sources(rule: dict[str, Any]) -> list[str]:
    many = rule.get("sourceAddressPrefixes") or []
    one = rule.get("sourceAddressPrefix")
    return [str(x) for x in [*many, *([one] if one else [])]]


def security_group(resource: Resource, graph: Graph) -> list[Exposed]:
    out = []
    for rule in resource.inputs.get("securityRules") or []:
        if rule.get("direction") != "Inbound" or rule.get("access") != "Allow":
            continue
        world = sorted(set(_sources(rule)) & _ANYONE)
        if world:
            ports = rule.get("destinationPortRanges") or [rule.get("destinationPortRange", "*")]
            out.append(Exposed("open", f"{rule.get('protocol', '*')} {','.join(map(str, ports))} "
                                       f"({rule.get('name')}) open to {', '.join(world)}"))
    return out


def public_ip(resource: Resource, graph: Graph) -> list[Exposed]:
    return [Exposed("public_ip", f"public IP address {resource.name}")]


def storage_account(resource: Resource, graph: Graph) -> list[Exposed]:
    if resource.inputs.get("allowBlobPublicAccess") is not False:
        name = resource.inputs.get("accountName", resource.name)
        return [Exposed("public_bucket", f"storage account {name} allows public blob access")]
    return []


def container(resource: Resource, graph: Graph) -> list[Exposed]:
    if resource.inputs.get("publicAccess", "None") != "None":
        name = resource.inputs.get("containerName", resource.name)
        return [Exposed("public_bucket", f"container {name} has public access "
                                         f"{resource.inputs['publicAccess']}")]
    return []
