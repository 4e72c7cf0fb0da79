"""The data a pipeline moves, and what moving it costs.

As SkyPilot's DAG optimizer reads a chain: a task's `outputs` ({uri: GB}) travel to the
next task; a task whose predecessor declares no outputs reads its own `inputs` from their
buckets; the last task's outputs travel to their buckets. A transfer is priced by where
the data leaves (ingress is free): nothing within a region, the source cloud's
inter-region rate between its regions, its internet rate to another cloud (SkyPilot
prices only the last; stix also prices regions, whose rates the catalog has). A bucket's
region is not known from its URI, so data to or from a bucket on the same cloud counts as
free. Rates come from `stix.catalog.egress`; where none is known, the transfer is listed
with a zero price and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stix.placement import Placement
    from stix.task import Task


@dataclass(frozen=True)
class Location:
    """Where data is: a cloud and, when known, a region (None: a bucket, or unknown)."""

    cloud: str | None
    region: str | None = None

    @classmethod
    def of(cls, placement: Placement) -> Location:
        return cls(placement.cloud, placement.region)

    def render(self) -> str:
        if self.cloud is None:
            return "unknown"
        return self.cloud + (f"/{self.region}" if self.region else "")


@dataclass(frozen=True)
class Transfer:
    """`gigabytes` moved for task `task` (into it, or out of it with `outbound`)."""

    task: str
    what: str  # the previous task's name, or the bucket URI
    gigabytes: float
    source: Location
    destination: Location
    usd_per_gb: float
    basis: str  # what the rate rests on, or why it is not priced
    outbound: bool = False

    @property
    def usd(self) -> float:
        return self.gigabytes * self.usd_per_gb

    def render(self) -> str:
        where = f"{self.source.render()} → {self.destination.render()}"
        if self.outbound:
            flow = f"task {self.task} outputs → {self.what}"
        elif self.what.startswith("task "):
            flow = f"{self.what} outputs → task {self.task}"
        else:
            flow = f"{self.what} → task {self.task}"
        return f"{flow}: {self.gigabytes:g} GB, {where}, ${self.usd:.2f} ({self.basis})"

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "data": self.what, "outbound": self.outbound,
                "gigabytes": self.gigabytes, "source": self.source.render(),
                "destination": self.destination.render(), "usd_per_gb": self.usd_per_gb,
                "usd": round(self.usd, 6), "basis": self.basis}


def bucket_location(uri: str) -> Location:
    """The cloud whose store holds the bucket `uri` names (unknown for other URIs)."""
    from stix.clouds import registry
    from stix.task.storage import parse_bucket_uri

    ref = parse_bucket_uri(uri)
    owner = registry.stores().get(ref.store, (None, ()))[0] if ref is not None else None
    return Location(owner)


def rate(source: Location, destination: Location) -> tuple[float, str]:
    """$/GB from `source` to `destination`, and what the figure rests on."""
    from stix.catalog.egress import egress_price

    if source.cloud is None or destination.cloud is None:
        return 0.0, "where the data lives is unknown (not a bucket URI): not priced"
    if source.cloud == destination.cloud:
        if source.region is None or destination.region is None:
            return 0.0, f"within {source.cloud}: free"
        if source.region == destination.region:
            return 0.0, "same region: free"
        kind = "inter_region"
    else:
        kind = "internet"
    price = egress_price(source.cloud, kind)
    words = kind.replace("_", "-")
    if price is None:
        return 0.0, f"the catalog has no {words} egress price for {source.cloud}: not priced"
    return price.usd_per_gb, (f"{source.cloud} {words} egress ${price.usd_per_gb:g}/GB, "
                              f"{price.price_source} {price.as_of}")


def has_data(tasks: Sequence[Task]) -> bool:
    """Whether any task declares data to move (a non-zero input or output)."""
    return any(size > 0 for t in tasks for size in {**(t.inputs or {}),
                                                    **(t.outputs or {})}.values())


def _name(task: Task) -> str:
    from stix.names import for_task

    return task.name or for_task(task)


def flows_into(tasks: Sequence[Task], i: int, here: Location, before: Location | None,
               labels: Sequence[str] | None = None) -> list[Transfer]:
    """What task `i`, placed `here`, reads: the previous task's outputs from `before`, or
    (when that task declares none) its own inputs from their buckets."""
    names = labels if labels is not None else [_name(t) for t in tasks]
    previous = tasks[i - 1].outputs if i > 0 else None
    if previous and before is not None:
        size = sum(previous.values())
        if size <= 0:
            return []
        per_gb, basis = rate(before, here)
        return [Transfer(names[i], f"task {names[i - 1]}", size, before, here, per_gb, basis)]
    out = []
    for uri, size in sorted((tasks[i].inputs or {}).items()):
        if size > 0:
            source = bucket_location(uri)
            per_gb, basis = rate(source, here)
            out.append(Transfer(names[i], uri, size, source, here, per_gb, basis))
    return out


def flows_out(tasks: Sequence[Task], i: int, here: Location,
              labels: Sequence[str] | None = None) -> list[Transfer]:
    """What the last task, placed `here`, writes to its output buckets."""
    names = labels if labels is not None else [_name(t) for t in tasks]
    out = []
    for uri, size in sorted((tasks[i].outputs or {}).items()):
        if size > 0:
            destination = bucket_location(uri)
            per_gb, basis = rate(here, destination)
            out.append(Transfer(names[i], uri, size, here, destination, per_gb, basis,
                                outbound=True))
    return out
