"""When `up` fails for capacity, quota or spot, try the next placement.

Errors are classified from the cloud's own error codes in the engine output. What is
blocked is kept at the right level: capacity blocks a zone (or the region when the cloud
has no zones), quota blocks a region, missing credentials block the whole cloud.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from stix.placement import Placement

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("capacity", re.compile(
        r"InsufficientInstanceCapacity|InsufficientCapacity|InsufficientHostCapacity|"
        r"ZONE_RESOURCE_POOL_EXHAUSTED|RESOURCE_POOL_EXHAUSTED|ResourceExhausted|"
        r"does not have enough resources available|SkuNotAvailable|AllocationFailed|"
        r"ZonalAllocationFailed|OverconstrainedAllocationRequest|capacity.not.available|"
        r"Unsupported: .*(instance type|availability zone)|stockout", re.I)),
    ("spot", re.compile(
        r"SpotMaxPriceTooLow|MaxSpotInstanceCountExceeded|InsufficientSpotCapacity|"
        r"spot.*(not available|unavailable|capacity)|OperationNotAllowed.*LowPriority|"
        r"Preemptible.*quota", re.I)),
    ("quota", re.compile(
        r"VcpuLimitExceeded|InstanceLimitExceeded|QUOTA_EXCEEDED|QuotaExceeded|"
        r"Quota '.*' exceeded|exceeded.*quota|OperationNotAllowed.*quota|"
        r"ResourceLimitExceeded|LimitExceeded", re.I)),
    ("credentials", re.compile(
        r"NoCredentialProviders|no valid credential|could not find default credentials|"
        r"AuthFailure|UnauthorizedOperation|InvalidClientTokenId|ExpiredToken|"
        r"AuthorizationFailed|invalid_grant|Unauthenticated", re.I)),
]

RETRIABLE = ("capacity", "spot", "quota", "credentials")


def classify(text: str) -> str:
    """'capacity' | 'spot' | 'quota' | 'credentials' | 'other'."""
    for kind, pattern in _PATTERNS:
        if pattern.search(text):
            return kind
    return "other"


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
