"""Checks on a placement before synthesis. Pulumi's mocks accept any instance type, GPU or
market, so stix checks them against its own catalog: the type is sold in that region (and
zone), it carries the GPU the placement says, and spot is offered there when asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.errors import StixError
from stix.placement import Placement

if TYPE_CHECKING:
    from stix.catalog import Catalog

class PlacementError(StixError):
    """A placement the catalog says cannot be built."""

    exit_code = 2


def catalog_cloud(p: Placement) -> str | None:
    """Which catalog prices `p`'s machines (None: not catalog-checked, e.g. a k8s context)."""
    from stix.clouds import registry

    return registry.cloud(p.cloud).catalog_cloud(p)


def check_placement(p: Placement, catalog: Catalog | None = None) -> None:
    """Raise `PlacementError` naming what is wrong; return quietly when the catalog agrees."""
    cloud = catalog_cloud(p)
    if cloud is None:
        return
    if catalog is None:
        from stix.catalog import load_catalog

        catalog = load_catalog(clouds=[cloud])
    offers = [o for o in catalog.for_cloud(cloud) if o.instance_type == p.instance_type]
    where = f"placement {p.cluster}"
    if not offers:
        raise PlacementError(f"{where}: {cloud} sells no instance type {p.instance_type!r} "
                             "(per the catalog)", hint="stix catalog update, or fix the task")
    in_region = [o for o in offers if o.region == p.region]
    if not in_region:
        regions = ", ".join(sorted({o.region for o in offers})[:6])
        raise PlacementError(f"{where}: {p.instance_type} is not sold in {cloud} {p.region} "
                             f"(it is in {regions}...)")  # fmt: skip
    from stix.clouds import registry

    if p.zone and registry.get(cloud).capabilities.zoned_prices:
        zoned = [o for o in in_region if o.zone in (None, p.zone)]
        if not zoned:
            zones = ", ".join(sorted({o.zone or "" for o in in_region}))
            raise PlacementError(f"{where}: {p.instance_type} is not sold in zone {p.zone} "
                                 f"(only {zones})")
        in_region = zoned
    want = p.accelerator
    fits = [o for o in in_region
            if (o.accelerator or None) == (want.name if want else None)
            and (want is None or abs(o.accelerator_count - want.count) < 1e-9)]  # fmt: skip
    if not fits:
        have = sorted({f"{o.accelerator}:{o.accelerator_count:g}" if o.accelerator else "no GPU"
                       for o in in_region})  # fmt: skip
        asked = f"{want.name}:{want.count:g}" if want else "no GPU"
        raise PlacementError(f"{where}: {p.instance_type} in {p.region} comes with "
                             f"{', '.join(have)}, not {asked}")
    if p.use_spot and all(o.spot_price is None for o in fits):
        raise PlacementError(f"{where}: {p.instance_type} has no spot market in {p.region}",
                             hint="drop use_spot, or pick another region")
