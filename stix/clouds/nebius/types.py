"""Every resource type the Nebius program emits: what forces its replacement, what the
offline mocks answer, and what it exposes to the internet. No Terraform types: the Nebius
resources are not translated (see `NebiusCloud.capabilities`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stix.clouds.resource import WORLD, Exposed, MockAnswer, ResourceType

if TYPE_CHECKING:
    from stix.stack.graph import Graph, Resource

PREFIX = "nebius:index/"
INSTANCE = f"{PREFIX}computeV1Instance:ComputeV1Instance"


def rule(resource: Resource, graph: Graph) -> list[Exposed]:
    """An ingress rule open to everyone (no source CIDRs and no source group means any)."""
    ingress = resource.inputs.get("ingress")
    if not isinstance(ingress, dict) or resource.inputs.get("access") != "ALLOW":
        return []
    cidrs = ingress.get("sourceCidrs") or []
    if ingress.get("sourceSecurityGroupId") and not cidrs:
        return []
    world = sorted(WORLD & set(cidrs)) or ([] if cidrs else ["any address"])
    if not world:
        return []
    ports = ", ".join(str(int(n)) for n in ingress.get("destinationPorts") or []) or "all ports"
    return [Exposed("open", f"{resource.inputs.get('protocol', 'ANY')} {ports} open to "
                            f"{', '.join(world)}")]


def instance(resource: Resource, graph: Graph) -> list[Exposed]:
    nics = resource.inputs.get("networkInterfaces") or []
    if any(isinstance(n, dict) and "publicIpAddress" in n for n in nics):
        return [Exposed("public_ip", f"{resource.name} has a public IP address")]
    return []


def _instance_status(state: dict[str, Any], mark: Callable[[str], str]) -> None:
    """The addresses Nebius reports in the instance's status, per interface."""
    nics = []
    for i, nic in enumerate(state.get("networkInterfaces") or []):
        at = f"status.networkInterfaces[{i}]"
        answer: dict[str, Any] = {"name": nic.get("name"),
                                  "ipAddress": {"address": mark(f"{at}.ipAddress.address")}}
        if "publicIpAddress" in nic:
            answer["publicIpAddress"] = {"address": mark(f"{at}.publicIpAddress.address")}
        nics.append(answer)
    state.setdefault("status", {"networkInterfaces": nics, "state": mark("status.state")})


TYPES = (
    ResourceType(f"{PREFIX}vpcV1Network:VpcV1Network", ("parentId",)),
    ResourceType(f"{PREFIX}vpcV1Subnet:VpcV1Subnet",
                 ("parentId", "networkId", "ipv4PrivatePools")),
    ResourceType(f"{PREFIX}vpcV1SecurityGroup:VpcV1SecurityGroup", ("parentId", "networkId")),
    ResourceType(f"{PREFIX}vpcV1SecurityRule:VpcV1SecurityRule",
                 ("parentId", "ingress", "egress"), exposure=rule),
    ResourceType(f"{PREFIX}computeV1Disk:ComputeV1Disk",
                 ("parentId", "type", "sourceImageFamily", "sourceImageId", "blockSizeBytes")),
    ResourceType(INSTANCE, ("parentId", "bootDisk", "preemptible", "networkInterfaces",
                            "cloudInitUserData", "gpuCluster"),
                 mock=MockAnswer(_instance_status), exposure=instance),
)
