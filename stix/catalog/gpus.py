"""What `stix show-gpus` reports: the accelerators on offer and where they are cheapest.

Two views, as `sky show-gpus` has them: a summary (each accelerator, the counts sold,
the clouds, the lowest $/h per GPU) and, for one accelerator, a row per cloud, instance
type and count with its on-demand and spot $/h, cheapest first — by default only the
cheapest region of each instance type, with `all_regions` one row per region.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from stix.catalog.loader import Catalog
from stix.catalog.schema import Offer


@dataclass(frozen=True)
class GpuSummary:
    name: str
    counts: tuple[float, ...]
    clouds: tuple[str, ...]
    memory_gib: float | None  # per accelerator
    price_per_gpu: float | None  # lowest on-demand $/h divided by the count
    spot_per_gpu: float | None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class GpuOffer:
    """One instance type with `count` accelerators in one region (cheapest zone)."""

    accelerator: str
    count: float
    cloud: str
    region: str
    instance_type: str
    vcpus: float
    memory_gib: float
    accelerator_memory_gib: float | None
    price: float
    spot_price: float | None
    zones: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def parse_gpu_filter(text: str) -> tuple[str, float | None]:
    """"A100" or "A100:8" → (name, count or None). The name is matched against the
    catalog's names case-insensitively later; this stays free of the task model's imports."""
    import math

    from stix.errors import UsageError

    name, sep, count_text = text.partition(":")
    name = name.strip()
    if not name:
        raise UsageError(f"accelerator {text!r}: the name is empty (expected NAME or NAME:COUNT)")
    if not sep:
        return name, None
    try:
        count = float(count_text)
    except ValueError:
        count = math.nan
    if not (math.isfinite(count) and count > 0):
        raise UsageError(f"accelerator {text!r}: count of {name} must be a positive number")
    return name, count


def _min(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _check_cloud(catalog: Catalog, cloud: str | None) -> None:
    from stix.errors import UsageError

    if cloud is not None and cloud not in catalog.clouds:
        have = ", ".join(catalog.clouds) or "no clouds"
        raise UsageError(f"cloud {cloud!r} (--cloud): not in the catalog (it has {have})")


def _accelerated(catalog: Catalog, cloud: str | None, region: str | None) -> list[Offer]:
    pool = catalog.for_cloud(cloud) if cloud else catalog.offers
    return [o for o in pool if o.accelerator and (region is None or o.region == region)]


def gpu_summary(catalog: Catalog, cloud: str | None = None,
              region: str | None = None) -> list[GpuSummary]:  # fmt: skip
    """Every accelerator on offer (optionally on one cloud / in one region), by name."""
    from stix.errors import NotFoundError

    _check_cloud(catalog, cloud)
    offers = _accelerated(catalog, cloud, region)
    if region is not None and not offers:
        where = f" on {cloud}" if cloud else ""
        raise NotFoundError(f"region {region!r} (--region): no accelerators offered "
                            f"there{where}")
    by_name: dict[str, list[Offer]] = {}
    for o in offers:
        by_name.setdefault(o.accelerator or "", []).append(o)
    out = []
    for name, group in sorted(by_name.items(), key=lambda kv: kv[0].lower()):
        out.append(GpuSummary(
            name=name,
            counts=tuple(sorted({o.accelerator_count for o in group})),
            clouds=tuple(sorted({o.cloud for o in group})),
            memory_gib=_min(o.accelerator_memory_gib for o in group),
            price_per_gpu=_min(o.price / o.accelerator_count for o in group),
            spot_per_gpu=_min(None if o.spot_price is None else o.spot_price / o.accelerator_count
                              for o in group),
        ))  # fmt: skip
    return out


def _resolve(catalog: Catalog, name: str) -> str:
    from stix.errors import NotFoundError

    names = catalog.accelerator_names()
    lowered = {n.lower(): n for n in names}
    if name.lower() in lowered:
        return lowered[name.lower()]
    retired = _retired(name)
    if retired:
        notes, instead = retired
        raise NotFoundError(f"accelerator {name} is not offered: {notes}",
                            hint=f"`stix show-gpus {instead}` lists what is sold instead")
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)
    hint = ("did you mean " + " or ".join(lowered[c] for c in close) + "?") if close else (
        "`stix show-gpus` lists the accelerators on offer")  # fmt: skip
    raise NotFoundError(f"accelerator {name} is not in the catalog", hint=hint)


def _retired(name: str) -> tuple[str, str] | None:
    """(who retired `name` and when, the accelerator to ask for instead), from every served
    cloud's records (None: no cloud retired it)."""
    from stix.clouds import registry

    facts = [f for c in registry.names() if registry.served(c)
             for f in getattr(registry.get(c), "retired", ()) if f.names(name)]  # fmt: skip
    if not facts:
        return None
    return "; ".join(dict.fromkeys(f.note for f in facts)), facts[0].instead[0]


def gpu_offers(catalog: Catalog, name: str, count: float | None = None,
               cloud: str | None = None, region: str | None = None,
               all_regions: bool = False) -> list[GpuOffer]:  # fmt: skip
    """Where accelerator `name` (× `count`) is sold, cheapest on-demand first.

    One row per cloud, instance type and count: its cheapest region, or with
    `all_regions` (or a `region` filter) a row for each region. Within a region the
    cheapest zone's prices are shown and all zones are listed.
    """
    from stix.errors import NotFoundError

    _check_cloud(catalog, cloud)
    actual = _resolve(catalog, name)
    offers = [o for o in catalog.with_accelerator(actual) if cloud is None or o.cloud == cloud]
    if count is not None:
        counts = sorted({o.accelerator_count for o in offers})
        offers = [o for o in offers if o.accelerator_count == count]
        if not offers:
            where = f" on {cloud}" if cloud else ""
            sold = ", ".join(f"{actual}:{c:g}" for c in counts) or "none"
            raise NotFoundError(f"{actual}:{count:g} is not offered{where}; offered: {sold}")
    if region is not None:
        regions = sorted({o.region for o in offers})
        offers = [o for o in offers if o.region == region]
        if not offers:
            raise NotFoundError(f"{actual} is not offered in {region}",
                                hint=f"it is offered in: {', '.join(regions) or 'no region'}")
    if not offers:
        raise NotFoundError(f"{actual} is not offered on {cloud}")
    rows = [_region_row(group) for group in _groups(offers)]
    if not (all_regions or region is not None):
        best: dict[tuple[str, str, float], GpuOffer] = {}
        for row in sorted(rows, key=_order):
            best.setdefault((row.cloud, row.instance_type, row.count), row)
        rows = list(best.values())
    return sorted(rows, key=_order)


def _groups(offers: Iterable[Offer]) -> list[list[Offer]]:
    groups: dict[tuple[str, str, str, float], list[Offer]] = {}
    for o in offers:
        groups.setdefault((o.cloud, o.region, o.instance_type, o.accelerator_count), []).append(o)
    return list(groups.values())


def _region_row(group: list[Offer]) -> GpuOffer:
    first = group[0]
    return GpuOffer(
        accelerator=first.accelerator or "", count=first.accelerator_count, cloud=first.cloud,
        region=first.region, instance_type=first.instance_type, vcpus=first.vcpus,
        memory_gib=first.memory_gib, accelerator_memory_gib=first.accelerator_memory_gib,
        price=min(o.price for o in group), spot_price=_min(o.spot_price for o in group),
        zones=tuple(sorted({o.zone for o in group if o.zone})),
    )  # fmt: skip


def _order(row: GpuOffer) -> tuple[object, ...]:
    spot = row.spot_price if row.spot_price is not None else float("inf")
    return (row.price, spot, row.cloud, row.instance_type, row.region)
