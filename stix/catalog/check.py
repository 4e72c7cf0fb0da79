"""`stix catalog check`: rows a catalog holds that should not decide a placement.

A price list can be wrong in one place — a mistyped price, a spot price above
on-demand, a row whose GPUs contradict the machine type, the same offering twice. Each
such row is marked with the reason when its file is parsed (kept in the parse cache), so
the optimizer can skip it unless a task pins that exact type and region, and
`stix catalog check` can list them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Row = tuple[Any, ...]
# A region whose on-demand price is below this share of the median of the same
# offering's other regions is suspect. Real regional spreads stay within about 0.6-1.8x
# of the median (the clouds' price lists); a typo or a mispriced SKU is far below it.
FAR_BELOW = 0.5
MIN_OTHER_REGIONS = 2  # a comparison needs at least this many other regions
MEMORY_TOLERANCE = 0.05  # relative; price lists round GiB figures

# Row tuple positions (the Offer field order).
_TYPE, _VCPUS, _MEM, _ACC, _COUNT, _ACCMEM, _REGION, _ZONE, _PRICE, _SPOT = range(1, 11)
_SUSPECT = 15


@dataclass(frozen=True)
class Suspect:
    cloud: str
    instance_type: str
    region: str
    zone: str | None
    accelerator: str | None
    accelerator_count: float
    reason: str

    def to_json(self) -> dict[str, object]:
        return dict(vars(self))

    def __str__(self) -> str:
        where = f"{self.cloud} {self.region}" + (f" {self.zone}" if self.zone else "")
        gpus = f" {self.accelerator}:{self.accelerator_count:g}" if self.accelerator else ""
        return f"{where} {self.instance_type}{gpus}: {self.reason}"


def _type_reasons(cloud: str, rows: list[Row]) -> dict[int, str]:
    """Rows contradicting the cloud's published facts about the type or its GPUs."""
    from stix.catalog.hardware import ACCELERATOR_MEMORY_GIB
    from stix.clouds import registry

    checker = registry.cloud(cloud).check_offer if registry.served(cloud) else None
    out: dict[int, str] = {}
    seen: dict[tuple[Any, ...], str] = {}
    for i, r in enumerate(rows):
        key = (r[_TYPE], r[_VCPUS], r[_MEM], r[_ACC], r[_COUNT], r[_ACCMEM])
        why = seen.get(key)
        if why is None:
            why = checker(r[_TYPE], r[_VCPUS], r[_MEM], r[_ACC], r[_COUNT]) if checker else ""
            known = ACCELERATOR_MEMORY_GIB.get(r[_ACC]) if r[_ACC] else None
            if not why and known and r[_ACCMEM] and abs(r[_ACCMEM] - known) > known * 0.05:
                why = (f"{r[_ACC]} has {known:g} GiB per accelerator, the row says "
                       f"{r[_ACCMEM]:g}")
            seen[key] = why
        if why:
            out[i] = why
    return out


def _regional_outliers(rows: list[Row]) -> dict[int, str]:
    """Rows priced far below the same offering in its other regions."""
    by_offering: dict[tuple[Any, ...], dict[str, float]] = defaultdict(dict)
    for r in rows:
        regions = by_offering[(r[_TYPE], r[_ACC], r[_COUNT])]
        price = regions.get(r[_REGION])
        if price is None or r[_PRICE] < price:
            regions[r[_REGION]] = r[_PRICE]
    low: dict[tuple[Any, ...], tuple[float, float]] = {}  # (offering, region) → (price, median)
    for offering, regions in by_offering.items():
        if len(regions) <= MIN_OTHER_REGIONS:
            continue
        prices = sorted(regions.values())
        if prices[0] >= FAR_BELOW * prices[len(prices) // 2]:
            continue  # the cheapest region is close to the median: nothing to look at
        for region, price in regions.items():
            others = [p for r, p in regions.items() if r != region]
            median = statistics.median(others)
            if price < FAR_BELOW * median:
                key = (*offering, region)
                low[key] = (price, median)
    out: dict[int, str] = {}
    if low:
        for i, r in enumerate(rows):
            hit = low.get((r[_TYPE], r[_ACC], r[_COUNT], r[_REGION]))
            if hit is not None:
                out[i] = (f"on-demand ${hit[0]:.4g}/h is far below its other regions "
                          f"(median ${hit[1]:.4g}/h)")
    return out


def find_suspects(cloud: str, rows: list[Row]) -> dict[int, str]:
    """Row index → the reason the row is suspect, for the rows of one cloud."""
    reasons: dict[int, list[str]] = defaultdict(list)
    keys: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        keys[(r[_TYPE], r[_REGION], r[_ZONE], r[_ACC], r[_COUNT])].append(i)
        if r[_SPOT] is not None and r[_SPOT] > r[_PRICE]:
            reasons[i].append(f"spot ${r[_SPOT]:.4g}/h is above on-demand ${r[_PRICE]:.4g}/h")
    for same in keys.values():
        if len(same) > 1:
            for i in same:
                reasons[i].append(f"duplicate key ({len(same)} rows for this type, region, "
                                  "zone and accelerator)")
    for source in (_type_reasons(cloud, rows), _regional_outliers(rows)):
        for i, why in source.items():
            reasons[i].append(why)
    return {i: "; ".join(r) for i, r in reasons.items()}


def mark_suspects(cloud: str, rows: list[Row]) -> list[Row]:
    """`rows` with each suspect row's reason in its last field."""
    for i, why in find_suspects(cloud, rows).items():
        rows[i] = (*rows[i][:_SUSPECT], why)
    return rows


def suspects(offers: Iterable[Any]) -> list[Suspect]:
    """The suspect rows among `offers` (loaded catalog offers carry their reason)."""
    return [Suspect(o.cloud, o.instance_type, o.region, o.zone, o.accelerator,
                    o.accelerator_count, o.suspect) for o in offers if o.suspect]  # fmt: skip
