"""`up` of a job group: every task at once, each on a cluster of its own, reaching the
others by SkyPilot's names (`<task>-<node>.<group>`); the group ends when its primary
tasks have, and then the others are stopped (after their `termination_delay`).

The order is SkyPilot's: all clusters are made first (together), so that every node can
be told every other node's address before any setup or run starts; then each task's
setup and run go to its nodes (together), and the group is followed to its end. A task
that fails ends the group: the others are stopped and the failure names the task.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stix import state
from stix.cluster import node_phase
from stix.cluster.lifecycle import UpResult, check_tasks
from stix.errors import StixError, UsageError
from stix.remote.fanout import LinePrinter, stdout_sink
from stix.say import Say, quiet
from stix.task.jobgroup import NAME_ENV

if TYPE_CHECKING:
    from stix.placement import Placement
    from stix.state import ClusterRecord
    from stix.task import Pipeline, Task

HOSTS_ENV = "STIX_JOBGROUP_HOSTS"
STOP_RETRY_SECONDS = 2.0
_WAIT_TICK = 0.25


@dataclass
class GroupTask:
    """One task of the group: where it ran and how it ended."""

    task: str
    cluster: str
    primary: bool
    result: UpResult | None = None
    stopped: bool = False  # an auxiliary task stopped because the group was done
    error: str | None = None  # what failed before its run ended (provisioning, setup)

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return 0
        if self.error is not None:
            return 1
        return self.result.exit_code if self.result is not None else 0

    def to_dict(self) -> dict[str, Any]:
        outcome = self.result.outcome if self.result is not None else None
        status = ("STOPPED" if self.stopped else "FAILED" if self.error else
                  outcome.status.value if outcome is not None else "NO_RUN")
        return {"task": self.task, "cluster": self.cluster, "primary": self.primary,
                "status": status, "exit_code": self.exit_code,
                "job_id": self.result.job_id if self.result else None, "error": self.error}


@dataclass
class GroupResult:
    """What `up` of a job group did, task by task; `failed` names the task that ended it
    early (None: the primaries finished)."""

    name: str
    tasks: list[GroupTask]
    failed: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return next((t.exit_code for t in self.tasks if t.exit_code), 0)

    @property
    def clusters(self) -> list[str]:
        return [t.cluster for t in self.tasks]

    def to_dict(self) -> dict[str, Any]:
        return {"job_group": self.name, "failed": self.failed, "exit_code": self.exit_code,
                "tasks": [t.to_dict() for t in self.tasks], "notes": self.notes}


def up_group(task_file: str | Path, *, env: dict[str, str] | None = None,
             secrets: dict[str, str] | None = None, say: Say = quiet,
             engine: str | None = None, infra_only: bool = False,
             confirm: Callable[[str], bool] | None = None,
             on_event: Callable[[Any], None] | None = None,
             overrides: dict[str, Any] | None = None, allow_private_mounts: bool = False,
             sink: Callable[[bytes], None] = stdout_sink) -> GroupResult:
    """Load a job group file and run it (`run_group`), the placement flags `overrides`
    applied to every task."""
    from stix.optimizer.overrides import with_overrides
    from stix.task import load_pipeline

    pipeline = load_pipeline(task_file, env)
    if pipeline.group is None:
        raise UsageError(f"{task_file} is not a job group (its first document has no "
                         "`execution: parallel`)")
    tasks = [with_overrides(t, **(overrides or {})) for t in pipeline.tasks]
    pipeline = pipeline.model_copy(update={"tasks": tasks})
    return run_group(pipeline, secrets=secrets, say=say, engine=engine,
                     infra_only=infra_only, confirm=confirm, on_event=on_event,
                     allow_private_mounts=allow_private_mounts, sink=sink)


def run_group(pipeline: Pipeline, *, secrets: dict[str, str] | None = None,
              say: Say = quiet, engine: str | None = None, infra_only: bool = False,
              confirm: Callable[[str], bool] | None = None,
              on_event: Callable[[Any], None] | None = None,
              allow_private_mounts: bool = False,
              sink: Callable[[bytes], None] = stdout_sink) -> GroupResult:
    """Make every cluster, tell every node the others' names, start every task, follow
    them to the group's end (see the module)."""
    from stix.optimizer.jobgroup import cluster_names
    from stix.optimizer.pipeline import label
    from stix.task.jobgroup import group_notes

    header = pipeline.group
    assert header is not None
    group = header.name
    tasks = pipeline.tasks
    given = check_tasks(tasks, secrets, allow_private_mounts)
    names = cluster_names(group, tasks)
    labels = [label(t) for t in tasks]
    primaries = set(header.primaries(labels))
    out = GroupResult(group, [GroupTask(labels[i], names[i], labels[i] in primaries)
                              for i in range(len(tasks))], notes=group_notes(pipeline))
    for note in out.notes:
        say(f"warning: {note}")
    chosen = _placements(pipeline, names)
    _runnable(chosen, labels)
    say(f"job group {group}: {len(tasks)} tasks at once on clusters {', '.join(names)}")
    records = _make_clusters(tasks, names, labels, chosen, say=say, engine=engine,
                             confirm=confirm, on_event=on_event)
    if infra_only:
        return out
    entries = discovery_entries(group, labels, records)
    out.notes += asyncio.run(write_hosts(group, records, entries))
    for note in out.notes[len(group_notes(pipeline)):]:
        say(f"warning: {note}")
    hosts_env = " ".join(f"{name}={ip}" for ip, name in entries)
    ready = [t.model_copy(update={"envs": {**t.envs, NAME_ENV: group, "STIX_JOBGROUP_NAME": group,
                                           HOSTS_ENV: hosts_env}}) for t in tasks]
    _follow(ready, out, header.delay_seconds, given, say=say, sink=sink,
            allow_private_mounts=allow_private_mounts)
    return out


def _placements(pipeline: Pipeline, names: list[str]) -> dict[int, Placement]:
    """Each new stack's placement as `stix plan` chooses it for the group (together);
    none when a task runs on existing machines (they are not placed) or exists already."""
    from stix.cluster.lifecycle import _on_machines
    from stix.optimizer.pipeline import place_pipeline

    conn = state.connect()
    tasks = pipeline.tasks
    if any(_on_machines(t, state.get_cluster(conn, n)) for t, n in zip(tasks, names,
                                                                        strict=True)):
        return {}
    placed = place_pipeline(tasks, name=pipeline.name, parallel=True)
    return {i: placed.stage_of(i).chosen for i in range(len(tasks))}


def _runnable(chosen: dict[int, Placement], labels: list[str]) -> None:
    """Refuse, before anything is made, a group whose task would land where stix cannot
    run setup and run yet (its clusters would be made, its tasks never started)."""
    from stix.clouds import registry

    for i, placement in sorted(chosen.items()):
        if registry.get(placement.cloud).capabilities.node_access is None:
            raise UsageError(f"job group task {labels[i]} is placed on {placement.cloud}, "
                             "where stix does not run setup and run on the nodes yet; the "
                             "group's tasks could not start",
                             hint="pin the group's tasks to a cloud with SSH nodes "
                                  "(--infra or each task's resources.infra)")


def _serialized(call: Callable[[Any], Any] | None, lock: threading.Lock
                ) -> Callable[[Any], Any] | None:
    """`call` made one-at-a-time (a question on the terminal, a progress view)."""
    if call is None:
        return None

    def one(value: Any) -> Any:
        with lock:
            return call(value)

    return one


def _make_clusters(tasks: list[Task], names: list[str], labels: list[str],
                   chosen: dict[int, Placement], *, say: Say, engine: str | None,
                   confirm: Callable[[str], bool] | None,
                   on_event: Callable[[Any], None] | None) -> list[ClusterRecord]:
    """Every task's cluster, made together; the first failure is raised naming its task
    (the clusters made meanwhile stay: `stix down FILE` removes them)."""
    lock = threading.Lock()
    ask, event = _serialized(confirm, lock), _serialized(on_event, threading.Lock())

    def make(i: int) -> ClusterRecord:
        return _make_one(tasks[i], names[i], chosen.get(i), engine=engine, confirm=ask,
                         on_event=event, say=lambda m: say(f"{labels[i]}: {m}"))

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        futures = [pool.submit(make, i) for i in range(len(tasks))]
        wait(futures)
    for i, future in enumerate(futures):
        exc = future.exception()
        if exc is not None:
            if isinstance(exc, StixError):
                exc.message = f"job group task {labels[i]}: {exc.message}"
                raise exc
            raise StixError(f"job group task {labels[i]}: {exc}") from exc
    return [f.result() for f in futures]


def _make_one(task: Task, name: str, placement: Placement | None, *, engine: str | None,
              confirm: Callable[[str], bool] | None, on_event: Callable[[Any], None] | None,
              say: Say) -> ClusterRecord:
    """The task's cluster (a stack, or machines), as `up` makes it, without the node
    phase."""
    from stix.cluster.lifecycle import _machines_up, _on_machines
    from stix.user_config import for_task as config_for

    conn = state.connect()
    with config_for(task), state.cluster_lock(conn, name, "up"):  # its `config:`, as in up
        record = state.get_cluster(conn, name)
        if _on_machines(task, record):
            return _machines_up(conn, task, name, record, say)
        from stix.cluster import stacks

        made = stacks.provision(task, name, engine_name=engine, confirm=confirm,
                                on_event=on_event, say=say, conn=conn, chosen=placement).record
        node_phase.write_ssh_config(conn)
        return made


def discovery_entries(group: str, labels: list[str],
                      records: list[ClusterRecord]) -> list[tuple[str, str]]:
    """(address, name) of every node of the group: `<task>-<rank>.<group>` at the address
    stix reaches the node at."""
    return [(node.host, f"{task}-{rank}.{group}")
            for task, record in zip(labels, records, strict=True)
            for rank, node in enumerate(record.nodes)]


async def write_hosts(group: str, records: list[ClusterRecord],
                      entries: list[tuple[str, str]]) -> list[str]:
    """Write the group's names on every node; what could not be done, as notes (a node of
    this machine's own `local` provider shares its /etc/hosts, which stix leaves alone)."""
    from stix.remote.hostsfile import block_script
    from stix.remote.transport import connect

    notes: list[str] = []

    async def one(record: ClusterRecord, index: int) -> None:
        address = record.nodes[index]
        where = f"cluster {record.name} node {address.name}"
        if address.local_home:
            notes.append(f"{where} is this machine: the group's names are not put in its "
                         f"/etc/hosts; ${HOSTS_ENV} holds them (name=address ...)")
            return
        transport = await connect(address)
        try:
            result = await transport.run(block_script(record.name, entries))
        finally:
            await transport.close()
        said = result.stdout.decode(errors="replace").strip()
        if said == "no-root":
            notes.append(f"{where}: not root and no passwordless sudo, so the group's names "
                         f"are not in its /etc/hosts; ${HOSTS_ENV} holds them (name=address "
                         "...)")
        elif not result.ok:
            raise StixError(f"{where}: writing the job group's names to /etc/hosts failed: "
                            f"{result.stderr.decode(errors='replace').strip()[:500]}")

    await asyncio.gather(*(one(r, i) for r in records for i in range(len(r.nodes))))
    return sorted(notes)


def _task_sink(task: str, sink: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """Output lines of one task, each prefixed by the task's name."""
    head = f"[{task}] ".encode()
    lock = threading.Lock()

    def write(data: bytes) -> None:
        lines = data.split(b"\n")
        text = b"".join(head + line + b"\n" for line in lines[:-1])
        with lock:
            sink(text)

    return write


def _follow(tasks: list[Task], out: GroupResult, delay: Callable[[str], int],
            secrets: dict[str, str], *, say: Say, sink: Callable[[bytes], None],
            allow_private_mounts: bool) -> None:
    """Every task's setup and run at once, each followed to its end; when every primary
    has ended, each other task is stopped after its delay; a failure stops all."""
    from stix.cluster.jobs import cancel
    from stix.cluster.lifecycle import up_task

    views = out.tasks

    def run(i: int) -> UpResult:
        task, view = tasks[i], views[i]
        return up_task(task, cluster=view.cluster, reuse=True, say=lambda m: say(
            f"{view.task}: {m}"), printer=LinePrinter(_task_sink(view.task, sink)),
            secrets={k: v for k, v in secrets.items() if k in task.secrets},
            allow_private_mounts=allow_private_mounts)

    def stop(i: int) -> None:
        try:
            cancel(views[i].cluster, all_jobs=True, grace=5)
        except StixError as exc:
            say(f"{views[i].task}: stopping it failed ({exc.message}); trying again")

    pool = ThreadPoolExecutor(max_workers=len(tasks))
    running: dict[Future[UpResult], int] = {pool.submit(run, i): i for i in range(len(tasks))}
    stop_at: dict[int, float] = {}
    tried: dict[int, float] = {}
    try:
        while running:
            done, _ = wait(list(running), timeout=_WAIT_TICK, return_when=FIRST_COMPLETED)
            for future in done:
                i = running.pop(future)
                _ended(views[i], future, i in stop_at)
                if views[i].exit_code and out.failed is None:
                    out.failed = views[i].task
                    say(f"job group {out.name}: task {views[i].task} failed; stopping the "
                        "others")
                    now = time.monotonic()
                    stop_at.update({j: now for j in running.values()})
            if not stop_at and out.failed is None and not any(
                    views[j].primary for j in running.values()):
                now = time.monotonic()
                stop_at = {j: now + delay(views[j].task) for j in running.values()}
                if stop_at:
                    say(f"job group {out.name}: the primary tasks are done; stopping "
                        f"{', '.join(views[j].task for j in stop_at)}")
            now = time.monotonic()
            for j in running.values():
                if j in stop_at and now >= stop_at[j] and now - tried.get(j, 0) >= \
                        STOP_RETRY_SECONDS:
                    tried[j] = now
                    views[j].stopped = True
                    stop(j)
    except BaseException:
        for j in running.values():  # Ctrl-C: nothing of the group is left running
            stop(j)
        raise
    finally:
        pool.shutdown(wait=True)


def _ended(view: GroupTask, future: Future[UpResult], stopping: bool) -> None:
    """Record how the task's `up` ended (a task stopped by the group may end in any way)."""
    exc = future.exception()
    if exc is None:
        view.result = future.result()
    elif not stopping:
        view.error = exc.message if isinstance(exc, StixError) else f"{type(exc).__name__}: {exc}"
