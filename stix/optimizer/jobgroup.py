"""Placing a job group: every task on a cluster of its own (they run at once), all of them
in one cloud region when one region fits them all — SkyPilot places a group's tasks on the
same infrastructure so that they can reach each other — at the least total price.

The same function answers `stix optimize`, `stix plan` and `stix up` of a group file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from stix.optimizer.explain import NothingFitsError
from stix.optimizer.pipeline import (
    CloudsFor,
    PipelinePlacement,
    Stage,
    TaskNothingFits,
    label,
)
from stix.optimizer.transfer import Location, flows_into, flows_out

if TYPE_CHECKING:
    from stix.catalog import Catalog
    from stix.optimizer.rank import Target
    from stix.placement import Placement
    from stix.task import Task


def cluster_names(group: str, tasks: Sequence[Task]) -> list[str]:
    """The cluster of each task: `<group>-<task>` in cluster-name form, each its own."""
    from stix.errors import UsageError
    from stix.names import normalize

    names = [normalize(f"{group}-{t.name or i}") for i, t in enumerate(tasks)]
    for i, name in enumerate(names):
        if not name or name in names[:i]:
            raise UsageError(f"job group {group!r}: task {label(tasks[i])!r} gets the cluster "
                             f"name {name!r}, which another task has (names are cut at 40 "
                             "characters)", hint="shorten the group's or the tasks' names")
    return names


def place_group(tasks: Sequence[Task], *, name: str, catalog: Catalog | None = None,
                clouds: Iterable[str] | CloudsFor | None = None, target: Target = "cost",
                candidates: int = 50, shared_core: bool | None = None) -> PipelinePlacement:
    """Each task placed on its own cluster; then, for cost, the one cloud region where the
    whole group costs least per hour among those every task fits (each task's best offer
    there). When no region fits every task, each keeps its own cheapest and a note says
    the group is split."""
    from stix.catalog import load_catalog
    from stix.clouds import registry
    from stix.errors import UsageError
    from stix.optimizer.search import optimize
    from stix.user_config import for_task as config_for

    if not tasks:
        raise UsageError("the job group holds no task")
    catalog = catalog if catalog is not None else load_catalog()
    labels = [label(t) for t in tasks]
    found: list[Stage] = []
    for i, (task, cluster) in enumerate(zip(tasks, cluster_names(name, tasks), strict=True)):
        try:
            with config_for(task):
                asked = clouds(task) if callable(clouds) else clouds
                result = optimize(task, catalog, asked, target=target, cluster=cluster,
                                  candidates=candidates, shared_core=shared_core,
                                  per_region=True)
        except NothingFitsError as exc:
            raise TaskNothingFits(labels[i], exc) from None
        found.append(Stage(result.chosen.cluster, [i], result))
    out = PipelinePlacement(name, labels, found, target, parallel=True)
    if len(found) > 1:
        out.notes.append(_colocate(found, target))
        if any(registry.get(s.chosen.cloud).capabilities.provisions for s in found
               if registry.served(s.chosen.cloud)):
            out.notes.append("each task's cluster is a stack with a network of its own: the "
                             "others reach it by <task>-<node>.<group> at its nodes' public "
                             "addresses, on the ports it opens (resources.ports), admitted "
                             "from ssh_cidrs")
    for i in range(len(tasks)):
        here = Location.of(found[i].chosen)
        out.transfers += flows_into(tasks, i, here, None, labels)
        out.transfers += flows_out(tasks, i, here, labels)
    return out


def _colocate(found: list[Stage], target: Target) -> str:
    """Move every task to the region chosen for the group; say what was chosen."""
    regions = [{key: p for key, p in s.result.best_per_region.items()} for s in found]
    for stage, own in zip(found, regions, strict=True):
        chosen = stage.chosen
        own.setdefault((chosen.cloud, chosen.region), chosen)
    common = [key for key in regions[0] if all(key in r for r in regions[1:])]
    if not common:
        return ("no cloud region fits every task of the group: each task is placed on its "
                "own, so they reach each other over the public network only")
    if target == "time":
        same = {(s.chosen.cloud, s.chosen.region) for s in found}
        if len(same) == 1:
            return f"the group's tasks are together in {_where(*same.pop())}"
        key = common[0]
    else:
        key = min(common, key=lambda k: round(sum(r[k].total_hourly_price for r in regions), 9))
    for stage, own in zip(found, regions, strict=True):
        _choose(stage, own[key])
    return (f"the group's tasks are placed together in {_where(*key)}: the cheapest region "
            "that fits every one of them")


def _where(cloud: str, region: str) -> str:
    return f"{cloud}/{region}" if region else cloud


def _choose(stage: Stage, pick: Placement) -> None:
    result = stage.result
    if pick is not result.chosen:
        rest = [c for c in result.candidates if c != pick]
        stage.result = dataclasses.replace(result, chosen=pick, candidates=[pick, *rest])
