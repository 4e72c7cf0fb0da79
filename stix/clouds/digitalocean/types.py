"""Every resource type the DigitalOcean program emits: what forces its replacement, what
the offline mocks answer, what it exposes to the internet, and its Terraform type (the
provider is bridged from DigitalOcean's Terraform provider: one to one; the translation
is not switched on, see `DigitalOceanCloud.capabilities`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stix.clouds.resource import WORLD, Exposed, MockAnswer, ResourceType, TerraformType

if TYPE_CHECKING:
    from stix.stack.graph import Graph, Resource

# Every key a Terraform rule block holds (the unset ones empty).
_RULE: dict[str, Any] = {"port_range": None, **{k: [] for k in (
    "source_addresses", "source_droplet_ids", "source_load_balancer_uids",
    "source_kubernetes_ids", "source_tags")}}
_OUT: dict[str, Any] = {"port_range": None, **{k: [] for k in (
    "destination_addresses", "destination_droplet_ids", "destination_load_balancer_uids",
    "destination_kubernetes_ids", "destination_tags")}}


def firewall(resource: Resource, graph: Graph) -> list[Exposed]:
    """Inbound rules open to everyone (their port range and protocol)."""
    out = []
    for rule in resource.inputs.get("inboundRules") or []:
        world = sorted(WORLD & set(rule.get("sourceAddresses") or []))
        if world:
            ports = rule.get("portRange") or "all"
            out.append(Exposed("open", f"{rule.get('protocol', 'tcp')} {ports} open to "
                                       f"{', '.join(world)}"))
    return out


def droplet(resource: Resource, graph: Graph) -> list[Exposed]:
    if resource.inputs.get("publicNetworking") is False:
        return []
    return [Exposed("public_ip", f"{resource.name} has a public IP address")]


def _answers(*attrs: str) -> MockAnswer:
    """Computed attributes the mocks answer with markers (addresses, fingerprints)."""

    def nested(state: dict[str, Any], mark: Callable[[str], str]) -> None:
        for attr in attrs:
            state.setdefault(attr, mark(attr))

    return MockAnswer(nested)


TYPES = (
    ResourceType("digitalocean:index/vpc:Vpc", ("region", "ipRange"),
                 TerraformType("digitalocean_vpc", autoname="name"), mock=_answers("urn")),
    ResourceType("digitalocean:index/sshKey:SshKey", ("publicKey",),
                 TerraformType("digitalocean_ssh_key", autoname="name"),
                 mock=_answers("fingerprint")),
    ResourceType("digitalocean:index/tag:Tag", ("name",), TerraformType("digitalocean_tag")),
    ResourceType("digitalocean:index/droplet:Droplet", (
        "image", "region", "vpcUuid", "sshKeys", "userData", "ipv6", "publicNetworking",
    ), TerraformType("digitalocean_droplet", maps=frozenset(), autoname="name"),
        mock=_answers("ipv4Address", "ipv4AddressPrivate", "urn"), exposure=droplet),
    ResourceType("digitalocean:index/firewall:Firewall", (), TerraformType(
        "digitalocean_firewall", maps=frozenset(), autoname="name",
        full_items={"inboundRules": _RULE, "outboundRules": _OUT},
        renames={"inboundRules": "inbound_rule", "outboundRules": "outbound_rule"}),
        exposure=firewall),
)
