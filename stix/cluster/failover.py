"""When `up` fails for capacity, quota or spot, try the next placement: the whole failover
policy (what is retriable, what gets blocked, which placement comes next) in one place.

Engine errors are classified by `stix.engine.errors` from the cloud's own error codes.
What is blocked is kept at the right level: capacity blocks a zone (or
the region when the cloud has no zones), quota blocks a region, missing credentials block
the whole cloud.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stix.placement import Placement

if TYPE_CHECKING:
    from stix.catalog import Catalog

# Kinds of engine errors (`stix.engine.errors.classify`) after which another placement
# may succeed.
RETRIABLE = ("capacity", "spot", "quota", "credentials")


@dataclass(frozen=True)
class Block:
    """A placement region that failed, at the level the failure applies to."""

    cloud: str
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    spot: bool | None = None
    reason: str = ""

    def covers(self, p: Placement) -> bool:
        if p.cloud != self.cloud:
            return False
        if self.region is not None and p.region != self.region:
            return False
        if self.zone is not None and p.zone != self.zone:
            return False
        if self.instance_type is not None and p.instance_type != self.instance_type:
            return False
        return self.spot is None or p.use_spot == self.spot


def block_for(p: Placement, kind: str, reason: str) -> Block:
    if kind == "credentials":
        return Block(p.cloud, reason=reason)
    if kind == "quota":
        return Block(p.cloud, p.region, instance_type=p.instance_type, spot=p.use_spot,
                     reason=reason)
    # capacity / spot: this zone (or the region, for clouds priced per region).
    return Block(p.cloud, p.region, p.zone, p.instance_type,
                 spot=p.use_spot if kind == "spot" else None, reason=reason)


def next_placement(failed: Placement, candidates: Sequence[Placement],
                   blocks: Sequence[Block]) -> Placement | None:
    """The next candidate not blocked, nearest first: same region (another zone), then the
    same cloud, then other clouds; the optimizer's order (price) within each."""
    open_ = [c for c in candidates if not any(b.covers(c) for b in blocks)]

    def distance(c: Placement) -> int:
        if c.cloud != failed.cloud:
            return 2
        return 0 if c.region == failed.region else 1

    ranked = sorted(enumerate(open_), key=lambda ic: (distance(ic[1]), ic[0]))
    return ranked[0][1] if ranked else None


def zone_siblings(failed: Placement, catalog: Catalog) -> list[Placement]:
    """The same machine in the region's other zones (the optimizer lists one zone each)."""
    out = []
    for offer in catalog.for_cloud(failed.cloud):
        price = offer.hourly(failed.use_spot)
        if (offer.region == failed.region and offer.instance_type == failed.instance_type
                and offer.zone and offer.zone != failed.zone and price is not None
                and offer.accelerator == (failed.accelerator.name if failed.accelerator else None)):
            out.append(failed.model_copy(update={"zone": offer.zone, "hourly_price": price}))
    return sorted(out, key=lambda p: (p.hourly_price, p.zone or ""))


def after_failure(failed: Placement, candidates: Sequence[Placement], blocks: Sequence[Block],
                  catalog: Catalog) -> Placement | None:
    """The placement to try after `failed`: its zone siblings first, then the candidates."""
    return next_placement(failed, zone_siblings(failed, catalog) + list(candidates), blocks)
