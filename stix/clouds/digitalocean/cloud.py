"""DigitalOcean as stix knows it: Droplets in a VPC behind a Cloud Firewall.

What it cannot do, said where it matters: no spot market (spot tasks are refused at
plan); no `stix stop`, because DigitalOcean bills a powered-off Droplet in full until it
is destroyed (`stix down` is what ends the bill), and a task's autostop is reported as
saving nothing for the same reason; a Droplet's disk comes with its size (no disk size or
tier to set); a second cluster at the same time names the account's copy of the stix key
(`extra.ssh_key`: DigitalOcean refuses a public key twice); no bucket
store of its own (Spaces is not wired in); and no Terraform translation: the bridged
types are tabled (`types.py`), but stix's translator pins every provider to `>= 5.0`,
which no release of DigitalOcean's Terraform provider (2.x) meets.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.base import (
    Capabilities,
    Charge,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
    NodeState,
)
from stix.clouds.digitalocean.options import DigitalOceanOptions
from stix.clouds.resource import ResourceType

if TYPE_CHECKING:
    from stix.clouds.tagged import Deleted, Scan, TaggedResource
    from stix.placement import Placement

_IMAGE = re.compile(r"[a-z0-9][a-z0-9.-]*|\d+")


class DigitalOceanCloud(Cloud):
    name = "digitalocean"
    credential_paths = ("~/.config/doctl",)
    home_regions = ("nyc3", "nyc1", "sfo3", "nyc2", "atl1", "tor1")
    capabilities = Capabilities(zoned_prices=False, spot=False, stop_start=False,
                                stopped_bills=True)
    options_model: ClassVar[type[InfraOptions]] = DigitalOceanOptions
    pulumi_packages = ("digitalocean",)
    sdk_distributions = ("pulumi", "pulumi-digitalocean")
    user_data_limit = 64 * 1024
    # The API's documented failures as its Go client (godo) prints them in engine output:
    # "POST https://api.digitalocean.com/v2/droplets: 422 (request "…") <message>".
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = (
        ("capacity", r"size is not available in this region|is not available in (?:this|the "
                     r"selected) region|region is (?:not|currently un)available|"
                     r"size (?:is )?unavailable"),
        ("quota", r"exceed your droplet limit|droplet limit exceeded|too_many_requests|"
                  r"api rate limit exceeded|429 \(request"),
        ("credentials", r"unable to authenticate you|: 401 \(request|: 403 \(request|"
                        r"you are not authorized to perform this operation"),
    )
    ignores: ClassVar[dict[str, str]] = {
        "disk_size": "a Droplet's disk comes with its size (e.g. 160 GB on s-4vcpu-8gb, "
                     "720 GB on gpu-h100x1-80gb); stix attaches no volume",
        "disk_tier": "a Droplet's disk comes with its size; there is no disk tier to choose",
        "autostop": "an idle node still shuts itself down, but DigitalOcean bills a "
                    "powered-off Droplet in full, and a Droplet has no identity to delete "
                    "itself with (no autodown); only `stix down` ends the bill",
    }

    def image_problem(self, ref: str) -> str | None:
        if _IMAGE.fullmatch(ref):
            return None
        return f"{ref!r} is not a DigitalOcean image slug (ubuntu-22-04-x64) or image id"



    def node_states(self, placement: Placement,
                    outputs: dict[str, Any]) -> dict[str, NodeState] | None:
        from stix.clouds.digitalocean.nodes import node_states

        return node_states(placement)

    def tagged_resources(self, regions: list[str] | None) -> Scan:
        from stix.clouds.digitalocean.orphans import scan

        return scan(regions)

    def delete_tagged(self, resources: list[TaggedResource]) -> list[Deleted]:
        from stix.clouds.digitalocean.orphans import delete

        return delete(resources)

    def resource_types(self) -> tuple[ResourceType, ...]:
        from stix.clouds.digitalocean.types import TYPES

        return TYPES

    # -- prices and sizes ----------------------------------------------------------------

    snapshot = "stix.clouds.digitalocean.snapshot"
    price_source = "the DigitalOcean sizes API (GET /v2/sizes; needs an API token)"
    type_list_source = "stix.clouds.digitalocean.machines"

    def fetch_prices(self, opener: Any, base: Any, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        """The sizes API wants the token in a header, which the generic opener cannot
        send: the fetch goes through its own opener holding the token."""
        from stix.clouds.digitalocean.prices import bearer_opener, fetch, resolve_token

        return fetch(bearer_opener(resolve_token()), base, regions=regions)

    def machine_types(self) -> dict[str, MachineType]:
        from stix.clouds.digitalocean.machines import TYPES

        return TYPES

    def is_shared_core(self, instance_type: str) -> bool:
        # Basic Droplets (s-*) share their vCPUs' hyper-threads with other Droplets.
        return instance_type.startswith("s-")

    def node_charges(self, placement: Placement) -> list[Charge]:
        """Nothing besides the Droplet: its disk and public IPv4 address are in its price."""
        return []
