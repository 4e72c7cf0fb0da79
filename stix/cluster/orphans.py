"""Resources stix tagged that no stack holds (`stix orphans`): what a crash, a hand edit or
a lost state left behind, found by asking the clouds and checking every id against what the
engines' states record.

A tagged resource is *held* when its id (or an alias: a key name, an ARN) appears anywhere in
the state of a stack some engine knows — as a resource or nested in one (an instance's root
volume). Everything else is an orphan, even when its tag names a cluster that exists: a
resource made by hand, or leaked by a replaced one, is not in that cluster's stack either.
Resources of a cluster a live stix process is changing right now are set aside, since an
apply records what it makes only as it goes. Deleting needs every engine's state read: with
one unreadable, a resource only it holds would look orphaned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from stix.clouds.tagged import (
    BUCKET_STACK_PREFIX,
    Deleted,
    ScanUnsupported,
    TaggedResource,
    join,
)
from stix.errors import StixError, UsageError

if TYPE_CHECKING:
    from stix.catalog.schema import Offer


@dataclass
class EngineState:
    """One engine's states as read for the scan (`error`: why they could not be)."""

    engine: str
    stacks: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"engine": self.engine, "read": self.error is None, "stacks": self.stacks,
                "error": self.error}


@dataclass
class CloudScan:
    """What was asked of one cloud: the regions scanned, or why it was not."""

    cloud: str
    scanned: bool
    regions: list[str] = field(default_factory=list)
    reason: str | None = None  # why it was skipped
    problems: list[str] = field(default_factory=list)  # parts that could not be listed

    def to_json(self) -> dict[str, object]:
        return {"cloud": self.cloud, "scanned": self.scanned, "regions": self.regions,
                "reason": self.reason, "problems": self.problems}


@dataclass
class OrphanReport:
    orphans: list[TaggedResource] = field(default_factory=list)
    held: int = 0  # tagged resources some stack holds
    busy: list[TaggedResource] = field(default_factory=list)  # being changed right now
    clouds: list[CloudScan] = field(default_factory=list)
    engines: list[EngineState] = field(default_factory=list)
    deleted: list[Deleted] = field(default_factory=list)
    # Why each tagged cluster's resources are orphans ("cluster X exists ..."), by cluster.
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def hourly_price(self) -> float:
        """$/h of the orphans the catalog prices (the rest are counted in `unpriced`)."""
        return round(sum(r.hourly_price or 0.0 for r in self.orphans), 4)

    @property
    def unpriced(self) -> int:
        return sum(1 for r in self.orphans if r.hourly_price is None)

    @property
    def unread(self) -> list[EngineState]:
        return [e for e in self.engines if e.error is not None]

    def refusal(self) -> StixError | None:
        """Why the orphans must not be deleted (None: they may be): an engine whose state
        could not be read may hold some of them."""
        if not self.unread:
            return None
        first = self.unread[0]
        others = [e.engine for e in self.engines if e.error is None]
        return StixError(
            f"not deleting: the {first.engine} engine's state could not be read "
            f"({(first.error or '').splitlines()[0]}), so a resource only its stacks hold "
            "would look orphaned",
            hint=(f"make it readable, or if you do not use {first.engine}, name the engines "
                  f"you use: engines={others!r} (--engine {' --engine '.join(others)})" if others
                  else f"make the {first.engine} state readable"))

    def to_json(self) -> dict[str, object]:
        orphans = [{**r.to_json(), "reason": self.reasons.get(r.cluster, ""),
                    "detail": join(self.reasons.get(r.cluster), r.detail)}
                   for r in self.orphans]
        return {"orphans": orphans,
                "hourly_price": self.hourly_price, "unpriced": self.unpriced,
                "held": self.held, "busy": [r.to_json() for r in self.busy],
                "clouds": [c.to_json() for c in self.clouds],
                "engines": [e.to_json() for e in self.engines],
                "deleted": [d.to_json() for d in self.deleted]}


@dataclass
class _Known:
    """What stix knows of its stacks: held ids, stack names, clusters in the state DB."""

    ids: set[str] = field(default_factory=set)  # lower-cased
    stacks: set[str] = field(default_factory=set)  # folded
    clusters: set[str] = field(default_factory=set)  # folded
    buckets: set[str] = field(default_factory=set)  # bucket stacks in the DB, folded
    busy: dict[str, str] = field(default_factory=dict)  # folded cluster → what runs


def _fold(name: str) -> str:
    """A name as the strictest cloud keeps it in a label (lower case, [a-z0-9_-])."""
    return re.sub(r"[^a-z0-9_-]", "_", name.lower())


def _read_engines(names: Iterable[str], known: _Known) -> list[EngineState]:
    from stix.engine.select import get_engine, load_config_quietly

    config = load_config_quietly()
    out = []
    for name in names:
        engine = get_engine(name, config)
        state = EngineState(engine.name)
        try:
            state.stacks = engine.stack_names()
            for stack in state.stacks:
                known.ids.update(i.lower() for i in engine.resource_ids(stack))
        except StixError as exc:
            state.error = exc.message
        known.stacks.update(_fold(s.rsplit("/", 1)[-1]) for s in state.stacks)
        out.append(state)
    return out


def _read_db(known: _Known) -> None:
    """Clusters and kept buckets in the state DB, and which clusters a live process holds.
    No DB yet means none (the scan does not create one)."""
    import socket

    from stix import state
    from stix.state.locks import alive

    if not state.db_path().exists():
        return
    conn = state.connect()
    try:
        known.clusters = {_fold(c.name) for c in state.list_clusters(conn)}
        known.buckets = {_fold(b.spec.stack) for b in state.list_buckets(conn)}
        host = socket.gethostname()
        for row in conn.execute("SELECT * FROM locks"):
            if row["host"] != host or alive(row["pid"], row["proc_start"]):
                known.busy[_fold(row["cluster"])] = f"`{row['operation']}` (pid {row['pid']})"
    finally:
        conn.close()


def _why(r: TaggedResource, known: _Known) -> str:
    """Why nothing holds it, as far as names tell (ownership itself is by id)."""
    name = _fold(r.cluster)
    if name in known.clusters:
        said = f"cluster {r.cluster} exists (state DB) but its stack does not hold this"
    elif name in known.buckets:
        said = f"bucket stack {r.cluster} is kept (state DB) but does not hold this"
    elif name in known.stacks:
        said = f"stack {r.cluster} exists but does not hold this"
    elif r.cluster.startswith(BUCKET_STACK_PREFIX):
        said = f"no stack {r.cluster} (a persistent bucket's)"
    else:
        said = f"no stack or cluster named {r.cluster}"
    return said


def _clouds(cloud: str | None) -> list[str]:
    from stix.clouds import registry
    from stix.clouds.base import Cloud

    if cloud is None:
        return [n for n in registry.names() if isinstance(registry.get(n), Cloud)]
    name = registry.canonical(cloud)
    if name is None or not registry.served(name) or not isinstance(registry.get(name), Cloud):
        clouds = ", ".join(_clouds(None))
        raise UsageError(f"cloud {cloud!r} (--cloud): not a cloud stix provisions on ({clouds})")
    return [name]


def _scan(names: list[str], regions: list[str] | None,
          explicit: bool) -> tuple[list[CloudScan], list[TaggedResource]]:
    """Ask each cloud with credentials. A cloud named on purpose must answer: without
    credentials (or its client library) that is the error, not a skipped line."""
    from stix.clouds import registry
    from stix.clouds.tagged import ScanError

    scans: list[CloudScan] = []
    found: list[TaggedResource] = []
    for name in names:
        cloud = registry.cloud(name)
        status = cloud.check_credentials(verify=False)
        if not status.ok:
            if explicit:
                raise ScanError(f"{name}: {status.detail}", hint=status.hint)
            scans.append(CloudScan(name, False, reason=f"no credentials: {status.detail}"))
            continue
        try:
            result = cloud.tagged_resources(regions)
        except ScanUnsupported as exc:
            if explicit:
                raise
            scans.append(CloudScan(name, False, reason=exc.message))
            continue
        except StixError as exc:
            if explicit:
                raise
            scans.append(CloudScan(name, False, reason=str(exc)))
            continue
        scans.append(CloudScan(name, True, result.regions, problems=result.problems))
        found.extend(result.resources)
    if not explicit and not any(s.scanned for s in scans):
        lines = "; ".join(f"{s.cloud}: {s.reason}" for s in scans)
        raise StixError(f"no cloud could be scanned ({lines})",
                        hint="give stix credentials for the clouds you use (`stix check` "
                             "says how for each)")
    return scans, found


def _price(resources: list[TaggedResource]) -> list[TaggedResource]:
    """$/h of each running machine from the catalog: its type in its region (its zone when
    the catalog prices zones), on-demand or spot as it runs; a host-only row for a machine
    the catalog also pairs with accelerators."""
    wanted = {r.cloud for r in resources if r.machine}
    if not wanted:
        return resources
    from stix.catalog import load_catalog

    catalog = load_catalog(clouds=sorted(wanted))
    index: dict[tuple[str, str, str], list[Offer]] = {}
    machines = {(r.cloud, r.machine, r.region) for r in resources if r.machine}
    for cloud in sorted(wanted):
        for offer in catalog.for_cloud(cloud):
            key = (cloud, offer.instance_type, offer.region)
            if key in machines:
                index.setdefault(key, []).append(offer)
    out = []
    for r in resources:
        rows = index.get((r.cloud, r.machine or "", r.region), [])
        rows = [o for o in rows if o.accelerator is None] or rows
        here = [o for o in rows if o.zone == r.zone] or rows
        prices = [p for o in here if (p := o.hourly(r.spot)) is not None]
        out.append(replace(r, hourly_price=min(prices)) if prices else r)
    return out


def find_orphans(cloud: str | None = None, regions: list[str] | None = None,
                 engines: list[str] | None = None) -> OrphanReport:
    """Scan the clouds (one, or every one with credentials) for stix-tagged resources and
    return those no stack of `engines` (default: every engine) holds, priced where the
    catalog knows their machine. Read-only."""
    from stix.engine.select import ENGINES

    names = _clouds(cloud)
    known = _Known()
    report = OrphanReport()
    report.engines = _read_engines(engines or ENGINES, known)
    _read_db(known)
    report.clouds, found = _scan(names, regions or None, explicit=cloud is not None)
    for r in sorted(found, key=lambda x: (x.cloud, x.region, x.cluster, x.kind, x.id)):
        if any(i.lower() in known.ids for i in r.ids):
            report.held += 1
        elif _fold(r.cluster) in known.busy:
            report.busy.append(replace(r, detail=f"cluster {r.cluster} is being changed now by "
                                                 f"{known.busy[_fold(r.cluster)]}"))
        else:
            report.orphans.append(r)
            report.reasons.setdefault(r.cluster, _why(r, known))
    report.orphans = _price(report.orphans)
    return report


def delete_orphans(report: OrphanReport) -> list[Deleted]:
    """Delete the report's orphans, cloud by cloud (each orders its own dependents). Refused
    when an engine's state could not be read; the outcomes are kept on the report too."""
    from stix.clouds import registry

    refused = report.refusal()
    if refused is not None:
        raise refused
    out: list[Deleted] = []
    for name in sorted({r.cloud for r in report.orphans}):
        mine = [r for r in report.orphans if r.cloud == name]
        out.extend(registry.cloud(name).delete_tagged(mine))
    report.deleted = out
    return out
