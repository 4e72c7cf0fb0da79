"""The resource types of Lambda's program: dynamic-provider types (`stix.clouds.dynamic`),
what forces their replacement, and what each exposes to the internet.

Every Lambda instance has a public IPv4 address (the API has no private-only instance).
A ruleset's rules are what the stack opens; the account's global ruleset, which stix never
writes, applies on top, and Lambda documents that firewall rules do not apply in
us-south-1 at all: the exposure list says both."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from stix.clouds.resource import WORLD, Exposed, ResourceType

if TYPE_CHECKING:
    from stix.clouds.dynamic import DynamicType
    from stix.stack.graph import Graph, Resource

MODULE = "lambda"
PACKAGE = f"pulumi-python:dynamic/{MODULE}"  # = DynamicType.package
NO_FIREWALL_REGIONS = frozenset({"us-south-1"})  # Lambda: firewall rules do not apply here


@cache
def dynamic_types() -> tuple[DynamicType, ...]:
    from stix.clouds.dynamic import DynamicType

    ops = "stix.clouds.lambda_cloud.api"
    return (
        DynamicType(MODULE, "SshKey", f"{ops}:SshKey", replace_on=("name", "public_key")),
        DynamicType(MODULE, "FirewallRuleset", f"{ops}:FirewallRuleset",
                    replace_on=("region",)),
        DynamicType(MODULE, "Instance", f"{ops}:Instance",
                    replace_on=("region", "instance_type", "ssh_key_name", "user_data",
                                "image", "firewall_ruleset_ids", "tags"),
                    computed=("public_ip", "private_ip", "status")),
    )


def by_name(name: str) -> DynamicType:
    return next(t for t in dynamic_types() if t.name == name)


def _ruleset(resource: Resource, graph: Graph) -> list[Exposed]:
    out = []
    for rule in resource.inputs.get("rules") or []:
        if rule.get("source_network") in WORLD:
            low, high = (rule.get("port_range") or ["?", "?"])[:2]
            ports = str(low) if low == high else f"{low}-{high}"
            out.append(Exposed("open", f"{rule.get('protocol', 'tcp')} {ports} open to "
                                       f"{rule['source_network']}"))
    return out


def _instance(resource: Resource, graph: Graph) -> list[Exposed]:
    out = [Exposed("public_ip", f"{resource.name} has a public IPv4 address (every Lambda "
                                "instance has one)")]
    if resource.inputs.get("region") in NO_FIREWALL_REGIONS:
        out.append(Exposed("open", f"{resource.name}: every port open to 0.0.0.0/0 "
                                   f"(Lambda applies no firewall rules in "
                                   f"{resource.inputs['region']})"))
    return out


_EXPOSURE = {"FirewallRuleset": _ruleset, "Instance": _instance}


@cache
def resource_types() -> tuple[ResourceType, ...]:
    return tuple(t.resource_type(_EXPOSURE.get(t.name)) for t in dynamic_types())
