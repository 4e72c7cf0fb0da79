"""`up`, `down` and `status` for every kind of cluster: a stack through the engine
(`stacks`), or existing machines (`machines`); then the node phase all of them share.

Each operation holds the cluster's lock in the state DB only while it changes the cluster
(allocation or provisioning, sync, setup, submit; or teardown); following a job's logs
happens outside it, so `stix down` from another terminal is never blocked by a terminal
showing logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stix import state
from stix.cluster import node_phase
from stix.errors import StillRunningError, StixError, UsageError
from stix.remote.fanout import JobOutcome, LinePrinter
from stix.say import Say, quiet
from stix.state import ClusterRecord, OpStatus
from stix.user_config import applies_task_config

if TYPE_CHECKING:
    from stix.placement import Placement
    from stix.task import Task


@dataclass
class UpResult:
    cluster: str
    created: bool
    job_id: str | None
    outcome: JobOutcome | None  # None when the run was detached or the task has no run

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code if self.outcome else 0


def up(task_file: str | Path, *, cluster: str | None = None,
       env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
       detach_run: bool = False, printer: LinePrinter | None = None,
       say: Say = quiet, engine: str | None = None, infra_only: bool = False,
       confirm: Callable[[str], bool] | None = None,
       on_event: Callable[[Any], None] | None = None,
       overrides: dict[str, Any] | None = None,
       allow_private_mounts: bool = False, no_setup: bool = False,
       idle_minutes: int | None = None, autodown: bool = False,
       retry_until_up: bool = False) -> UpResult:
    """Load the task, place it (a stack through the engine, or existing machines), and run
    the node phase. `overrides` are the placement flags (`with_overrides` keywords), the
    same `stix plan` takes. `allow_private_mounts` confirms sending file_mount sources that
    are credential stores or private keys (refused before anything is created otherwise).
    SkyPilot's launch options: `no_setup` skips the task's setup this time (the next `up`
    with it runs it); `idle_minutes`/`autodown` set the task's autostop (`with_autostop`);
    `retry_until_up` waits and tries again while every placement fails for capacity, quota
    or spot."""
    from stix.names import for_task
    from stix.optimizer.overrides import with_overrides
    from stix.task import load_task

    task = with_overrides(load_task(task_file, env), **(overrides or {}))
    return launch_task(task, cluster=for_task(task, cluster), secrets=secrets,
                       detach_run=detach_run, printer=printer, say=say, engine=engine,
                       infra_only=infra_only, confirm=confirm, on_event=on_event,
                       allow_private_mounts=allow_private_mounts, no_setup=no_setup,
                       idle_minutes=idle_minutes, autodown=autodown,
                       retry_until_up=retry_until_up)


def launch_task(task: Task, *, cluster: str, secrets: dict[str, str] | None = None,
                detach_run: bool = False, printer: LinePrinter | None = None,
                say: Say = quiet, engine: str | None = None, infra_only: bool = False,
                confirm: Callable[[str], bool] | None = None,
                on_event: Callable[[Any], None] | None = None,
                allow_private_mounts: bool = False, no_setup: bool = False,
                idle_minutes: int | None = None, autodown: bool = False,
                retry_until_up: bool = False) -> UpResult:
    """`up` of a loaded task with SkyPilot's launch options (see `up`)."""
    task = with_autostop(task, idle_minutes, autodown)
    if no_setup and task.setup:
        say("setup skipped this time (no_setup)")
        task = task.model_copy(update={"setup": None})
    delay = RETRY_FIRST_SECONDS
    while True:
        try:
            return up_task(task, cluster=cluster, secrets=secrets,
                           detach_run=detach_run, printer=printer, say=say, engine=engine,
                           infra_only=infra_only, confirm=confirm, on_event=on_event,
                           allow_private_mounts=allow_private_mounts)
        except Exception as exc:
            if not (retry_until_up and _out_of_capacity(exc)):
                raise
            say(f"{exc}; trying again in {delay:.0f} s (retry_until_up)")
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)


RETRY_FIRST_SECONDS = 30.0
RETRY_MAX_SECONDS = 600.0


def _out_of_capacity(exc: BaseException) -> bool:
    from stix.cluster.failover import RETRIABLE
    from stix.cluster.stacks import NoPlacementLeft
    from stix.engine.base import EngineError

    return isinstance(exc, NoPlacementLeft) or (
        isinstance(exc, EngineError) and exc.kind in RETRIABLE and exc.kind != "credentials")


def with_autostop(task: Task, idle_minutes: int | None, autodown: bool) -> Task:
    """The task with SkyPilot's `-i MIN` / `--down` applied to its autostop, as `sky
    launch` does: `-i` alone stops after MIN idle minutes, `--down` tears down (after MIN,
    or as soon as the jobs are done)."""
    if idle_minutes is None and not autodown:
        return task
    from stix.task.resources import Autostop

    base = task.resources.autostop
    fields = base.model_dump() if base is not None else {}  # wait_for, hook are kept
    setting = Autostop.model_validate({**fields, "down": autodown,
                                       "idle_minutes": idle_minutes or 0})
    return task.model_copy(update={"resources": task.resources.model_copy(
        update={"autostop": setting})})


@dataclass
class PipelineResult:
    """What `up` of a pipeline did: one result per task that ran, in order; `failed` names
    the task that stopped it (the later ones did not run)."""

    name: str | None
    results: list[UpResult]
    failed: str | None = None
    left: list[str] = field(default_factory=list)  # tasks not run after the failure

    @property
    def exit_code(self) -> int:
        return next((r.exit_code for r in self.results if r.exit_code), 0)

    @property
    def clusters(self) -> list[str]:
        """The clusters its tasks ran on, each once (a reused cluster serves several)."""
        return list(dict.fromkeys(r.cluster for r in self.results))


def up_pipeline(task_file: str | Path, *, env: dict[str, str] | None = None,
                secrets: dict[str, str] | None = None, printer: LinePrinter | None = None,
                say: Say = quiet, engine: str | None = None, infra_only: bool = False,
                confirm: Callable[[str], bool] | None = None,
                on_event: Callable[[Any], None] | None = None,
                overrides: dict[str, Any] | None = None,
                allow_private_mounts: bool = False) -> PipelineResult:
    """Every task of a pipeline file, in order (`run_pipeline`), with the placement flags
    `overrides` applied to each."""
    from stix.optimizer.overrides import with_overrides
    from stix.task import load_pipeline

    pipeline = load_pipeline(task_file, env)
    if pipeline.group is not None:
        raise UsageError(f"{task_file} is a job group: its tasks run at once, not in order",
                         hint="up_group runs it (CLI: `stix up FILE`)")
    tasks = [with_overrides(t, **(overrides or {})) for t in pipeline.tasks]
    return run_pipeline(tasks, name=pipeline.name or str(task_file), secrets=secrets,
                        printer=printer, say=say, engine=engine, infra_only=infra_only,
                        confirm=confirm, on_event=on_event,
                        allow_private_mounts=allow_private_mounts)


def pipeline_clusters(task_file: str | Path, env: dict[str, str] | None = None) -> list[str]:
    """The clusters `up` of a task file runs its tasks on, each once, in order (a job
    group's: one per task)."""
    from stix.optimizer.pipeline import cluster_names
    from stix.task import load_pipeline

    pipeline = load_pipeline(task_file, env)
    if pipeline.group is not None:
        from stix.optimizer import jobgroup

        return jobgroup.cluster_names(pipeline.group.name, pipeline.tasks)
    return list(dict.fromkeys(cluster_names(pipeline.tasks)))


def run_pipeline(tasks: list[Task], *, name: str | None = None,
                 secrets: dict[str, str] | None = None, printer: LinePrinter | None = None,
                 say: Say = quiet, engine: str | None = None, infra_only: bool = False,
                 confirm: Callable[[str], bool] | None = None,
                 on_event: Callable[[Any], None] | None = None,
                 allow_private_mounts: bool = False, detach_run: bool = False
                 ) -> PipelineResult:
    """The tasks in order, each waiting for the one before; data passes through the
    buckets the tasks name. A task that asks for the same machines as the one before runs
    on its cluster (setup and run on the same nodes); otherwise it gets a cluster named
    after it, placed where `stix plan` places it (`stix.optimizer.pipeline`: compute and
    data transfer chosen together). The first task that fails stops it, and says so."""
    from stix.optimizer.pipeline import cluster_names, label, stages

    given = check_tasks(tasks, secrets, allow_private_mounts)
    names = cluster_names(tasks)
    labels = [label(t) for t in tasks]
    heads = {group[0] for group in stages(tasks)}
    chosen = _pipeline_placements(tasks, names, heads)
    out = PipelineResult(name, [])
    for i, (task, cluster) in enumerate(zip(tasks, names, strict=True)):
        reuse = i not in heads
        how = " (reused: same resources as the task before)" if reuse else ""
        say(f"pipeline {name}: task {i + 1}/{len(tasks)} {labels[i]} on cluster "
            f"{cluster}{how}")
        if reuse and infra_only:
            continue
        try:
            result = up_task(task, cluster=cluster, printer=printer, say=say, engine=engine,
                             infra_only=infra_only, confirm=confirm, on_event=on_event,
                             secrets={k: v for k, v in given.items() if k in task.secrets},
                             allow_private_mounts=allow_private_mounts, reuse=reuse,
                             placement=chosen.get(i), detach_run=detach_run)
        except BaseException:
            say(f"pipeline {name}: task {labels[i]} failed; not run: "
                f"{', '.join(labels[i + 1:]) or 'none'}")
            raise
        out.results.append(result)
        if result.exit_code:
            out.failed = labels[i]
            out.left = labels[i + 1:]
            break
    return out


def check_tasks(tasks: list[Task], secrets: dict[str, str] | None,
                allow_private_mounts: bool) -> dict[str, str]:
    """Every task of a file checked before its first cluster is made: its secrets (each
    given one declared by some task) and its local files; the secrets given."""
    from stix.remote.sync import check_task_files

    given = dict(secrets or {})
    for task in tasks:
        node_phase.resolve_secrets(task, {k: v for k, v in given.items() if k in task.secrets})
        check_task_files(task, allow_private=allow_private_mounts)
    unknown = sorted(set(given) - {k for t in tasks for k in t.secrets})
    if unknown:
        raise UsageError(f"secret {', '.join(unknown)}: not declared under any task's "
                         "secrets")
    return given


def _pipeline_placements(tasks: list[Task], names: list[str],
                         heads: set[int]) -> dict[int, Placement]:
    """The placement of each new cluster that has a stack, as `stix plan` chooses it (the
    whole chain at once). None when a cluster is on existing machines, which the optimizer
    does not place (nor `plan`): each stack is then placed on its own, as `up` of its task."""
    conn = state.connect()
    fresh = [i for i in sorted(heads)
             if not _on_machines(tasks[i], state.get_cluster(conn, names[i]))]
    if len(fresh) < len(heads):
        return {}
    from stix.optimizer.pipeline import place_pipeline

    placed = place_pipeline(tasks)
    return {i: placed.stage_of(i).chosen for i in fresh}


@applies_task_config
def up_task(task: Task, *, cluster: str, secrets: dict[str, str] | None = None,
            detach_run: bool = False, printer: LinePrinter | None = None,
            say: Say = quiet, engine: str | None = None, infra_only: bool = False,
            confirm: Callable[[str], bool] | None = None,
            on_event: Callable[[Any], None] | None = None,
            allow_private_mounts: bool = False, avoid: Collection[str] = (),
            project: Path | None = None, task_id: str = "", reuse: bool = False,
            placement: Placement | None = None) -> UpResult:
    """`up` of a loaded task on the cluster `cluster` (what the managed-jobs controller
    calls for each attempt). `avoid`: locations not to use — `cloud/region[/zone]` for
    clouds, `host[:port]` for existing machines; `project`: the stix project whose
    stacks/ holds the cluster's stack (default: the one around the working directory);
    `task_id`: the run's STIX_TASK_ID (default: one per cluster and job). `reuse`: the
    cluster exists (a pipeline's earlier task made it for the same machines) and is used
    as it is, its stack untouched; `placement`: the one to create when no current stack
    file says otherwise (a pipeline's, chosen for the whole chain)."""
    from stix.remote.sync import check_task_files

    task = node_phase.resolve_secrets(task, secrets or {})
    check_task_files(task, allow_private=allow_private_mounts)
    name = cluster
    conn = state.connect()
    with contextlib.ExitStack() as held:
        held.enter_context(state.cluster_lock(conn, name, "up"))
        record = state.get_cluster(conn, name)
        created = record is None
        if reuse:
            record = _reused(task, name, record, say)
        elif _on_machines(task, record):
            record = _machines_up(conn, task, name, record, say, avoid)
        else:
            from stix.cluster import stacks

            record = stacks.provision(task, name, engine_name=engine, confirm=confirm,
                                      on_event=on_event, say=say, conn=conn, avoid=avoid,
                                      project_dir=project, chosen=placement).record
            node_phase.write_ssh_config(conn)
            if infra_only:
                return UpResult(name, created, None, None)
        note = _no_node_phase(record)
        if note is not None:
            say(note)
            return UpResult(name, created, None, None)
        lock = held.pop_all()
    submitted: list[str] = []
    try:
        return asyncio.run(_node_phase(conn, record, task, lock, created, detach_run, printer,
                                       say, submitted, allow_private_mounts, task_id))
    except KeyboardInterrupt:
        if submitted:
            raise StillRunningError(name, submitted[0]) from None
        raise


def _reused(task: Task, name: str, record: ClusterRecord | None, say: Say) -> ClusterRecord:
    """The existing cluster a pipeline's next task runs on, as it is."""
    from stix.task.notes import task_notes

    if record is None:
        raise StixError(f"cluster {name!r} is gone: the task before made it for this one",
                        hint="run the pipeline again")
    for warning in task_notes(task, record.provider):
        say(f"warning: {warning}")
    return record


def _on_machines(task: Task, record: ClusterRecord | None) -> bool:
    """Whether the cluster runs on existing machines (no stack)."""
    from stix.clouds import registry

    if record is not None:
        return not record.has_stack
    clouds = {c.cloud for c in task.resources.candidates()}
    if not clouds or None in clouds:
        return False
    return all(registry.served(c) and not registry.get(c).capabilities.provisions
               for c in clouds if c is not None)


def _machines_up(conn: Any, task: Task, name: str, record: ClusterRecord | None,
                 say: Say, avoid: Collection[str] = ()) -> ClusterRecord:
    from stix.cluster import machines
    from stix.task.notes import task_notes

    provider = record.provider if record is not None else machines.provider_of(task).name
    for warning in task_notes(task, provider):
        say(f"warning: {warning}")

    if record is None:
        from stix.remote import keyed

        record = machines.allocate(conn, task, name, say, avoid)
        node_phase.write_ssh_config(conn)
        keyed.create_missing(record.placement, keyed.before_up(record.placement), say)
    elif task.num_nodes != len(record.nodes):
        raise StixError(f"cluster {name!r} has {len(record.nodes)} node(s) but the task "
                        f"wants {task.num_nodes}", hint=f"`stix down {name}` first")
    return record


def _no_node_phase(record: ClusterRecord) -> str | None:
    """Why setup and run cannot go to this cluster's nodes (None: they can)."""
    from stix.clouds import registry

    provider = registry.get(record.provider)
    if provider.capabilities.node_access is not None:
        return None
    return provider.no_node_phase(record.outputs)


async def _node_phase(conn: Any, record: ClusterRecord, task: Task,
                      lock: contextlib.ExitStack, created: bool, detach_run: bool,
                      printer: LinePrinter | None, say: Say, submitted: list[str],
                      allow_private: bool = False, task_id: str = "") -> UpResult:
    printer = printer or LinePrinter(prefix=len(record.nodes) > 1)
    with lock:
        transports, job_id = await node_phase.start_on_nodes(
            conn, record, task, printer, say, allow_private=allow_private, task_id=task_id)
    if job_id is not None:
        submitted.append(job_id)
    outcome = await node_phase.finish_on_nodes(conn, record, transports, job_id, detach_run,
                                               printer)
    return UpResult(record.name, created, job_id, outcome)


def status(cluster: str | list[str] | None = None, *, refresh: bool = False,
           cluster_names: list[str] | None = None, all_users: bool = False
           ) -> list[ClusterRecord]:
    """The clusters stix knows (one, some — SkyPilot's `cluster_names` — or all; this
    machine's state has one user, so `all_users` changes nothing); `refresh` asks the
    clouds first (`reconcile`)."""
    if cluster_names is not None:
        cluster = cluster_names
    if refresh:
        from stix.cluster.reconcile import reconcile

        for record in status(cluster):
            reconcile(record.name)
    conn = state.connect()
    names = [cluster] if isinstance(cluster, str) else cluster
    records = ([state.require_cluster(conn, n) for n in names] if names is not None
               else state.list_clusters(conn))
    for record in records:
        state.reconcile(conn, record.name)
    return records


def down(cluster: str, *, say: Say = quiet, purge: bool = False,
         on_event: Callable[[Any], None] | None = None) -> bool:
    """Tear the cluster down: destroy its stack, or cancel its jobs, clean its nodes and
    release its machines; forget it. False when there was no such cluster (already down is
    not an error)."""
    conn = state.connect()
    existing = state.get_cluster(conn, cluster)
    if existing is None:
        return False
    if existing.has_stack:
        from stix.cluster import stacks

        return stacks.destroy(cluster, purge=purge, on_event=on_event, say=say)
    from stix.cluster import machines

    with state.cluster_lock(conn, cluster, "down"):
        record = state.get_cluster(conn, cluster)
        if record is None:
            return False
        entry = state.record_start(conn, cluster, "down")
        try:
            asyncio.run(node_phase.clean_nodes(record, say))
            machines.release(record)
            state.delete_cluster(conn, cluster)
            node_phase.write_ssh_config(conn)
        except BaseException as exc:
            state.record_end(conn, entry, OpStatus.FAILED, str(exc)[:2000])
            raise
        state.record_end(conn, entry, OpStatus.SUCCEEDED)
    return True
