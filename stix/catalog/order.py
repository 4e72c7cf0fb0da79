"""Price order, computed once per parsed file and kept in the parse cache.

The optimizer ranks offers by price (names break ties). Sorting tens of thousands of
offers on every cold run would cost more than the rest of a plan, so each row's place in
the on-demand and the spot order is computed when its file is parsed and cached with the
rows; a pool is then its row numbers sorted by that rank (integers), and `LazyPool` makes
`Offer`s only for the slices a search reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

Row = tuple[Any, ...]

# Row tuple positions (the Offer field order).
_CLOUD, _TYPE, _REGION, _ZONE, _PRICE, _SPOT = 0, 1, 7, 8, 9, 10
_HOMES: dict[str, dict[str, int]] = {}


def home_rank(cloud: str, region: str) -> int:
    """Where `region` stands among the cloud's home regions (`Cloud.home_regions`): at
    equal prices the home region wins, not the first name in the alphabet (a cloud that
    prices every region alike would otherwise send every task to ap-mumbai-1)."""
    homes = _HOMES.get(cloud)
    if homes is None:
        from stix.clouds import registry

        listed = getattr(registry.get(cloud), "home_regions", ()) if registry.served(
            cloud) else ()  # fmt: skip
        homes = _HOMES[cloud] = {r: i for i, r in enumerate(listed)}
    return homes.get(region, len(homes))


def _ondemand(r: Row) -> tuple[float, int, str, str, str]:
    return (r[_PRICE], home_rank(r[_CLOUD], r[_REGION]), r[_REGION], r[_ZONE] or "", r[_TYPE])


def _spot(r: Row) -> tuple[bool, float, int, str, str, str]:
    # Rows without a spot price rank last (by on-demand price): the spot filter drops them.
    spot = r[_SPOT]
    return (spot is None, spot if spot is not None else r[_PRICE],
            home_rank(r[_CLOUD], r[_REGION]), r[_REGION], r[_ZONE] or "", r[_TYPE])


def ranks(rows: Sequence[Row]) -> tuple[list[int], list[int]]:
    """(on-demand rank, spot rank) of every row: its position in that market's order."""
    out = []
    for key in (_ondemand, _spot):
        keys = list(map(key, rows))
        order = sorted(range(len(rows)), key=keys.__getitem__)
        rank = [0] * len(rows)
        for pos, i in enumerate(order):
            rank[i] = pos
        out.append(rank)
    return out[0], out[1]


class LazyPool(Sequence[Any]):
    """Offers of a pool in rank order, made on first read (a slice makes only its part)."""

    def __init__(self, ids: list[int], make: Callable[[int], Any]) -> None:
        self._ids = ids
        self._make = make

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return list(map(self._make, self._ids[i]))
        return self._make(self._ids[i])

    def __iter__(self) -> Iterator[Any]:
        return map(self._make, self._ids)

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    __hash__ = None  # type: ignore[assignment]
