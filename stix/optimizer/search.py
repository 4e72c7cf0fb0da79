"""One optimize call: a task → ranked feasible placements over the enabled clouds.

Offers come from the price catalog for providers that use it, and from the provider
itself for the others (`capabilities.uses_catalog` off: this machine, ssh node pools,
Kubernetes pods), which are considered only when the task pins them or `clouds` names them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from stix.errors import UsageError
from stix.optimizer.explain import Context, NothingFitsError, left_out_note, reason
from stix.optimizer.filters import LazyRun, build_filters, run_chain
from stix.optimizer.index import OfferIndex, Segment, index_for
from stix.optimizer.placements import build
from stix.optimizer.rank import Ranked, Target, ranked, top_and_regions, top_distinct
from stix.optimizer.result import OptimizeResult, Rejection
from stix.optimizer.wants import Choice, Want, choices, read_as_note
from stix.user_config import applies_task_config

if TYPE_CHECKING:
    from stix.catalog import Catalog
    from stix.task import Task

class _Search:
    """One optimize call: the pools per cloud, and the runs made so far."""

    def __init__(self, catalog: Catalog, enabled: list[str], non_catalog: dict[str, bool],
                 wants: list[Want]) -> None:
        from stix.catalog import Catalog

        self.wants = wants
        self.index = index_for(catalog)
        self.enabled = enabled
        self.non_catalog = non_catalog  # cloud → True for providers listing their own offers
        extras = []
        for cloud in sorted(c for c, own in non_catalog.items() if own):
            from stix.clouds import registry

            extras.extend(registry.get(cloud).offers_for(self.wants))
        self.extra = OfferIndex(Catalog(extras))
        self.runs: dict[int, LazyRun] = {}

    def segments(self, want: Want, clouds: Iterable[str]) -> list[Segment]:
        out: list[Segment] = []
        for cloud in clouds:
            own = self.non_catalog.get(cloud, False)
            idx = self.extra if own else self.index
            if want.accelerator is not None:
                name = idx.resolve_accelerator(want.accelerator.name)
                offers = [] if name is None else idx.pool(
                    cloud, accelerator=name, instance_type=None, spot=want.spot)
            elif own and want.instance_type is None:
                offers = idx.all_in(cloud, spot=want.spot)
            else:
                offers = idx.pool(cloud, accelerator=None, instance_type=want.instance_type,
                                  spot=want.spot)
            out.append(Segment(cloud, offers, provisioned=not own))
        return out

    def run(self, i: int, want: Want) -> LazyRun:
        if i not in self.runs:
            clouds = [c for c in self.enabled if want.cloud is None or c == want.cloud]
            self.runs[i] = LazyRun.start(want, self.segments(want, clouds),
                                         build_filters(want, None))
        return self.runs[i]

    def rejections(self) -> list[Rejection]:
        out: list[Rejection] = []
        for i in sorted(self.runs):
            full = self.runs[i].full_chain()
            out.extend(Rejection(full.want.label, s.filter.label, s.removed)
                       for s in full.stages if s.removed)
        return out

    def evaluate(self, choice: Choice, numbering: dict[int, int]) -> list[tuple[int, LazyRun]]:
        """Feasible runs for `choice`: the first feasible option when ordered, else all."""
        found: list[tuple[int, LazyRun]] = []
        for option in choice.options:
            if isinstance(option, Choice):
                got = self.evaluate(option, numbering)
            else:
                i = numbering[id(option)]
                run = self.run(i, option)
                got = [(i, run)] if run.feasible else []
            if got and choice.ordered:
                return got
            found.extend(got)
        return found


def served_alternatives(task: Task, served: list[str]) -> Task:
    """The task without the `any_of`/`ordered` alternatives pinned to clouds stix does not
    serve (SkyPilot likewise skips clouds it cannot use; `validate` names them). When no
    alternative is left, the task is kept whole and the pin is the error."""
    res = task.resources
    for key in ("any_of", "ordered"):
        options = getattr(res, key) or []
        kept = [o for o in options if o.cloud is None or o.cloud in served]
        if options and kept and len(kept) < len(options):
            return task.model_copy(update={"resources": res.model_copy(update={key: kept})})
    return task


def _only_examples(catalog: Catalog, cloud: str, wants: list[Want]) -> bool:
    """A cloud whose shipped rows are an example (not prices), not named by the task, with
    no observed price read yet: left out, as no decision may rest on them (credentials for
    it do not make them prices)."""
    from stix.clouds import registry

    if not registry.served(cloud) or not registry.get(cloud).capabilities.example_prices:
        return False
    if any(w.cloud == cloud for w in wants):
        return False
    return not any(o.price_source == "observed" for o in catalog.for_cloud(cloud))


def _served_check(wants: list[Want], clouds: list[str] | None, served: list[str]) -> None:
    for want in wants:
        if want.cloud is not None and want.cloud not in served:
            raise UsageError(f"resources pin cloud {want.cloud!r}, which stix does not serve; "
                             f"it serves {', '.join(served)}")
    for cloud in clouds or []:
        if cloud not in served:
            raise UsageError(f"cloud {cloud!r} is not one stix serves ({', '.join(served)})")


def _allowed(enabled: list[str], wants: list[Want], asked: list[str] | None,
             allowed: Sequence[str] | None) -> list[str]:
    """The user config's `allowed_clouds` bounds the clouds stix creates machines on;
    asking for (or pinning only) a cloud outside it is an error, not an empty result.
    Existing machines (providers that do not provision) are always allowed."""
    from stix.clouds import registry
    from stix.user_config import where as said

    if allowed is None or "*" in allowed:
        return enabled

    def barred(cloud: str) -> bool:
        return cloud not in allowed and registry.get(cloud).capabilities.provisions

    where = f"{said('allowed_clouds')} ({', '.join(allowed) or 'none'})"
    for cloud in asked or []:
        if barred(cloud):
            raise UsageError(f"cloud {cloud!r} is not allowed by {where}",
                             hint="add it there, or choose another cloud")
    pins = {w.cloud for w in wants}
    if None not in pins and all(barred(c) for c in pins if c is not None):
        raise UsageError(f"the task's resources pin {', '.join(sorted(c for c in pins if c))}, "
                         f"which {where} does not include",
                         hint="add it there, or drop the cloud from the task's resources")
    return [c for c in enabled if not barred(c)]


@applies_task_config
def optimize(task: Task, catalog: Catalog | None = None, clouds: Iterable[str] | None = None,
             target: Target = "cost", cluster: str | None = None, *,
             candidates: int = 10, shared_core: bool | None = None,
             allowed: Sequence[str] | None = None, per_region: bool = False
             ) -> OptimizeResult:
    """Rank the placements that fit `task`; raise NothingFitsError (naming the constraint)
    when none does. `clouds` restricts the choice (default: every catalog cloud stix serves,
    plus clouds the task pins). `shared_core`: burstable and shared-core types may be
    chosen unnamed (default: the user config's `allow_shared_core`). `allowed`: the clouds
    machines may be created on (default: the user config's `allowed_clouds`; "*": all).
    `per_region`: also the best placement of every cloud/region (`best_per_region`)."""
    from stix.catalog import load_catalog
    from stix.clouds import registry
    from stix.optimizer.clouds import bucket_cloud, keyed_creatable

    if target not in ("cost", "time"):
        raise UsageError(f"target must be 'cost' or 'time', got {target!r}")
    if candidates < 1:
        raise UsageError(f"candidates must be at least 1, got {candidates}")
    from stix.names import for_task

    name = for_task(task, cluster)
    catalog = catalog if catalog is not None else load_catalog()
    served = registry.names()
    if shared_core is None or allowed is None:
        from stix.user_config import load_config

        config = load_config()
        shared_core = config.allow_shared_core if shared_core is None else shared_core
        allowed = config.allowed_clouds if allowed is None else allowed
    task = served_alternatives(task, served)
    tree = choices(task, shared_core)
    wants = tree.wants()
    asked = sorted(set(clouds)) if clouds is not None else None
    _served_check(wants, asked, served)
    if asked is not None:
        enabled = asked
    else:
        pinned = {w.cloud for w in wants if w.cloud is not None}
        enabled = sorted((set(catalog.clouds) & set(served)) | pinned)
    enabled = _allowed(enabled, wants, asked, allowed)
    enabled = [c for c in enabled if not _only_examples(catalog, c, wants)]
    non_catalog = {c: not registry.get(c).capabilities.uses_catalog for c in enabled}
    pinned_by_bucket, firm = bucket_cloud(task)
    wanted = {w.cloud for w in wants}
    # A bucket stix creates in an S3-compatible store can also be made from this machine
    # (`stix.clouds.keyed`): its cloud is then preferred, not required.
    relaxable = not firm or keyed_creatable(task)
    if pinned_by_bucket is not None and relaxable and (
            pinned_by_bucket not in enabled or not ({None, pinned_by_bucket} & wanted)):
        pinned_by_bucket = None  # elsewhere, nodes reach them with the user's keys
    unpinned = list(enabled)
    if pinned_by_bucket is not None:
        if not ({None, pinned_by_bucket} & wanted):
            asked_for = ", ".join(sorted(c for c in wanted if c))
            raise UsageError(f"the task creates buckets on {pinned_by_bucket} (its stack makes "
                             f"them) but asks for machines on {asked_for}",
                             hint="create the bucket first and name it as the mount's `source` "
                                  "(nodes elsewhere reach it with your keys)")
        if pinned_by_bucket not in enabled:
            raise UsageError(f"the task creates buckets on {pinned_by_bucket}, which is not "
                             f"among the clouds considered ({', '.join(enabled)})")
        # Nodes of that cloud reach its buckets with their own identity.
        enabled = [c for c in enabled if c == pinned_by_bucket or (
            non_catalog[c] and not registry.get(c).capabilities.provisions)]
    elif any(m.store is None and m.bucket() is None for m in task.storage_mounts().values()):
        # A bucket the stack makes without a named store goes in the store of the nodes'
        # cloud: one without an object store cannot hold it (existing machines mount it as
        # they can).
        enabled = [c for c in enabled if getattr(registry.get(c), "store", None) is not None
                   or not registry.get(c).capabilities.provisions]
        if not enabled:
            raise UsageError("the task's buckets need a cloud with an object store, and "
                             "none of the clouds considered has one")
    search = _Search(catalog, enabled, non_catalog, wants)
    numbering = {id(w): i for i, w in enumerate(wants)}
    feasible = search.evaluate(tree, numbering)
    if not feasible and pinned_by_bucket is not None and relaxable:
        # No machine of the buckets' cloud fits: nodes elsewhere reach them with keys.
        search = _Search(catalog, unpinned, non_catalog, wants)
        feasible = search.evaluate(tree, numbering)
    if not feasible:
        _explain(search, wants, served, catalog)
    stream, best = ranked(feasible, target)
    regional: dict[tuple[str, str], Ranked] = {}
    if per_region:
        top, regional = top_and_regions(stream, candidates)
    else:
        top = top_distinct(stream, candidates)
    placements = [build(r, task, name) for r in top]
    by_identity = {r.identity: p for r, p in zip(top, placements, strict=True)}
    per_cloud = {c: by_identity.get(r.identity) or build(r, task, name) for c, r in best.items()}
    per_region_built = {where: by_identity.get(r.identity) or build(r, task, name)
                        for where, r in regional.items()}
    notes = _notes(catalog, served)
    left_out = left_out_note(search.runs[top[0].want_index], top[0]) if target == "cost" else None
    if left_out:
        notes.append(left_out)
    read_as = read_as_note(task, wants[top[0].want_index].accelerator)
    if read_as:
        notes.append(read_as)
    return OptimizeResult(chosen=placements[0], candidates=placements, best_per_cloud=per_cloud,
                          clouds=enabled, target=target, notes=notes,
                          best_per_region=per_region_built,
                          count_rejections=search.rejections)  # fmt: skip


def _explain(search: _Search, wants: list[Want], served: list[str], catalog: Catalog) -> None:
    """Re-run every alternative over every served cloud, with the cloud filter, to find the
    constraint that removed the last candidates; raise with one reason per alternative."""
    everywhere = sorted({c for c in catalog.clouds if c in served} | set(search.enabled))
    ctx = Context(enabled=search.enabled, served=served, index=search.index, extra=search.extra,
                  own=frozenset(c for c, own in search.non_catalog.items() if own))
    reasons = []
    for want in wants:
        run = run_chain(want, search.segments(want, everywhere),
                        build_filters(want, search.enabled))
        text = reason(run, ctx) if not run.feasible else "no offer fits"
        reasons.append(text if len(wants) == 1 else f"{want.label}: {text}")
    raise NothingFitsError(reasons)


def _notes(catalog: Catalog, served: list[str]) -> list[str]:
    notes = []
    unserved = [c for c in catalog.clouds if c not in served]
    if unserved:
        notes.append(f"the catalog lists {', '.join(unserved)}, which stix does not serve: "
                     "ignored")
    if catalog.bad_rows:
        notes.append(f"{len(catalog.bad_rows)} bad catalog rows skipped (first: "
                     f"{catalog.bad_rows[0]})")
    return notes
