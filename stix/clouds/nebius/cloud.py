"""Nebius AI Cloud as stix knows it: Compute VMs (GPU and CPU platforms) in a VPC network.

What it cannot do, said where it matters: Nebius has no zones (a region is priced and
placed whole); preemptible VMs are sold on the H100 and H200 platforms only (spot
elsewhere is refused at plan, from the catalog); no autostop on the nodes, because an OS
shutdown of a Nebius VM is subject to its recovery policy (it may be started again and
billed) and only the API stops a VM; no InfiniBand GPU cluster (nodes talk over the
subnet); no bucket store of its own (Nebius Object Storage is not wired in); and no
Terraform translation: stix's translator pins providers to `>= 5.0`, which no release of
Nebius's Terraform provider (0.x) meets, and the Pulumi provider is bridged from it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.base import (
    Capabilities,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
)
from stix.clouds.nebius.options import NebiusOptions
from stix.clouds.resource import ResourceType

if TYPE_CHECKING:
    pass

_IMAGE = re.compile(r"computeimage-[a-z0-9]+|[a-z][a-z0-9.-]*[a-z0-9]")
# Nebius's API is gRPC: its status codes as the provider prints them (RESOURCE_EXHAUSTED
# or "code = ResourceExhausted"), and the compute service's NOT_ENOUGH_RESOURCES wording.
_EXHAUSTED = r"RESOURCE_EXHAUSTED|ResourceExhausted|NOT_ENOUGH_RESOURCES|not enough resources"


def _without(*words: str) -> str:
    """The exhausted wordings on a line that names none of `words`."""
    ahead = "".join(f"(?![^\n]*{w})" for w in words)
    return f"(?:^|\n){ahead}[^\n]*?(?:{_EXHAUSTED})"


class NebiusCloud(Cloud):
    name = "nebius"
    credential_paths = ("~/.nebius",)
    home_regions = ("eu-north1", "us-central1", "eu-west1")
    capabilities = Capabilities(zoned_prices=False, spot=True, stop_start=True)
    options_model: ClassVar[type[InfraOptions]] = NebiusOptions
    pulumi_packages = ("nebius",)
    sdk_distributions = ("pulumi", "pulumi-nebius")
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = (
        ("capacity", _without("quota", "preemptible")),
        ("spot", rf"preemptible[^\n]*(?:{_EXHAUSTED})|(?:{_EXHAUSTED})[^\n]*preemptible"),
        ("quota", rf"(?:{_EXHAUSTED})[^\n]*quota|quota[^\n]*(?:exceeded|exhausted|"
                  rf"{_EXHAUSTED})|QuotaFailure"),
        ("credentials", r"UNAUTHENTICATED|code = Unauthenticated|PERMISSION_DENIED|"
                        r"code = PermissionDenied|token (?:is )?expired"),
    )
    ignores: ClassVar[dict[str, str]] = {
        "network_tier": "nodes talk over the subnet's network; stix declares no InfiniBand "
                        "GPU cluster",
    }

    def image_problem(self, ref: str) -> str | None:
        if _IMAGE.fullmatch(ref):
            return None
        return (f"{ref!r} is not a Nebius image family (ubuntu22.04-cuda12) or image id "
                "(computeimage-...)")



    def resource_types(self) -> tuple[ResourceType, ...]:
        from stix.clouds.nebius.types import TYPES

        return TYPES

    # -- prices and machine types --------------------------------------------------------

    snapshot = "stix.clouds.nebius.snapshot"
    price_source = ("Nebius's billing calculator (EstimateBatch per platform preset, on "
                    "demand and preemptible) over its compute platform list; needs "
                    "Nebius credentials and the nebius Python SDK")
    type_list_source = "stix.clouds.nebius.machines"

    def fetch_prices(self, opener: Any, base: Any, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        """Nebius's prices come through its gRPC API, not a URL: the fetch signs in with
        the SDK instead of the generic opener (a caller may hand a `prices.Api` in the
        opener's place: recorded answers, in tests)."""
        from stix.clouds.nebius.prices import Api, SdkApi, fetch

        return fetch(opener if isinstance(opener, Api) else SdkApi(), base, regions=regions)

    def machine_types(self) -> dict[str, MachineType]:
        from stix.clouds.nebius.machines import TYPES

        return TYPES
