"""Vast.ai as stix knows it: a marketplace of GPU hosts whose instances are containers,
rented from the cheapest matching offer at apply time, one node per cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.base import (
    Capabilities,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
)
from stix.clouds.vast.errors import CODES
from stix.clouds.vast.options import VastOptions

if TYPE_CHECKING:
    from collections.abc import Sequence

    from stix.catalog.schema import Offer
    from stix.placement import Placement


class VastCloud(Cloud):
    name = "vast"
    credential_paths = ("~/.config/vastai", "~/.vast_api_key", "$VAST_API_KEY")
    # Interruptible (bid) instances are its spot market; an on-demand instance can be
    # stopped (compute billing ends, the disk is billed on) and started when its host
    # has the GPUs free again.
    capabilities = Capabilities(zoned_prices=False, stop_start=True, container_images=True,
                                multi_node=False, port_firewall=False, example_prices=True)
    options_model: ClassVar[type[InfraOptions]] = VastOptions
    pulumi_packages = ("pulumi-python:dynamic/vast",)
    sdk_distributions = ("pulumi",)
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = CODES
    ignores: ClassVar[dict[str, str]] = {
        "disk_tier": "a Vast instance gets its host's disk, whatever its speed",
    }

    def image_problem(self, ref: str) -> str | None:
        from stix.remote.container import image_problem

        if not ref.startswith("docker:"):
            return (f"{ref!r}: Vast instances are containers; name an image as "
                    "docker:IMAGE (docker:pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime)")
        return image_problem(ref.removeprefix("docker:"))




    # -- prices: Vast's live offer search; the shipped rows are an example --------------

    price_source = ("Vast's offer search (GET https://console.vast.ai/api/v0/bundles/, no "
                    "account needed): live, the market changes by the minute")
    type_list_source = "stix.clouds.vast.machines"

    def fetch_prices(self, opener: Any, base: Any, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        from stix.clouds.vast.prices import fetch

        return fetch(opener, base, regions=regions)

    def machine_types(self) -> dict[str, MachineType]:
        from stix.catalog import load_catalog
        from stix.clouds.vast.machines import types_in

        rows = load_catalog(clouds=[self.name]).for_cloud(self.name)
        return types_in([(o.instance_type, o.accelerator_memory_gib) for o in rows])

    def check_offer(self, instance_type: str, vcpus: float, memory_gib: float,
                    accelerator: str | None, count: float) -> str:
        from stix.clouds.vast.machines import check_row

        return check_row(instance_type, vcpus, memory_gib, accelerator, count)

    def plan_note(self, placement: Placement) -> str | None:
        from stix.clouds.vast.program import max_price

        market = "interruptible bid" if placement.use_spot else "on-demand"
        return (f"vast: the stack records the shape asked for ({placement.instance_type}, "
                f"{market}, in {placement.region}, at most ${max_price(placement):g}/h); "
                "`stix up` rents the cheapest matching offer then, so the exact host and "
                "price are chosen at apply time (Vast is a marketplace)")

    def catalog_note(self, offers: Sequence[Offer]) -> str | None:
        if not any(o.price_source == "estimated" for o in offers):
            return None
        return ("vast: these rows are an EXAMPLE, not prices (catalog_data/vast/README.md): "
                "a marketplace changes by the minute; `stix catalog update --cloud vast` "
                "reads the live offers, and `stix up` rents what is there then")
