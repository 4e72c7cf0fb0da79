"""Every resource type and lookup the OCI program emits: what forces replacement, what
it exposes to the internet. pulumi-oci is bridged from OCI's Terraform provider, but stix
has no Terraform translation for it yet (nothing here can check one offline: no OCI
provider in the local mirror), so the types carry no Terraform type and `--engine
terraform` refuses OCI stacks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.clouds.resource import WORLD, Exposed, Lookup, ResourceType

if TYPE_CHECKING:
    from stix.stack.graph import Graph, Resource


def security_list(resource: Resource, graph: Graph) -> list[Exposed]:
    """Ingress rules open to everyone."""
    open_ = []
    for rule in resource.inputs.get("ingressSecurityRules") or []:
        if rule.get("source") not in WORLD:
            continue
        tcp = rule.get("tcpOptions") or {}
        low, high = tcp.get("min"), tcp.get("max")
        ports = "all ports" if low is None else str(low) if low == high else f"{low}-{high}"
        proto = "tcp" if rule.get("protocol") == "6" else str(rule.get("protocol"))
        open_.append(Exposed("open", f"{proto} {ports} open to {rule['source']}"))
    return open_


def instance(resource: Resource, graph: Graph) -> list[Exposed]:
    vnic = resource.inputs.get("createVnicDetails") or {}
    if vnic.get("assignPublicIp", "true") != "false":
        return [Exposed("public_ip", f"{resource.name} has a public IP address")]
    return []


TYPES = (
    ResourceType("oci:Core/vcn:Vcn", ("compartmentId", "dnsLabel")),
    ResourceType("oci:Core/internetGateway:InternetGateway", ("compartmentId", "vcnId")),
    ResourceType("oci:Core/routeTable:RouteTable", ("compartmentId", "vcnId")),
    ResourceType("oci:Core/securityList:SecurityList", ("compartmentId", "vcnId"),
                 exposure=security_list),
    ResourceType("oci:Core/subnet:Subnet", (
        "compartmentId", "vcnId", "cidrBlock", "availabilityDomain", "dnsLabel",
        "prohibitPublicIpOnVnic", "prohibitInternetIngress")),
    ResourceType("oci:Core/instance:Instance", (
        "compartmentId", "availabilityDomain", "sourceDetails.sourceId",
        "sourceDetails.sourceType", "createVnicDetails.subnetId",
        "createVnicDetails.assignPublicIp", "preemptibleInstanceConfig", "metadata",
        "faultDomain",
    ), exposure=instance),
)

LOOKUPS = (
    Lookup("oci:Identity/getAvailabilityDomain:getAvailabilityDomain",
           ("compartmentId", "id", "name")),
    Lookup("oci:Core/getImages:getImages", ("id",)),
)
