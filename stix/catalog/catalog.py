"""The loaded catalog: offers of every cloud, in groups of one cloud and one accelerator
name (None: CPU machines), each group read from the parse cache when first asked for.

A GPU task reads the few thousand rows of its accelerator and never pays for the CPU
rows; `Offer`s are made only for the rows a query returns (`offer`, the views, and the
optimizer's `LazyPool`s). Row numbers are global; each row's place in its cloud's
on-demand and spot price order (`rank`) comes with its group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from stix.catalog.order import ranks
from stix.catalog.schema import Offer

Row = tuple[Any, ...]
# A group's rows with their price ranks, produced on demand.
GroupData = tuple[list[Row], list[int], list[int]]


@dataclass
class Group:
    cloud: str
    accelerator: str | None
    ids: Sequence[int]  # the global row numbers of its rows, in file order
    regions: tuple[str, ...]
    load: Callable[[], GroupData] | None = None  # None once its rows are in place


def _as_row(offer: Offer) -> Row:
    return (*offer[:13], offer.spot_origin, *offer[14:])


class Catalog:
    """All offers of the loaded clouds, indexed by cloud and by accelerator name.

    Built from Offer objects (tests, fetchers) or by the loader from cached groups.
    """

    def __init__(self, offers: Iterable[Offer] = (), bad_rows: Iterable[BadRowLike] = ()) -> None:
        made = list(offers)
        rows = [_as_row(o) for o in made]
        od, spot = ranks(rows)
        by: dict[tuple[str, str | None], list[int]] = {}
        for i, r in enumerate(rows):
            by.setdefault((r[0], r[4]), []).append(i)
        groups = [Group(c, a, ids, tuple(sorted({rows[i][7] for i in ids})))
                  for (c, a), ids in by.items()]  # fmt: skip
        self._setup(groups, len(rows), list(bad_rows))
        self._rows[:] = rows
        self._made[:] = made
        self._od[:], self._spot[:] = od, spot

    @classmethod
    def from_groups(cls, groups: list[Group], size: int,
                    bad_rows: Iterable[BadRowLike] = ()) -> Catalog:
        self = cls.__new__(cls)
        self._setup(groups, size, list(bad_rows))
        return self

    @classmethod
    def from_rows(cls, rows: list[Row], bad_rows: Iterable[BadRowLike] = ()) -> Catalog:
        return cls([tuple.__new__(Offer, r) for r in rows], bad_rows)

    def _setup(self, groups: list[Group], size: int, bad: list[Any]) -> None:
        self.bad_rows = bad
        self._groups = groups
        self._size = size
        self._rows: list[Row | None] = [None] * size
        self._made: list[Offer | None] = [None] * size
        self._od: list[int] = [0] * size
        self._spot: list[int] = [0] * size
        self._by_type: dict[str, list[int]] | None = None
        self._views: dict[tuple[str, str | None], tuple[Offer, ...]] = {}

    # -- groups ---------------------------------------------------------------------------

    def _ensure(self, groups: Iterable[Group]) -> None:
        from stix.catalog.loader import no_gc

        pending = [g for g in groups if g.load is not None]
        if not pending:
            return
        with no_gc():
            for g in pending:
                assert g.load is not None
                rows, od, spot = g.load()
                for j, i in enumerate(g.ids):
                    self._rows[i], self._od[i], self._spot[i] = rows[j], od[j], spot[j]
                g.load = None

    def _select(self, cloud: str | None = None, accelerator: Any = ...) -> list[Group]:
        return [g for g in self._groups if (cloud is None or g.cloud == cloud)
                and (accelerator is ... or g.accelerator == accelerator)]  # fmt: skip

    def _ids(self, groups: list[Group]) -> list[int]:
        self._ensure(groups)
        if len(groups) == 1:
            return list(groups[0].ids)
        return sorted(i for g in groups for i in g.ids)

    # -- row numbers and price order, for the optimizer's pools (`stix.catalog.order`) ----

    def offer(self, i: int) -> Offer:
        """The offer of row `i` (made once; its group must have been asked for)."""
        offer = self._made[i]
        if offer is None:
            # Rows are complete (every field, in order): no defaults to fill in.
            offer = self._made[i] = tuple.__new__(Offer, self._rows[i])
        return offer

    def row_ids(self, cloud: str, accelerator: str | None = None, *, any_accelerator: bool = False,
                instance_type: str | None = None) -> list[int]:
        """Row numbers of `cloud` with that accelerator (or that instance type, or all)."""
        if instance_type is not None:
            rows = self._rows
            return [i for i in self.instance_types().get(instance_type, [])
                    if rows[i][0] == cloud]  # type: ignore[index]  # fmt: skip
        if any_accelerator:
            return self._ids(self._select(cloud))
        return self._ids(self._select(cloud, accelerator))

    def instance_types(self) -> dict[str, list[int]]:
        """instance type → its row numbers (reads every group)."""
        if self._by_type is None:
            self._ensure(self._groups)
            by_type: dict[str, list[int]] = {}
            for i, row in enumerate(self._rows):
                by_type.setdefault(row[1], []).append(i)  # type: ignore[index]
            self._by_type = by_type
        return self._by_type

    def rank(self, spot: bool) -> list[int]:
        """Each row's place in the on-demand (or spot) price order of its cloud."""
        return self._spot if spot else self._od

    # -- views ----------------------------------------------------------------------------

    def _view(self, key: tuple[str, str | None], groups: list[Group]) -> tuple[Offer, ...]:
        view = self._views.get(key)
        if view is None:
            from stix.catalog.loader import no_gc

            ids = self._ids(groups)
            with no_gc():
                view = self._views[key] = tuple(map(self.offer, ids))
        return view

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return (f"Catalog({self._size} offers, clouds={self.clouds}, "
                f"bad_rows={len(self.bad_rows)})")

    @property
    def offers(self) -> list[Offer]:
        return list(self._view(("*", "*"), self._groups))

    @property
    def clouds(self) -> list[str]:
        return sorted({g.cloud for g in self._groups})

    def for_cloud(self, cloud: str) -> Sequence[Offer]:
        return self._view(("cloud", cloud), self._select(cloud))

    def with_accelerator(self, name: str | None) -> Sequence[Offer]:
        """Offers carrying accelerator `name` (None: offers with no accelerator)."""
        return self._view(("acc", name), self._select(accelerator=name))

    def accelerator_names(self) -> list[str]:
        return sorted({g.accelerator for g in self._groups if g.accelerator})

    def regions(self, cloud: str) -> list[str]:
        """Regions where `cloud` has at least one offer."""
        return sorted({r for g in self._select(cloud) for r in g.regions})


BadRowLike = Any
