"""Ordering feasible offers: by cost (default) or by time, with a total tie-break rule.

Cost: total $/h (price per node × nodes), then cloud, the cloud's home regions
(`Cloud.home_regions`), region, zone, instance type names, then the position of the
alternative in the task. Survivors arrive pre-sorted per cloud,
so cost ranking is a lazy merge; only the first few results are ever materialized.

Time: the faster machine first, by `speed()`; cost and the names above break ties.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from stix.catalog import Offer
from stix.optimizer.filters import LazyRun
from stix.optimizer.wants import Want

Target = Literal["cost", "time"]

# Relative speed of one accelerator: approximate dense FP16/BF16 tensor TFLOPS from the
# vendors' datasheets (no sparsity). Coarse on purpose: it orders generations, it does not
# predict a job's runtime. Unlisted accelerators count as UNKNOWN_SPEED.
GPU_SPEED: dict[str, float] = {
    "K80": 8.0, "M60": 10.0, "P4": 11.0, "P40": 12.0, "P100": 19.0, "T4": 65.0,
    "T4g": 65.0, "A10G": 70.0, "V100": 125.0, "V100-32GB": 125.0, "A10": 125.0,
    "L4": 121.0, "A40": 150.0, "L40": 181.0, "L40S": 362.0, "A100": 312.0,
    "A100-80GB": 312.0, "RTXPRO6000": 500.0, "H100": 989.0, "H100-MEGA": 989.0,
    "H200": 989.0, "MI300X": 1307.0, "B100": 1750.0, "B200": 2250.0, "GB200": 2500.0,
}  # fmt: skip
UNKNOWN_SPEED = 1.0
# CPU-only machines rank below any GPU machine, faster with more vCPUs.
CPU_SPEED_PER_VCPU = 0.001


def speed(offer: Offer) -> float:
    if offer.accelerator:
        return GPU_SPEED.get(offer.accelerator, UNKNOWN_SPEED) * offer.accelerator_count
    return CPU_SPEED_PER_VCPU * offer.vcpus


@dataclass(frozen=True)
class Ranked:
    """A feasible offer for one alternative of the task, with its price."""

    offer: Offer
    want: Want
    want_index: int
    hourly: float  # one node, in the market the alternative asks for

    @property
    def total(self) -> float:
        return self.hourly * self.want.num_nodes

    @property
    def identity(self) -> tuple[str, str, str, bool]:
        """Offers in other zones of the same region are the same candidate to a reader."""
        return (self.offer.cloud, self.offer.region, self.offer.instance_type, self.want.spot)


CostKey = tuple[float, str, int, str, str, str, int]


def _cost_key(r: Ranked) -> CostKey:
    from stix.catalog.order import home_rank

    o = r.offer
    return (r.total, o.cloud, home_rank(o.cloud, o.region), o.region, o.zone or "",
            o.instance_type, r.want_index)


def _time_key(r: Ranked) -> tuple[float, float, str, int, str, str, str, int]:
    return (-speed(r.offer), *_cost_key(r))


def _stream(index: int, want: Want, offers: Iterable[Offer]) -> Iterator[Ranked]:
    spot = want.spot
    for o in offers:
        yield Ranked(o, want, index, (o.spot_price or 0.0) if spot else o.price)


def ranked(runs: list[tuple[int, LazyRun]],
           target: Target) -> tuple[Iterator[Ranked], dict[str, Ranked]]:
    """Every survivor of `runs` in rank order (lazy for cost), and the best of each cloud."""
    best: dict[str, Ranked] = {}
    if target == "cost":
        for i, run in runs:
            for cloud, first, _rest in run.heads:
                r = next(_stream(i, run.want, [first]))
                if cloud not in best or _cost_key(r) < _cost_key(best[cloud]):
                    best[cloud] = r
        streams = [_stream(i, run.want, it) for i, run in runs for _c, it in run.streams()]
        return heapq.merge(*streams, key=_cost_key), dict(sorted(best.items()))
    everything = sorted((r for i, run in runs for _c, it in run.streams()
                         for r in _stream(i, run.want, it)), key=_time_key)  # fmt: skip
    for r in everything:
        best.setdefault(r.offer.cloud, r)
    return iter(everything), dict(sorted(best.items()))


def top_distinct(stream: Iterator[Ranked], n: int) -> list[Ranked]:
    """The first `n` distinct candidates (one zone per cloud/region/instance type/market)."""
    out: list[Ranked] = []
    seen: set[tuple[str, str, str, bool]] = set()
    for r in stream:
        if r.identity in seen:
            continue
        seen.add(r.identity)
        out.append(r)
        if len(out) >= n:
            break
    return out


def top_and_regions(stream: Iterator[Ranked], n: int
                    ) -> tuple[list[Ranked], dict[tuple[str, str], Ranked]]:
    """`top_distinct`, and the first (best) offer of every cloud/region in the whole stream:
    where data moves between tasks, the best machine of each region is a choice of its own
    (reads every survivor, so only a pipeline with data to move asks for it)."""
    out: list[Ranked] = []
    seen: set[tuple[str, str, str, bool]] = set()
    regions: dict[tuple[str, str], Ranked] = {}
    for r in stream:
        regions.setdefault((r.offer.cloud, r.offer.region), r)
        if len(out) < n and r.identity not in seen:
            seen.add(r.identity)
            out.append(r)
    return out, regions
