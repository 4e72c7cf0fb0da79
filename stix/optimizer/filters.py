"""Each constraint of a task as a named filter, run in a fixed order so that a rejection
can be told: "what" the task needs first (accelerator, instance type, cpus, memory), then
"where" (cloud, region, zone, image), then "how" (spot market, price cap).

A filter keeps the order of the pool it gets; each is one list comprehension per cloud
segment, the whole hot path of the optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain

from stix.catalog import Offer
from stix.optimizer.index import Segment
from stix.optimizer.wants import Want
from stix.task.labels import portable_problem

DEFAULT_ARCH = "x86_64"


@dataclass(frozen=True)
class Filter:
    name: str  # the constraint: accelerator, instance_type, cpus, memory, cloud, ...
    label: str  # as the task states it, e.g. "cpus=8+"
    keep: Callable[[Segment], Sequence[Offer]]
    catalog_only: bool = False  # stix's defaults do not apply to existing machines
    default: bool = False  # a sizing default (SkyPilot's rules), not the task's own words


@dataclass(frozen=True)
class Stage:
    filter: Filter
    before: int
    after: int

    @property
    def removed(self) -> int:
        return self.before - self.after


@dataclass
class ChainRun:
    """One Want through its filters: what each removed, and what survived."""

    want: Want
    pool_size: int
    stages: list[Stage] = field(default_factory=list)
    survivors: list[Segment] = field(default_factory=list)
    killed_by: Filter | None = None
    before_kill: list[Offer] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return any(s.offers for s in self.survivors)


def _at_least(value: float, attr: str) -> Callable[[Segment], list[Offer]]:
    if attr == "vcpus":
        return lambda s: [o for o in s.offers if o.vcpus >= value]
    if attr == "memory_gib":
        return lambda s: [o for o in s.offers if o.memory_gib >= value]
    return lambda s: [o for o in s.offers if o.accelerator_count >= value]


def _exactly(value: float, attr: str) -> Callable[[Segment], list[Offer]]:
    close = math.isclose
    if attr == "vcpus":
        return lambda s: [o for o in s.offers if close(o.vcpus, value)]
    if attr == "memory_gib":
        return lambda s: [o for o in s.offers if close(o.memory_gib, value)]
    return lambda s: [o for o in s.offers if close(o.accelerator_count, value)]


def _amount(value: float, attr: str, at_least: bool) -> Callable[[Segment], list[Offer]]:
    """Machines stix creates must match an exact amount; an existing machine (local, ssh)
    serves any request it can hold, as a Kubernetes node does."""
    if at_least:
        return _at_least(value, attr)
    exact, enough = _exactly(value, attr), _at_least(value, attr)
    return lambda s: exact(s) if s.provisioned else enough(s)


def _price_cap(cap: float, spot: bool) -> Callable[[Segment], list[Offer]]:
    if spot:
        return lambda s: [o for o in s.offers if (o.spot_price or 0.0) <= cap]
    return lambda s: [o for o in s.offers if o.price <= cap]


_SHARED: dict[tuple[str, str], dict[str, bool]] = {}  # (rule, cloud) → type → answer


def _type_rule(cloud: str, rule: str = "is_shared_core") -> Callable[[str], bool]:
    """The cloud's answer to a per-type rule (shared-core, previous generation), asked
    once per type."""
    from stix.clouds import registry

    known = _SHARED.setdefault((rule, cloud), {})
    ask = getattr(registry.cloud(cloud), rule) if registry.served(cloud) else None

    def shared(itype: str) -> bool:
        got = known.get(itype)
        if got is None:
            got = known[itype] = bool(ask and ask(itype))
        return got

    return shared


def _no_shared_core(s: Segment) -> list[Offer]:
    shared = _type_rule(s.cloud)
    return [o for o in s.offers if not shared(o.instance_type)]


def _current_generation(s: Segment) -> list[Offer]:
    old = _type_rule(s.cloud, "is_previous_generation")
    return [o for o in s.offers if not old(o.instance_type)]


def _multi_node(s: Segment) -> Sequence[Offer]:
    """A multi-node task only where a cluster's nodes can reach each other."""
    from stix.clouds import registry

    one = registry.served(s.cloud) and not registry.get(s.cloud).capabilities.multi_node
    return [] if one else s.offers


def _labels(labels: dict[str, str]) -> Callable[[Segment], Sequence[Offer]]:
    """Only clouds whose tags or labels can carry the task's labels."""
    from stix.clouds import registry

    def keep(s: Segment) -> Sequence[Offer]:
        if not registry.served(s.cloud):
            return s.offers
        provider = registry.get(s.cloud)
        return [] if any(provider.label_problem(k, v) for k, v in labels.items()) else s.offers

    return keep


def _memory_ratio(ratio: float) -> Callable[[Segment], list[Offer]]:
    return lambda s: [o for o in s.offers if o.memory_gib >= ratio * o.vcpus - 1e-9]


def _host_floor(name: str, count: float) -> Callable[[Segment], Sequence[Offer]]:
    from stix.clouds import registry

    def keep(s: Segment) -> Sequence[Offer]:
        floor = registry.cloud(s.cloud).default_host(name, count) if registry.served(
            s.cloud) else None  # fmt: skip
        if floor is None:
            return s.offers
        cpus, mem = floor
        return [o for o in s.offers if o.vcpus >= cpus and o.memory_gib >= mem]

    return keep


def _trusted(want: Want) -> Callable[[Segment], list[Offer]]:
    itype, region = want.instance_type, want.region
    return lambda s: [o for o in s.offers if not o.suspect
                      or (o.instance_type == itype and o.region == region)]  # fmt: skip


def sizing_defaults(want: Want) -> list[Filter]:
    """SkyPilot's sizing rules for what the task leaves unsaid (see `wants`)."""
    out: list[Filter] = []
    if want.memory_per_vcpu is not None:
        ratio = want.memory_per_vcpu
        out.append(Filter("memory", f"memory>={ratio:g}x vCPUs (default)", _memory_ratio(ratio),
                          catalog_only=True, default=True))
    acc = want.accelerator
    if want.default_host and acc is not None:
        out.append(Filter("host", f"host VM sized for {acc} (default)",
                          _host_floor(acc.name, acc.count), catalog_only=True, default=True))
    if not want.shared_core:
        out.append(Filter("shared_core", "no burstable or shared-core types (default)",
                          _no_shared_core, catalog_only=True, default=True))
    if want.instance_type is None:  # as SkyPilot's default families: named, they count
        out.append(Filter("generation", "no previous-generation types (default)",
                          _current_generation, catalog_only=True, default=True))
    return out


def build_filters(want: Want, clouds: Sequence[str] | None) -> list[Filter]:
    """The filters for `want`, in explanation order. `clouds`: the enabled clouds, when the
    cloud filter is needed (the fast path reads only enabled clouds' segments)."""
    out: list[Filter] = []
    acc = want.accelerator
    if acc is not None:
        # A fraction (T4:0.5, SkyPilot's job-queue form) needs a machine with whole GPUs.
        whole = float(math.ceil(acc.count))
        out.append(Filter("accelerator", str(acc), _amount(whole, "accelerator_count", False)))
        if want.instance_type is not None:
            itype = want.instance_type
            out.append(Filter("instance_type", f"instance_type={itype}",
                              lambda s: [o for o in s.offers if o.instance_type == itype]))
    for name, attr, q in (("cpus", "vcpus", want.cpus), ("memory", "memory_gib", want.memory)):
        if q is not None:
            out.append(Filter(name, f"{name}={q}", _amount(q.value, attr, q.at_least),
                              catalog_only=want.defaulted, default=want.defaulted))
    out.extend(sizing_defaults(want))
    if want.instance_type is None:
        # stix's images and setup scripts assume x86_64: other architectures only by name.
        out.append(Filter("arch", f"arch={DEFAULT_ARCH}",
                          lambda s: [o for o in s.offers if o.arch == DEFAULT_ARCH],
                          catalog_only=True))
    if clouds is not None:
        enabled = set(clouds)
        out.append(Filter("cloud", "enabled clouds: " + ", ".join(sorted(enabled)),
                          lambda s: s.offers if s.cloud in enabled else []))
    if want.cloud is not None:
        pin = want.cloud
        out.append(Filter("cloud", f"cloud={pin}", lambda s: s.offers if s.cloud == pin else []))
    if want.num_nodes > 1:
        out.append(Filter("num_nodes", f"num_nodes={want.num_nodes}", _multi_node))
    labels = want.resources.labels or {}
    if any(portable_problem(k, v) for k, v in labels.items()):
        out.append(Filter("labels", "labels every cloud cannot take", _labels(labels)))
    if want.region is not None:
        region = want.region
        out.append(Filter("region", f"region={region}",
                          lambda s: [o for o in s.offers if o.region == region]))
    if want.zone is not None:
        zone = want.zone
        out.append(Filter("zone", f"zone={zone}",
                          lambda s: [o for o in s.offers if o.zone == zone]))
    if want.image_regions is not None:
        regions = want.image_regions
        out.append(Filter("image_id", "image_id regions: " + ", ".join(sorted(regions)),
                          lambda s: [o for o in s.offers if o.region in regions]))
    out.append(Filter("suspect", "rows `stix catalog check` trusts", _trusted(want),
                      catalog_only=True))
    if want.spot:
        out.append(Filter("use_spot", "use_spot=true",
                          lambda s: [o for o in s.offers if o.spot_price is not None]))
    if want.max_hourly_cost is not None:
        cap = want.max_hourly_cost
        out.append(Filter("max_hourly_cost", f"max_hourly_cost={cap:g}",
                          _price_cap(cap, want.spot)))
    return out


def run_chain(want: Want, segments: list[Segment], filters: list[Filter]) -> ChainRun:
    """Apply `filters` in order; stop at the first that leaves nothing, keeping what it
    was given (the nearest alternatives for the explanation)."""
    run = ChainRun(want, pool_size=sum(len(s.offers) for s in segments))
    if run.pool_size == 0:
        return run  # nothing to filter: the pool itself is empty (explain.py says why)
    current = segments
    for f in filters:
        before = sum(len(s.offers) for s in current)
        nxt = [Segment(s.cloud, s.offers if f.catalog_only and not s.provisioned else f.keep(s),
                       s.provisioned) for s in current]  # fmt: skip
        after = sum(len(s.offers) for s in nxt)
        run.stages.append(Stage(f, before, after))
        if after == 0:
            run.killed_by = f
            run.before_kill = [o for s in current for o in s.offers]
            run.survivors = []
            return run
        current = [s for s in nxt if s.offers]
    run.survivors = [s for s in current if s.offers]
    return run


FIRST_CHUNK = 64


def survivors(segment: Segment, filters: list[Filter]) -> Iterator[Offer]:
    """The offers of `segment` that pass every filter, in order, found lazily: the filters
    run on growing slices, so a task that fits early never scans the whole pool."""
    offers = segment.offers
    active = [f for f in filters if segment.provisioned or not f.catalog_only]
    start, size = 0, FIRST_CHUNK
    while start < len(offers):
        part = Segment(segment.cloud, offers[start:start + size], segment.provisioned)
        for f in active:
            part.offers = f.keep(part)
            if not part.offers:
                break
        yield from part.offers
        start += size
        size *= 2


@dataclass
class LazyRun:
    """One Want on the fast path: per cloud, its first survivor and an iterator of the rest."""

    want: Want
    segments: list[Segment]
    filters: list[Filter]
    heads: list[tuple[str, Offer, Iterator[Offer]]] = field(default_factory=list)

    @classmethod
    def start(cls, want: Want, segments: list[Segment], filters: list[Filter]) -> LazyRun:
        run = cls(want, segments, filters)
        for seg in segments:
            it = survivors(seg, filters)
            first = next(it, None)
            if first is not None:
                run.heads.append((seg.cloud, first, it))
        return run

    @property
    def feasible(self) -> bool:
        return bool(self.heads)

    def streams(self) -> list[tuple[str, Iterator[Offer]]]:
        """Each cloud's survivors in rank order (each can be read once)."""
        return [(cloud, chain([first], rest)) for cloud, first, rest in self.heads]

    def full_chain(self) -> ChainRun:
        """The same Want through every filter, counting what each removed."""
        return run_chain(self.want, self.segments, self.filters)
