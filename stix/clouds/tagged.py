"""Resources stix tagged, as a cloud's scan finds them (`stix orphans`).

Every resource a stack declares carries `stix-cluster=<stack>` (`stix.clouds.common.labels`);
a persistent bucket's own stack tags its bucket `stix-bucket=<name>` instead. A cloud's
`tagged_resources` lists what carries those tags, whatever state says; the cluster layer
then decides which of them no stack owns. Plain data; no cloud SDK here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stix.buckets import PREFIX as BUCKET_STACK_PREFIX
from stix.errors import StixError, UsageError

CLUSTER_TAG = "stix-cluster"
BUCKET_TAG = "stix-bucket"
TAG_KEYS = (CLUSTER_TAG, BUCKET_TAG)


class ScanUnsupported(UsageError):
    """This cloud package has no tag scan (yet)."""


class ScanError(StixError):
    """The cloud could not be asked (credentials, a missing client library, an API error)."""


@dataclass(frozen=True)
class TaggedResource:
    """One resource carrying a stix tag. `id` is what an engine's state records for it;
    `aliases` are other ids a state may hold instead (an ARN, a self link, a key name)."""

    cloud: str
    region: str
    kind: str  # the cloud's own word: instance, volume, security-group, ...
    id: str
    cluster: str  # the stack its tag names (a cluster, or bucket-<name>)
    name: str = ""
    hourly_price: float | None = None  # filled from the catalog for `machine`
    detail: str = ""
    aliases: tuple[str, ...] = ()
    zone: str | None = None
    machine: str | None = None  # a running machine type the catalog may price
    spot: bool = False
    # What the cloud's delete needs beyond the id (an API link, a parent); not shown.
    handle: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def to_json(self) -> dict[str, object]:
        return {"cloud": self.cloud, "region": self.region, "zone": self.zone,
                "kind": self.kind, "id": self.id, "name": self.name, "cluster": self.cluster,
                "machine": self.machine, "spot": self.spot,
                "hourly_price": self.hourly_price, "detail": self.detail}


@dataclass(frozen=True)
class Deleted:
    """What deleting one resource did: `error` is None when it is gone (or was already)."""

    resource: TaggedResource
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"cloud": self.resource.cloud, "kind": self.resource.kind,
                "id": self.resource.id, "ok": self.error is None, "error": self.error}


@dataclass
class Scan:
    """What one cloud's scan found, and the parts it could not list (said, not hidden)."""

    resources: list[TaggedResource] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def stack_of(tags: Mapping[str, str]) -> str | None:
    """The stack a resource's tags name: its cluster, or its persistent bucket's stack."""
    cluster = tags.get(CLUSTER_TAG)
    if cluster:
        return cluster
    bucket = tags.get(BUCKET_TAG)
    return BUCKET_STACK_PREFIX + bucket if bucket else None


def join(*parts: str | None) -> str:
    """A detail line from the parts that say something."""
    return "; ".join(p for p in parts if p)
