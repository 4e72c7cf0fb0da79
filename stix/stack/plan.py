"""`stix plan`: task → placement → stack config + resource graph → diff against what is
committed, with the $/h before and after. No credentials, no Pulumi CLI, no network.

The committed version is `git show HEAD:<path>` when the project is in a git work tree,
else the file on disk before this plan rewrites it. The plan considers every catalog
cloud (not only those with credentials here) unless told otherwise, so a laptop and CI
arrive at the same stack.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stix.errors import UsageError
from stix.placement import Placement
from stix.stack import exposure
from stix.stack import stackfile as stack_config
from stix.stack.diff import StackDiff, diff_graphs
from stix.stack.graph import Graph
from stix.stack.project import Project, find_project

if TYPE_CHECKING:
    from stix.buckets import BucketSpec
    from stix.catalog import Catalog
    from stix.stack.exposure import Finding
    from stix.task import Task


@dataclass
class Baseline:
    """The committed stack (either file may be missing) and where it came from."""

    source: str  # "git HEAD" | "file" | "none"
    config_text: str | None = None
    graph_text: str | None = None

    def placement(self, where: str) -> tuple[Placement, str] | None:
        if self.config_text is None:
            return None
        return stack_config.parse(self.config_text, where)

    def graph(self, where: str) -> Graph | None:
        return None if self.graph_text is None else Graph.from_json(self.graph_text, where)


@dataclass
class StackPlan:
    cluster: str  # the stack name
    placement: Placement | None  # None: a bucket's own stack (`bucket`)
    config_path: Path
    graph_path: Path
    config_text: str
    graph_text: str
    diff: StackDiff
    baseline: str
    differs: bool  # the files differ from the committed ones
    written: bool = False
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # task fields not acted on
    bucket: BucketSpec | None = None
    exposure: list[Finding] = field(default_factory=list)  # what it opens to the internet
    policy: str | None = None  # the exposure policy in force for it (a task may set its own)

    @property
    def kind(self) -> str:
        return "cluster" if self.placement is not None else "bucket"

    def describe(self) -> str:
        """One line for people: what the stack holds and where."""
        if self.bucket is not None:
            b = self.bucket
            return (f"stack {self.cluster}: bucket {b.name} ({b.store}) on {b.cloud} "
                    f"{b.region}, kept when clusters go (vs {self.baseline})")
        pl = self.placement
        assert pl is not None
        return (f"stack {self.cluster}: {pl.num_nodes} × {pl.instance_type}"
                f"{' spot' if pl.use_spot else ''} on {pl.cloud} {pl.region}"
                f"{'/' + pl.zone if pl.zone else ''} (vs {self.baseline})")

    def to_dict(self, root: Path) -> dict[str, Any]:
        where: dict[str, Any]
        if self.bucket is not None:
            where = {"kind": "bucket", "bucket": self.bucket.name, "store": self.bucket.store,
                     "cloud": self.bucket.cloud, "region": self.bucket.region}
        else:
            pl = self.placement
            assert pl is not None
            where = {"kind": "cluster", "cloud": pl.cloud, "region": pl.region,
                     "zone": pl.zone, "instance_type": pl.instance_type,
                     "num_nodes": pl.num_nodes, "use_spot": pl.use_spot}
        return {
            "cluster": self.cluster, **where,
            "config": str(self.config_path.relative_to(root)),
            "graph": str(self.graph_path.relative_to(root)),
            "baseline": self.baseline, "differs": self.differs, "written": self.written,
            "notes": self.notes, "warnings": self.warnings,
            "exposure": [f.to_dict() for f in self.exposure], **self.diff.to_dict(),
        }  # fmt: skip


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              timeout=30, check=False)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None


def read_baseline(project: Project, cluster: str) -> Baseline:
    paths = (project.config_path(cluster), project.graph_path(cluster))
    top = _git(project.root, "rev-parse", "--show-toplevel")
    if top is not None and top.returncode == 0:
        texts: list[str | None] = []
        gitroot = Path(top.stdout.decode().strip()).resolve()
        for path in paths:
            rel = path.resolve().relative_to(gitroot).as_posix()
            shown = _git(gitroot, "show", f"HEAD:{rel}")
            texts.append(shown.stdout.decode("utf-8") if shown and shown.returncode == 0 else None)
        return Baseline("git HEAD", *texts)
    texts = [p.read_text(encoding="utf-8") if p.is_file() else None for p in paths]
    return Baseline("file" if any(texts) else "none", *texts)


def _keep_infra_options(new: Placement, old: Placement | None) -> Placement:
    """Infra options a person set in the stack config survive a re-plan."""
    if old is None or old.cloud != new.cloud:
        return new
    current = new.extra.set_fields()
    kept = {k: v for k, v in old.extra.user_fields().items() if k not in current}
    if not kept:
        return new
    return new.with_options({**current, **kept})


def _config_reach(placement: Placement) -> tuple[Placement, str | None]:
    """The user config's `ssh_cidr` fills `ssh_cidrs` of a stack that has none, so the
    stack file (what CI and reviewers read) records who may reach the nodes; a stack that
    already names its CIDRs keeps them, and a differing config is pointed out. A task's
    own `config.ssh_cidr` decides its stack outright: the task file is what is planned."""
    if "ssh_cidrs" not in type(placement.extra).model_fields:
        return placement, None
    from stix.user_config import load_config, where

    wanted = load_config().ssh_cidr
    have = getattr(placement.extra, "ssh_cidrs", None)
    if wanted is None:
        return placement, None
    said = where("ssh_cidr")
    if have is None or (said.startswith("config.") and sorted(have) != sorted(wanted)):
        return placement.with_options({**placement.extra.set_fields(), "ssh_cidrs": wanted}), None
    if sorted(have) != sorted(wanted):
        return placement, (f"stack {placement.cluster} keeps ssh_cidrs {', '.join(have)}; "
                           f"{said} says {', '.join(wanted)} (edit "
                           "stix:extra.ssh_cidrs in its stack file to change it)")
    return placement, None


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def owner_check(project: Project, cluster: str, task: stack_config.TaskRef) -> None:
    """Refuse to plan a task file into a stack that another task file owns."""
    path = project.config_path(cluster)
    if not path.is_file() or task.file is None:
        return
    existing = stack_config.read_file(path).task
    if existing is not None and existing.file is not None and existing.file != task.file:
        raise UsageError(
            f"stack {cluster} ({path.relative_to(project.root)}) was planned from "
            f"{existing.file}; {task.file} would replace it",
            hint=f"give this one its own name, cluster (-c NAME), or retire the other "
                 f"(`stix destroy {cluster} --purge`)")


def task_ref(task: Task, project: Project) -> stack_config.TaskRef:
    from stix.names import task_digest, task_file_label

    origin = task.origin
    file = (task_file_label(origin.path, project.root)
            if origin is not None and origin.path is not None else None)
    return stack_config.TaskRef(file, task_digest(task))


def plan_placement(placement: Placement, project: Project, *, public_key: str | None = None,
                   catalog: Catalog | None = None, write: bool = True,
                   task: stack_config.TaskRef | None = None,
                   baseline: Baseline | None = None) -> StackPlan:
    """Synthesize `placement` in `project`, diff it against `baseline` (default: the
    committed stack), and (when `write`) rewrite the two stack files if they changed.
    `task` records which task the stack answers (kept from the file on disk if None)."""
    from stix.clouds import registry
    from stix.clouds.base import Cloud
    from stix.program import run as program
    from stix.stack.synth_cache import synthesize_cached
    from stix.stack.validate import check_placement

    cluster = placement.cluster
    cfg_path, graph_path = project.config_path(cluster), project.graph_path(cluster)
    base = baseline if baseline is not None else read_baseline(project, cluster)
    old = base.placement(f"{base.source}:{cfg_path.name}")
    # Infra options, the key and the task reference come from the stack as it is on disk
    # (a person's edits there count); the diff is against the baseline.
    on_disk_file = stack_config.read_file(cfg_path) if cfg_path.is_file() else None
    if task is None and on_disk_file is not None:
        task = on_disk_file.task
    current = ((on_disk_file.placement, on_disk_file.public_key) if on_disk_file is not None
               else old)
    placement = _keep_infra_options(placement, current[0] if current else None)
    placement, reach_note = _config_reach(placement)
    if public_key is None:
        if current is not None:
            public_key = current[1]  # the stack keeps its key: CI plans match the committed one
        else:
            from stix.keys import public_key_text

            public_key = public_key_text()
    check_placement(placement, catalog)
    graph = synthesize_cached(placement, public_key)
    config_text = stack_config.render(placement, public_key,
                                      stack_config.engine_keys(cfg_path), task)
    graph_text = graph.to_json()
    diff = diff_graphs(base.graph(f"{base.source}:{graph_path.name}"), graph,
                       old[0] if old else None, placement)  # fmt: skip
    from stix.catalog.provenance import placement_price

    diff.price_basis, diff.price_warning = placement_price(
        placement.cloud, placement.price_source, placement.price_as_of, placement.use_spot)
    differs = (config_text, graph_text) != (base.config_text, base.graph_text)
    result = StackPlan(cluster, placement, cfg_path, graph_path, config_text, graph_text,
                       diff, base.source, differs)  # fmt: skip
    result.notes.append(f"program {program.program_name(placement)}; compared with {base.source}")
    if reach_note:
        result.warnings.append(reach_note)
    provider = registry.get(placement.cloud) if registry.served(placement.cloud) else None
    cloud_note = provider.plan_note(placement) if isinstance(provider, Cloud) else None
    if cloud_note:
        result.warnings.append(cloud_note)
    result.exposure = exposure.findings(graph)
    if write:
        write_pair(project, result)
    return result


def plan_bucket(spec: BucketSpec, project: Project, *, write: bool = True,
                baseline: Baseline | None = None) -> StackPlan:
    """The stack of a bucket that outlives clusters: planned like a cluster's. A bucket
    already planned keeps the region it was first created in."""
    from stix.stack.synth import synthesize_bucket

    stack = spec.stack
    cfg_path, graph_path = project.config_path(stack), project.graph_path(stack)
    if cfg_path.is_file():
        first = stack_config.read_bucket(cfg_path)
        spec = spec.model_copy(update={"region": first.region, "account": first.account})
    base = baseline if baseline is not None else read_baseline(project, stack)
    graph = synthesize_bucket(spec)
    config_text = stack_config.render_bucket(spec, stack_config.engine_keys(cfg_path))
    graph_text = graph.to_json()
    diff = diff_graphs(base.graph(f"{base.source}:{graph_path.name}"), graph, None, None)
    differs = (config_text, graph_text) != (base.config_text, base.graph_text)
    plan = StackPlan(stack, None, cfg_path, graph_path, config_text, graph_text, diff,
                     base.source, differs, bucket=spec)
    plan.exposure = exposure.findings(graph)
    plan.notes.append(f"program bucket; compared with {base.source}")
    if write:
        write_pair(project, plan)
    return plan


def write_pair(project: Project, plan: StackPlan) -> None:
    """Write the plan's two stack files (if they changed)."""
    project.stacks_dir.mkdir(exist_ok=True)
    paths = (plan.config_path, plan.graph_path)
    on_disk = [p.read_text(encoding="utf-8") if p.is_file() else None for p in paths]
    if on_disk != [plan.config_text, plan.graph_text]:
        _write(plan.config_path, plan.config_text)
        _write(plan.graph_path, plan.graph_text)
        plan.written = True


def plan_task_file(task_file: Path, *, cluster: str | None = None,
                   clouds: list[str] | None = None, target: str = "cost",
                   overrides: dict[str, Any] | None = None, public_key: str | None = None,
                   env: dict[str, str] | None = None, write: bool = True,
                   start: Path | None = None) -> list[StackPlan]:
    """Plan every task of a task file (a pipeline gets one stack per cluster: tasks that
    reuse the cluster of the task before share its stack)."""
    from stix.catalog import load_catalog
    from stix.task import load_pipeline
    from stix.user_config import for_task

    project = find_project(start)
    pipeline = load_pipeline(task_file, env)
    tasks: list[Task] = pipeline.tasks
    if cluster is not None and len(tasks) > 1:
        raise UsageError(f"{task_file} holds {len(tasks)} tasks; cluster (-c/--cluster) names "
                         "one stack", hint="plan without a cluster name: each task's stack is "
                         "named after the task")
    catalog = load_catalog()
    from stix.optimizer.overrides import with_overrides
    from stix.optimizer.pipeline import place_pipeline

    tasks = [with_overrides(t, **(overrides or {})) for t in tasks]
    # Placed as `up` places them: the chain at once, a task asking for the machines of the
    # one before on its cluster (one stack, planned from the first task that uses it).
    # A job group's tasks each get a cluster of their own, placed together (all at once).
    group = pipeline.group is not None
    placed = place_pipeline(tasks, name=pipeline.name, catalog=catalog, clouds=clouds,
                            target=target, candidates=1,  # type: ignore[arg-type]
                            cluster=cluster, parallel=group)
    plans: list[StackPlan] = []
    for stage in placed.stages:
        task = tasks[stage.tasks[0]]
        with for_task(task):  # the task's `config:` counts here as in `up`
            plans.extend(_plan_one(task, stage.chosen, task_file, project, catalog, plans,
                                   public_key=public_key, write=write))
    if group and plans:
        from stix.task.jobgroup import group_notes

        plans[0].warnings = [*group_notes(pipeline), *placed.notes, *plans[0].warnings]
    return plans


def _plan_one(task: Task, chosen: Placement, task_file: Path, project: Project,
              catalog: Catalog, done: list[StackPlan], *, public_key: str | None,
              write: bool) -> list[StackPlan]:
    """The stack of one task placed at `chosen`, and those of the buckets it creates not
    planned yet."""
    plans: list[StackPlan] = []
    if not _provisions(chosen.cloud):
        raise UsageError(f"{task_file}: task {task.name or '?'} runs on {chosen.cloud}, "
                         "which needs no stack", hint="stix up runs it directly")
    from stix import budget

    budget.check(chosen, task.resources.max_hourly_cost, task_file=str(task_file))
    from stix.task.notes import task_notes

    warnings = task_notes(task, chosen.cloud)
    ref = task_ref(task, project)
    owner_check(project, chosen.cluster, ref)
    plan = plan_placement(chosen, project, public_key=public_key, catalog=catalog,
                          write=write, task=ref)
    plan.warnings = [*warnings, *_read_as(task, chosen), *plan.warnings,
                     *_keyed_lines(task, chosen)]
    from stix.user_config import load_config

    plan.policy = load_config().policy
    plans.append(plan)
    from stix.buckets import specs_for

    for spec in specs_for(chosen):
        if spec.stack not in {p.cluster for p in [*done, *plans]}:
            plans.append(plan_bucket(spec, project, write=write))
    return plans


def _read_as(task: Task, chosen: Placement) -> list[str]:
    """The chosen accelerator, when it is one the task's accelerator name also meant."""
    from stix.optimizer.wants import read_as_note
    from stix.task import AcceleratorReq

    acc = chosen.accelerator
    note = read_as_note(task, AcceleratorReq(acc.name, acc.count)) if acc else None
    return [note] if note else []


def _keyed_lines(task: Task, chosen: Placement) -> list[str]:
    """The buckets the nodes reach with the user's keys, and how (no keys are read)."""
    from stix.remote.keyed import planned, uploads

    sent = {b.mount_path: sources for b, sources in uploads(task, chosen)}
    out = []
    for p in planned(chosen):
        b = p.bucket
        made = ("; created from this machine at up if missing, kept when clusters go"
                if b.create else "")
        if b.mount_path in sent:
            made += (f"; {', '.join(sent[b.mount_path])} uploaded into it from this machine "
                     "at every up (files missing there or of another size)")
        if b.create and not b.persistent:
            made += " (persistent: false is not acted on for this store)"
        out.append(f"file_mounts.{b.mount_path}: {b.store} bucket {b.name} ({b.mode}): "
                   f"{p.how}{made}")
    return out


def _provisions(cloud: str) -> bool:
    from stix.clouds import registry

    return registry.served(cloud) and registry.get(cloud).capabilities.provisions
