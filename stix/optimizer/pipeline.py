"""Placing a pipeline: its tasks in order, consecutive tasks that ask for the same machines
on one cluster, and every cluster's placement chosen together so that compute plus the
cost of moving the tasks' data between clouds and regions is least — SkyPilot's DAG
optimizer on a chain (a dynamic programme over the tasks, each task counted as one hour
of compute, as SkyPilot counts a task without a time estimate).

The same function answers `stix optimize`, `stix plan` and `stix up`, so a plan shows
exactly the clusters (reused ones once) and placements that `up` creates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stix.optimizer.explain import NothingFitsError
from stix.optimizer.transfer import Location, Transfer, flows_into, flows_out, has_data

if TYPE_CHECKING:
    from stix.catalog import Catalog
    from stix.optimizer.rank import Target
    from stix.optimizer.result import OptimizeResult
    from stix.placement import Placement
    from stix.task import Task

COMPUTE_HOURS = 1.0  # SkyPilot's runtime estimate for a task that gives none
CloudsFor = Callable[["Task"], "Iterable[str] | None"]


class TaskNothingFits(NothingFitsError):
    """No offer meets one task of a pipeline: the message names the task."""

    def __init__(self, task: str, cause: NothingFitsError) -> None:
        super().__init__(cause.reasons, hint=cause.hint)
        self.task = task
        self.message = f"task {task}: {self.message}"


def shares_cluster(before: Task, task: Task) -> bool:
    """Whether `task` runs on the cluster of the task before it. SkyPilot reuses a cluster
    when a task is launched onto one it fits (`sky launch -c NAME`); here the next task of a
    pipeline does when it asks for exactly the same machines — resources, node count and
    buckets, everything its stack is made of — so reusing never changes a stack."""
    return (before.resources == task.resources and before.num_nodes == task.num_nodes
            and before.storage_mounts() == task.storage_mounts())


def stages(tasks: Sequence[Task]) -> list[list[int]]:
    """The pipeline's clusters in order, each as the indexes of the tasks it runs."""
    out: list[list[int]] = []
    for i, task in enumerate(tasks):
        if out and shares_cluster(tasks[out[-1][-1]], task):
            out[-1].append(i)
        else:
            out.append([i])
    return out


def cluster_names(tasks: Sequence[Task]) -> list[str]:
    """The cluster each task runs on: the one named after the first task of its stage."""
    from stix.names import for_task

    names: list[str] = []
    for group in stages(tasks):
        names += [for_task(tasks[group[0]])] * len(group)
    return names


def label(task: Task) -> str:
    """How messages name a task: its name, else its cluster's."""
    from stix.names import for_task

    return task.name or for_task(task)


@dataclass
class Stage:
    """One cluster of the pipeline: the tasks it runs and the placement chosen for it
    (`result.chosen`; the rest of `result` as the optimizer ranked the first task)."""

    cluster: str
    tasks: list[int]
    result: OptimizeResult

    @property
    def chosen(self) -> Placement:
        return self.result.chosen


@dataclass
class PipelinePlacement:
    """Where every task of a pipeline runs, and what the data it moves costs."""

    name: str | None
    tasks: list[str]  # labels, in order
    stages: list[Stage]
    target: str
    transfers: list[Transfer] = field(default_factory=list)
    parallel: bool = False  # a job group: every task at once, each on its own cluster
    notes: list[str] = field(default_factory=list)

    def stage_of(self, index: int) -> Stage:
        return next(s for s in self.stages if index in s.tasks)

    @property
    def compute_usd(self) -> float:
        """Each task counted as COMPUTE_HOURS on its cluster."""
        return sum(s.chosen.total_hourly_price * COMPUTE_HOURS * len(s.tasks)
                   for s in self.stages)

    @property
    def transfer_usd(self) -> float:
        return sum(t.usd for t in self.transfers)

    def to_dict(self) -> dict[str, Any]:
        return {**({"job_group": self.name, "notes": self.notes} if self.parallel else {}),
                "compute_hours_per_task": COMPUTE_HOURS,
                "compute_usd": round(self.compute_usd, 6),
                "transfer_usd": round(self.transfer_usd, 6),
                "total_usd": round(self.compute_usd + self.transfer_usd, 6),
                "clusters": [{"cluster": s.cluster, "tasks": [self.tasks[i] for i in s.tasks]}
                             for s in self.stages],
                "transfers": [t.to_dict() for t in self.transfers]}


def place_pipeline(tasks: Sequence[Task], *, name: str | None = None,
                   catalog: Catalog | None = None,
                   clouds: Iterable[str] | CloudsFor | None = None,
                   target: Target = "cost", candidates: int = 50,
                   shared_core: bool | None = None,
                   cluster: str | None = None, parallel: bool = False) -> PipelinePlacement:
    """Place every task (overrides already applied). `clouds`: the clouds to consider, or a
    function giving them per task (None: the optimizer's default). `cluster` names the one
    cluster of a single-task pipeline. With target "time", each cluster is placed on its
    own (fastest first) and the transfers of that choice are priced, not minimised.
    `parallel`: the tasks are a job group named `name` (`stix.optimizer.jobgroup`)."""
    if parallel:
        from stix.optimizer.jobgroup import place_group

        return place_group(tasks, name=name or "group", catalog=catalog, clouds=clouds,
                           target=target, candidates=candidates, shared_core=shared_core)
    from stix.catalog import load_catalog
    from stix.errors import UsageError
    from stix.names import for_task
    from stix.optimizer.search import optimize
    from stix.user_config import for_task as config_for

    if not tasks:
        raise UsageError("the pipeline holds no task")
    catalog = catalog if catalog is not None else load_catalog()
    groups = stages(tasks)
    if cluster is not None and len(groups) > 1:
        raise UsageError(f"cluster {cluster!r} names one cluster; the pipeline's tasks run on "
                         f"{len(groups)}")
    moves = target == "cost" and has_data(tasks)
    labels = [label(t) for t in tasks]
    found: list[Stage] = []
    for group in groups:
        first = tasks[group[0]]
        try:
            with config_for(first):  # the task's `config:` counts, as in plan and up
                asked = clouds(first) if callable(clouds) else clouds
                result = optimize(first, catalog, asked, target=target,
                                  cluster=cluster or for_task(first), candidates=candidates,
                                  shared_core=shared_core, per_region=moves)
        except NothingFitsError as exc:
            if len(tasks) == 1:
                raise
            raise TaskNothingFits(labels[group[0]], exc) from None
        found.append(Stage(result.chosen.cluster, group, result))
    if moves:
        _choose_together(tasks, found, labels)
    out = PipelinePlacement(name, labels, found, target)
    out.transfers = _transfers(tasks, out, labels)
    return out


def _options(stage: Stage) -> list[Placement]:
    """The placements a stage may take: the best of each cloud/region, cheapest first."""
    chosen = stage.result.chosen
    others = [p for p in stage.result.best_per_region.values()
              if (p.cloud, p.region) != (chosen.cloud, chosen.region)]
    return [chosen, *others]


def _usd(transfers: list[Transfer]) -> float:
    return sum(t.usd for t in transfers)


def _choose_together(tasks: Sequence[Task], found: list[Stage], labels: list[str]) -> None:
    """The dynamic programme: best[s][k] is the least cost of stages 0..s with stage s on
    option k; ties keep the cheaper option (the lists are in rank order)."""
    options = [_options(s) for s in found]
    best: list[list[tuple[float, int]]] = []
    last = len(tasks) - 1
    for s, stage in enumerate(found):
        row: list[tuple[float, int]] = []
        for p in options[s]:
            here = Location.of(p)
            own = p.total_hourly_price * COMPUTE_HOURS * len(stage.tasks)
            own += sum(_usd(flows_into(tasks, i, here, here, labels)) for i in stage.tasks[1:])
            if stage.tasks[-1] == last:
                own += _usd(flows_out(tasks, last, here, labels))
            head = stage.tasks[0]
            if s == 0:
                row.append((own + _usd(flows_into(tasks, head, here, None, labels)), -1))
                continue
            came = [(cost + _usd(flows_into(tasks, head, here, Location.of(q), labels)), j)
                    for j, ((cost, _), q) in enumerate(zip(best[s - 1], options[s - 1],
                                                           strict=True))]
            cost, j = min(came, key=lambda c: (round(c[0], 9), c[1]))
            row.append((own + cost, j))
        best.append(row)
    k = min(range(len(best[-1])), key=lambda i: (round(best[-1][i][0], 9), i))
    for s in range(len(found) - 1, -1, -1):
        pick = options[s][k]
        result = found[s].result
        if pick is not result.chosen:
            rest = [c for c in result.candidates if c != pick]
            found[s].result = dataclasses.replace(result, chosen=pick, candidates=[pick, *rest])
        k = best[s][k][1]


def _transfers(tasks: Sequence[Task], plan: PipelinePlacement,
               labels: list[str]) -> list[Transfer]:
    """Every transfer of the chosen placements, in pipeline order."""
    out: list[Transfer] = []
    before: Location | None = None
    for i in range(len(tasks)):
        here = Location.of(plan.stage_of(i).chosen)
        out += flows_into(tasks, i, here, before, labels)
        before = here
    if before is not None:
        out += flows_out(tasks, len(tasks) - 1, before, labels)
    return out
