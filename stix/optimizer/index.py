"""Per-catalog pools of offers, split by cloud and pre-sorted by price, built once.

Filtering keeps order, so survivors of a pre-sorted pool come out ranked by cost with no
sort per task: the hot path is a few list comprehensions. Pools are built lazily, one
(accelerator, cloud) at a time, so a GPU task never pays for sorting the CPU rows.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from stix.catalog import Catalog, Offer


def ondemand_key(o: Offer) -> tuple[float, str, str, str]:
    return (o.price, o.region, o.zone or "", o.instance_type)


def spot_key(o: Offer) -> tuple[bool, float, str, str, str]:
    # Rows without a spot price sort last (by on-demand price); the spot filter removes
    # them later, by name.
    price = o.spot_price if o.spot_price is not None else o.price
    return (o.spot_price is None, price, o.region, o.zone or "", o.instance_type)


def _by_price(offers: list[Offer], spot: bool) -> list[Offer]:
    """Sort by price alone (float keys sort several times faster than tuples), then put
    each run of equal prices in name order: the same order as `spot_key`/`ondemand_key`."""
    price = attrgetter("spot_price" if spot else "price")
    offers.sort(key=price)
    prices = [price(o) for o in offers]
    full = spot_key if spot else ondemand_key
    i, n = 1, len(offers)
    while i < n:
        if prices[i] != prices[i - 1]:
            i += 1
            continue
        start = i - 1
        while i < n and prices[i] == prices[start]:
            i += 1
        offers[start:i] = sorted(offers[start:i], key=full)
    return offers


def ranked_pool(offers: Sequence[Offer], spot: bool) -> list[Offer]:
    """`offers` in rank order for one market (rows without a spot price last)."""
    if not spot:
        return _by_price(list(offers), False)
    priced = _by_price([o for o in offers if o.spot_price is not None], True)
    return priced + _by_price([o for o in offers if o.spot_price is None], False)


@dataclass
class Segment:
    """The offers of one cloud, in rank order for one market."""

    cloud: str
    offers: list[Offer]
    provisioned: bool  # from the price catalog (stix creates the machines)


def _grouped(offers: Iterable[Offer]) -> dict[str, list[Offer]]:
    groups: dict[str, list[Offer]] = defaultdict(list)
    for offer in offers:
        groups[offer.cloud].append(offer)
    return dict(groups)


class OfferIndex:
    """Sorted pools over one catalog: by accelerator name, or by instance type."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._by_acc: dict[str | None, dict[str, list[Offer]]] = {}
        self._by_type: dict[str, dict[str, list[Offer]]] | None = None
        self._sorted: dict[tuple[str, str | None, str | None, bool], list[Offer]] = {}
        self._acc_names: dict[str, str] | None = None

    def resolve_accelerator(self, name: str) -> str | None:
        """The catalog's spelling of `name` (case-insensitive), or None if not offered."""
        if self._acc_names is None:
            self._acc_names = {n.lower(): n for n in self.catalog.accelerator_names()}
        return self._acc_names.get(name.lower())

    def has_instance_type(self, name: str) -> bool:
        return name in self._types()

    def instance_types(self) -> list[str]:
        return sorted(self._types())

    def _types(self) -> dict[str, dict[str, list[Offer]]]:
        if self._by_type is None:
            by_type: dict[str, list[Offer]] = defaultdict(list)
            for offer in self.catalog.offers:
                by_type[offer.instance_type].append(offer)
            self._by_type = {t: _grouped(offers) for t, offers in by_type.items()}
        return self._by_type

    def _unsorted(self, accelerator: str | None,
                  instance_type: str | None) -> dict[str, list[Offer]]:
        if instance_type is not None:
            return self._types().get(instance_type, {})
        if accelerator not in self._by_acc:
            self._by_acc[accelerator] = _grouped(self.catalog.with_accelerator(accelerator))
        return self._by_acc[accelerator]

    def pool(self, cloud: str, *, accelerator: str | None, instance_type: str | None,
             spot: bool) -> list[Offer]:
        """Offers of `cloud` with that accelerator (or that instance type), ranked."""
        key = (cloud, accelerator, instance_type, spot)
        got = self._sorted.get(key)
        if got is None:
            rows = self._unsorted(accelerator, instance_type).get(cloud, [])
            got = self._sorted[key] = ranked_pool(rows, spot)
        return got


    def all_in(self, cloud: str, *, spot: bool) -> list[Offer]:
        """Every offer of `cloud`, ranked (existing machines serve CPU tasks too)."""
        key = (cloud, "*", "*", spot)
        got = self._sorted.get(key)
        if got is None:
            got = self._sorted[key] = ranked_pool(self.catalog.for_cloud(cloud), spot)
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
