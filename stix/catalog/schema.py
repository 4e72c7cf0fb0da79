"""The catalog row: one offering (instance type × region × zone) with its price.

A row is complete: for clouds that attach GPUs to a host VM (GCP N1 + T4, say) the row
is the pair, priced as host + accelerators, so the optimizer compares whole offerings.
Every price says where it came from (`price_source`, `spot_source`, `as_of`), so a
decision that rests on an estimate can say so.
"""

from __future__ import annotations

from typing import NamedTuple

# Column order of catalog_data/<cloud>/vms.csv; the header row must match exactly.
COLUMNS = (
    "instance_type",           # cloud's name; GCP pairs are "n1-standard-8" with accelerator set
    "vcpus",                   # float
    "memory_gib",              # float
    "accelerator",             # canonical name (A100, A100-80GB, H100, L4 ...) or empty
    "accelerator_count",       # float (0 when none; fractions allowed)
    "accelerator_memory_gib",  # per accelerator, float, empty when none
    "region",
    "zone",                    # empty when the cloud prices per region only (Azure)
    "price",                   # on-demand USD per hour, float
    "spot_price",              # USD per hour, empty when spot is not offered there
    "arch",                    # x86_64 | arm64
    "price_source",            # observed | estimated
    "spot_source",             # observed | estimated | none (no spot market)
    "as_of",                   # ISO date (or date-time) the prices were read or estimated
)
# Files written before prices carried their provenance: read as estimated.
LEGACY_COLUMNS = COLUMNS[:11]

OBSERVED, ESTIMATED, NONE = "observed", "estimated", "none"
PRICE_SOURCES = (OBSERVED, ESTIMATED)
SPOT_SOURCES = (OBSERVED, ESTIMATED, NONE)


class Offer(NamedTuple):
    """One row. A tuple: a catalog of 100k rows makes its offers from parsed rows in a
    few milliseconds (a frozen dataclass costs ~3 µs each), and `_replace` copies one."""

    cloud: str
    instance_type: str
    vcpus: float
    memory_gib: float
    accelerator: str | None
    accelerator_count: float
    accelerator_memory_gib: float | None
    region: str
    zone: str | None
    price: float
    spot_price: float | None
    arch: str = "x86_64"
    price_source: str = ESTIMATED
    spot_source: str = ESTIMATED  # read through `spot_origin` (none when no spot price)
    as_of: str = ""
    # Why `stix catalog check` distrusts the row ("" when it does not): the optimizer
    # skips such rows unless a task pins that exact type and region.
    suspect: str = ""

    def hourly(self, spot: bool) -> float | None:
        """$/h for one node, or None when that market is not offered here."""
        return self.spot_price if spot else self.price

    @property
    def spot_origin(self) -> str:
        """Where the spot price came from, `none` when there is no spot market."""
        return NONE if self.spot_price is None else self.spot_source

    def source(self, spot: bool) -> str:
        """The provenance of the price a placement in this market would pay."""
        return self.spot_origin if spot else self.price_source
