"""What the optimizer answers: ranked placements, the best per cloud, and what it rejected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from stix.placement import Placement


@dataclass(frozen=True)
class Rejection:
    """`removed` offers of `alternative` failed `constraint` (in filter order)."""

    alternative: str
    constraint: str
    removed: int


@dataclass
class OptimizeResult:
    chosen: Placement
    candidates: list[Placement]  # ranked; one zone per cloud/region/instance type/market
    best_per_cloud: dict[str, Placement]
    clouds: list[str]  # the clouds considered
    target: str
    notes: list[str] = field(default_factory=list)
    # The best placement in each cloud/region (asked for by pipelines that move data).
    best_per_region: dict[tuple[str, str], Placement] = field(default_factory=dict)
    # Counting rejections scans every offer; done only when someone reads them.
    count_rejections: Callable[[], list[Rejection]] | None = field(default=None, repr=False,
                                                                   compare=False)

    @property
    def price_notes(self) -> list[str]:
        """Where the chosen price came from, and a plain warning when it is estimated."""
        from stix.catalog.provenance import placement_price

        c = self.chosen
        basis, warning = placement_price(c.cloud, c.price_source, c.price_as_of, c.use_spot)
        return [line for line in (basis and f"chosen price: {basis}", warning) if line]

    @cached_property
    def rejections(self) -> list[Rejection]:
        """How many offers each constraint removed, per alternative tried."""
        return self.count_rejections() if self.count_rejections is not None else []

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; every placement carries `total_hourly_price` (× num_nodes)."""

        def dump(p: Placement) -> dict[str, Any]:
            return {**p.model_dump(mode="json"), "price_as_of": p.price_as_of,
                    "total_hourly_price": p.total_hourly_price}

        return {
            "target": self.target,
            "clouds": self.clouds,
            "chosen": dump(self.chosen),
            "candidates": [dump(p) for p in self.candidates],
            "best_per_cloud": {c: dump(p) for c, p in self.best_per_cloud.items()},
            "rejections": [vars(r) for r in self.rejections],
            "notes": [*self.notes, *self.price_notes],
        }
