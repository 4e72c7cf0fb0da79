"""Per-catalog pools of offers, split by cloud and pre-sorted by price, built once.

Filtering keeps order, so survivors of a pre-sorted pool come out ranked by cost with no
sort per task: the hot path is a few list comprehensions. Pools are built lazily, one
(accelerator, cloud) at a time, from the price ranks the catalog cached when it parsed
its files (`stix.catalog.order`): a pool is its row numbers sorted by rank, and its
offers are made only for the slices a search reads. The order is `ondemand_key` /
`spot_key` (price, then region, zone and type names).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from stix.catalog import Catalog, Offer
from stix.catalog.order import LazyPool


def ondemand_key(o: Offer) -> tuple[float, str, str, str]:
    return (o.price, o.region, o.zone or "", o.instance_type)


def spot_key(o: Offer) -> tuple[bool, float, str, str, str]:
    # Rows without a spot price sort last (by on-demand price); the spot filter removes
    # them later, by name.
    price = o.spot_price if o.spot_price is not None else o.price
    return (o.spot_price is None, price, o.region, o.zone or "", o.instance_type)


@dataclass
class Segment:
    """The offers of one cloud, in rank order for one market."""

    cloud: str
    offers: Sequence[Offer]
    provisioned: bool  # from the price catalog (stix creates the machines)


class OfferIndex:
    """Sorted pools over one catalog: by accelerator name, or by instance type."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._sorted: dict[tuple[str, str | None, str | None, bool], Sequence[Offer]] = {}
        self._acc_names: dict[str, str] | None = None

    def resolve_accelerator(self, name: str) -> str | None:
        """The catalog's spelling of `name` (case-insensitive), or None if not offered."""
        if self._acc_names is None:
            self._acc_names = {n.lower(): n for n in self.catalog.accelerator_names()}
        return self._acc_names.get(name.lower())

    def has_instance_type(self, name: str) -> bool:
        return name in self.catalog.instance_types()

    def instance_types(self) -> list[str]:
        return sorted(self.catalog.instance_types())

    def pool(self, cloud: str, *, accelerator: str | None, instance_type: str | None,
             spot: bool) -> Sequence[Offer]:
        """Offers of `cloud` with that accelerator (or that instance type), ranked. The
        order comes from the catalog's cached price ranks; offers are made as read."""
        key = (cloud, accelerator, instance_type, spot)
        got = self._sorted.get(key)
        if got is None:
            ids = self.catalog.row_ids(cloud, accelerator, instance_type=instance_type)
            got = self._sorted[key] = self._ranked(ids, spot)
        return got

    def _ranked(self, ids: list[int], spot: bool) -> Sequence[Offer]:
        ids.sort(key=self.catalog.rank(spot).__getitem__)
        return LazyPool(ids, self.catalog.offer)

    def all_in(self, cloud: str, *, spot: bool) -> Sequence[Offer]:
        """Every offer of `cloud`, ranked (existing machines serve CPU tasks too)."""
        key = (cloud, "*", "*", spot)
        got = self._sorted.get(key)
        if got is None:
            ids = self.catalog.row_ids(cloud, any_accelerator=True)
            got = self._sorted[key] = self._ranked(ids, spot)
        return got


_CACHE: dict[int, tuple[weakref.ref[Catalog], OfferIndex]] = {}


def index_for(catalog: Catalog) -> OfferIndex:
    """The index of `catalog`, built on first use and kept while the catalog lives."""
    entry = _CACHE.get(id(catalog))
    if entry is not None and entry[0]() is catalog:
        return entry[1]
    key = id(catalog)
    cache = _CACHE  # the callback holds the dict itself: at exit module globals may be gone

    def forget(_ref: weakref.ref[Catalog]) -> None:
        cache.pop(key, None)

    ref = weakref.ref(catalog, forget)
    index = OfferIndex(catalog)
    _CACHE[key] = (ref, index)
    return index
