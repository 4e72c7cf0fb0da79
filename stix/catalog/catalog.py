"""The loaded catalog: offers of every cloud, in groups of one cloud and one accelerator
name (None: CPU machines). A group loaded from the parse cache holds its rows in
on-demand price order, in chunks read when a row of theirs is first asked for.

So a GPU task reads the few thousand rows of its accelerator and never the CPU rows, and
a CPU task whose answer is among the cheapest machines reads a chunk or two; `Offer`s
are made only for the rows a query returns (`offer`, the views, the optimizer's
`LazyPool`s). Row numbers are global; each row's place in its cloud's on-demand and spot
price order (`rank`) is known from the start.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stix.catalog.order import ranks
from stix.catalog.schema import Offer

if TYPE_CHECKING:
    from stix.catalog.loader import BadRow

Row = tuple[Any, ...]


@dataclass
class Group:
    cloud: str
    accelerator: str | None
    ids: Sequence[int]  # the global row numbers of its rows
    regions: tuple[str, ...]
    # Loaded from the cache: each chunk's loader (None once read), `chunk` rows each, and
    # the rows' on-demand and spot ranks. Built from offers: no chunks, all in place.
    chunks: list[Callable[[], list[Row]] | None] = field(default_factory=list)
    od: list[int] = field(default_factory=list)
    spot: list[int] = field(default_factory=list)
    chunk: int = 0

    @property
    def load(self) -> bool | None:
        """None once every row is in place."""
        return True if any(c is not None for c in self.chunks) else None


def _as_row(offer: Offer) -> Row:
    return (*offer[:13], offer.spot_origin, *offer[14:])


class Catalog:
    """All offers of the loaded clouds, indexed by cloud and by accelerator name.

    Built from Offer objects (tests, fetchers) or by the loader from cached groups.
    """

    def __init__(self, offers: Iterable[Offer] = (), bad_rows: Iterable[BadRow] = ()) -> None:
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
                    bad_rows: Iterable[BadRow] = ()) -> Catalog:
        self = cls.__new__(cls)
        self._setup(groups, size, list(bad_rows))
        return self

    @classmethod
    def from_rows(cls, rows: list[Row], bad_rows: Iterable[BadRow] = ()) -> Catalog:
        return cls([tuple.__new__(Offer, r) for r in rows], bad_rows)

    def _setup(self, groups: list[Group], size: int, bad: list[BadRow]) -> None:
        self.bad_rows = bad
        self._groups = groups
        self._size = size
        self._rows: list[Row | None] = [None] * size
        self._made: list[Offer | None] = [None] * size
        self._od: list[int] = []
        self._spot: list[int] = []
        self._starts: list[int] = []  # first row number of each lazily loaded group
        self._lazy: list[Group] = []
        for g in groups:
            if g.chunks:  # contiguous row numbers, in the order of the loader's groups
                self._od.extend(g.od)
                self._spot.extend(g.spot)
                self._starts.append(g.ids[0] if len(g.ids) else 0)
                self._lazy.append(g)
        self._by_type: dict[str, list[int]] | None = None
        self._views: dict[tuple[str, str | None], tuple[Offer, ...]] = {}

    # -- groups ---------------------------------------------------------------------------

    def _read_chunk(self, g: Group, k: int) -> None:
        load = g.chunks[k]
        if load is None:
            return
        from stix.catalog.loader import no_gc

        with no_gc():
            first = g.ids[0] + k * g.chunk
            rows = load()
            self._rows[first:first + len(rows)] = rows
            g.chunks[k] = None

    def _ensure(self, groups: Iterable[Group]) -> None:
        for g in groups:
            for k in range(len(g.chunks)):
                self._read_chunk(g, k)

    def _row(self, i: int) -> Row:
        row = self._rows[i]
        if row is None:
            g = self._lazy[bisect.bisect_right(self._starts, i) - 1]
            self._read_chunk(g, (i - g.ids[0]) // g.chunk)
            row = self._rows[i]
            assert row is not None
        return row

    def _select(self, cloud: str | None = None, accelerator: Any = ...) -> list[Group]:
        return [g for g in self._groups if (cloud is None or g.cloud == cloud)
                and (accelerator is ... or g.accelerator == accelerator)]  # fmt: skip

    def _ids(self, groups: list[Group]) -> list[int]:
        if len(groups) == 1:
            return list(groups[0].ids)
        return sorted(i for g in groups for i in g.ids)

    # -- row numbers and price order, for the optimizer's pools (`stix.catalog.order`) ----

    def offer(self, i: int) -> Offer:
        """The offer of row `i` (made once; its group must have been asked for)."""
        offer = self._made[i]
        if offer is None:
            # Rows are complete (every field, in order): no defaults to fill in.
            offer = self._made[i] = tuple.__new__(Offer, self._row(i))
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

            self._ensure(groups)
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

