"""SkyPilot's Python SDK shapes over stix's own API, so that `import stix as sky` runs
SkyPilot scripts: `sky.launch(task, cluster_name=...)`, `sky.get(...)`, `sky.Dag()`,
cloud objects (`sky.AWS()`), `sky.exceptions`. Calls run synchronously and return a
`Request` whose result `get`/`stream_and_get` hand back, as SkyPilot's request pattern
expects. Where stix differs on purpose, docs/coming-from-skypilot.md says so.

Nothing heavy is imported here: the cluster machinery loads when a call needs it."""

from __future__ import annotations

import contextvars
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stix.errors import UsageError

if TYPE_CHECKING:
    from stix.placement import Placement
    from stix.task import Resources, Task


@dataclass
class Request:
    """What a SkyPilot call returns: here the work is done, and `result` holds its value."""

    name: str
    result: Any = None

    def __repr__(self) -> str:
        return f"Request({self.name})"


def get(request: Any) -> Any:
    """The result of a request (a value that is not a request is its own result)."""
    return request.result if isinstance(request, Request) else request


def stream_and_get(request: Any) -> Any:
    """As `get`: the call already streamed its logs (unless it was detached)."""
    return get(request)


# -- Dag -----------------------------------------------------------------------------------

_CURRENT: contextvars.ContextVar[Dag | None] = contextvars.ContextVar("stix_dag", default=None)


@dataclass
class Dag:
    """Tasks made inside `with Dag() as dag:` (or added) run in order, as a pipeline."""

    name: str | None = None
    tasks: list[Task] = field(default_factory=list)
    _token: Any = None

    def add(self, task: Task) -> None:
        if not any(t is task for t in self.tasks):
            self.tasks.append(task)

    def __enter__(self) -> Dag:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)

    def is_chain(self) -> bool:
        return True


def created(task: Task) -> None:
    dag = _CURRENT.get()
    if dag is not None:
        dag.add(task)


def order(first: Task, then: Task) -> None:
    """`first >> then` inside a Dag: `then` is moved after `first`."""
    dag = _CURRENT.get()
    if dag is None:
        return
    dag.add(first)
    dag.tasks = [t for t in dag.tasks if t is not then]
    dag.tasks.insert(next(i for i, t in enumerate(dag.tasks) if t is first) + 1, then)


# -- cloud objects -------------------------------------------------------------------------


class CloudRef:
    """A cloud as SkyPilot scripts name one (`sky.AWS()`); `Resources(cloud=...)` takes it."""

    stix_cloud = ""

    def __str__(self) -> str:
        return self.stix_cloud

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.stix_cloud)


def sdk_name(cloud: str) -> str:
    """SkyPilot's class name for a registered cloud: short names upper-cased (AWS, GCP)."""
    return cloud.upper() if len(cloud) <= 3 else cloud.capitalize()


def cloud_class(name: str) -> type[CloudRef] | None:
    """The cloud object class `sky.<name>` stands for (None: no such cloud here)."""
    from stix.clouds import registry

    for cloud in registry.names():
        if sdk_name(cloud) == name:
            return type(name, (CloudRef,), {"stix_cloud": cloud, "__doc__": f"The {cloud} cloud."})
    return None


# -- calls ---------------------------------------------------------------------------------


def _tasks(task: Any) -> list[Task]:
    from stix.task import Task

    if isinstance(task, Dag):
        if not task.tasks:
            raise UsageError("the Dag holds no task")
        return list(task.tasks)
    if isinstance(task, Task):
        return [task]
    if isinstance(task, str):
        from stix.task import load_pipeline

        pipeline = load_pipeline(task)
        if pipeline.group is not None:
            raise UsageError(f"{task} is a job group (its tasks run at once); the SDK runs "
                             "tasks in order", hint="`stix up FILE` (or stix.api.up_group) "
                                                    "runs the group")
        return pipeline.tasks
    raise UsageError(f"task must be a stix.Task, a Dag or a task file path, not "
                     f"{type(task).__name__}")


def launch(task: Any, cluster_name: str | None = None, *, retry_until_up: bool = False,
           idle_minutes_to_autostop: int | None = None, down: bool = False,
           dryrun: bool = False, detach_run: bool = False, no_setup: bool = False,
           stream_logs: bool = True, fast: bool = False, **unsupported: Any) -> Request:
    """Bring a cluster up and run the task (a Dag's tasks in order, as `stix up` runs a
    pipeline: a task asking for the same machines as the one before reuses its cluster).
    Result: (job_id, handle) of the last task — the handle is the cluster's record.
    `dryrun` places the tasks and returns their placements without creating anything."""
    from stix.cluster import lifecycle
    from stix.names import for_task

    if unsupported:
        raise UsageError(f"launch: {', '.join(sorted(unsupported))}: not supported by stix")
    tasks = _tasks(task)
    if len(tasks) > 1 and cluster_name is not None:
        raise UsageError("launch: cluster_name names one cluster; a Dag's tasks each get "
                         "a cluster named after the task")
    if dryrun:
        from stix.optimizer.pipeline import place_pipeline

        placed = place_pipeline(tasks, cluster=cluster_name)
        return Request("launch", [placed.stage_of(i).chosen for i in range(len(tasks))])
    if len(tasks) == 1:
        up = lifecycle.launch_task(
            tasks[0], cluster=for_task(tasks[0], cluster_name),
            detach_run=detach_run or not stream_logs, no_setup=no_setup,
            idle_minutes=idle_minutes_to_autostop, autodown=down,
            retry_until_up=retry_until_up)
        _raise_failed(tasks[0], up)
        return Request("launch", (_job_id(up.job_id), _handle(up.cluster)))
    if retry_until_up:
        raise UsageError("launch: retry_until_up is for one task, not a Dag of several")
    ready = [lifecycle.with_autostop(t, idle_minutes_to_autostop, down) for t in tasks]
    if no_setup:
        ready = [t.model_copy(update={"setup": None}) for t in ready]
    name = task.name if isinstance(task, Dag) else None
    done = lifecycle.run_pipeline(ready, name=name or "dag",
                                  detach_run=detach_run or not stream_logs)
    for t, up in zip(tasks, done.results, strict=False):
        _raise_failed(t, up)
    last = done.results[-1]
    return Request("launch", (_job_id(last.job_id), _handle(last.cluster)))


def _raise_failed(task: Task, up: Any) -> None:
    if up.exit_code:
        from stix.errors import CommandError

        raise CommandError(f"task {task.name or up.cluster} failed on cluster {up.cluster} "
                           f"(exit code {up.exit_code})", returncode=up.exit_code)


class OptimizeTarget(enum.Enum):
    """What `optimize` minimises (SkyPilot's `sky.OptimizeTarget`)."""

    COST = "cost"
    TIME = "time"


def optimize(dag: Any, *args: Any, minimize: OptimizeTarget | str | None = None,
             quiet: bool = False, **kwargs: Any) -> Any:
    """SkyPilot's `sky.optimize(dag, minimize=...)` for a Dag: every task placed, the whole
    chain at once (compute plus moving the tasks' data between clouds), each task's
    `best_resources` set, and the Dag itself returned (so `sky.get(...)` of it is the Dag
    too). For a single Task it is stix's own `stix.optimizer.optimize` (same arguments),
    returning the ranked OptimizeResult; the task's `best_resources` is set as well.
    Nothing is created; `quiet` is accepted (nothing is printed here)."""
    if not isinstance(dag, Dag):
        from stix.optimizer import optimize as place
        from stix.task import Task

        if minimize is not None:
            kwargs["target"] = _target(minimize)
        result = place(dag, *args, **kwargs)
        if isinstance(dag, Task):
            dag.best_placement = result.chosen
        return result
    from stix.optimizer.pipeline import place_pipeline

    if args and minimize is None:
        minimize, *rest = args
        args = tuple(rest)
    unsupported = sorted([*kwargs, *(["positional arguments"] if args else [])])
    if kwargs.get("admin_policy_request_options", 0) is None:
        unsupported.remove("admin_policy_request_options")
    if unsupported:
        raise UsageError(f"optimize: {', '.join(unsupported)}: not supported by stix for a Dag")
    placed = place_pipeline(_tasks(dag), name=dag.name,
                            target=_target(minimize or OptimizeTarget.COST))
    for i, task in enumerate(dag.tasks):
        task.best_placement = placed.stage_of(i).chosen
    return dag


def _target(minimize: OptimizeTarget | str) -> Any:
    target = minimize.value if isinstance(minimize, OptimizeTarget) else str(minimize).lower()
    if target not in ("cost", "time"):
        raise UsageError(f"optimize: minimize must be OptimizeTarget.COST or .TIME, not "
                         f"{minimize!r}")
    return target


def resources_of(placement: Placement) -> Resources:
    """The launchable resources a placement stands for (SkyPilot's `best_resources`)."""
    from stix.task import Resources

    acc = placement.accelerator
    gpus = None
    if acc is not None:
        gpus = f"{acc.name}:{int(acc.count) if acc.count.is_integer() else acc.count}"
    return Resources(cloud=placement.cloud, region=placement.region, zone=placement.zone,
                     instance_type=placement.instance_type, accelerators=gpus,
                     use_spot=placement.use_spot, disk_size=placement.disk_size)


def exec(task: Any, cluster_name: str, *, detach_run: bool = False,
         **unsupported: Any) -> Request:
    """Run a task on an existing cluster (no setup). Result: (job_id, handle)."""
    from stix.cluster import jobs

    if unsupported:
        raise UsageError(f"exec: {', '.join(sorted(unsupported))}: not supported by stix")
    [one] = _tasks(task)
    outcome = jobs.exec_task(cluster_name, one, detach_run=detach_run)
    job_id = getattr(outcome, "job_id", None)
    return Request("exec", (_job_id(job_id), _handle(cluster_name)))


def tail_logs(cluster_name: str, job_id: int | str | None = None,
              follow: bool = True) -> int:
    """Print a job's logs (the latest by default); its exit code (0 when it succeeded)."""
    from stix.cluster import jobs

    outcome = jobs.logs(cluster_name, None if job_id is None else str(job_id), follow=follow)
    return int(outcome.exit_code)


def job_status(cluster_name: str, job_ids: list[int | str] | None = None) -> dict[str, Any]:
    """{job id: status} of the cluster's jobs (the latest when no ids are given)."""
    from stix.cluster import jobs

    found = jobs.queue(cluster_name)
    wanted = {str(j) for j in job_ids} if job_ids else None
    if wanted is None and found:
        wanted = {str(found[-1]["job_id"])}
    return {str(j["job_id"]): j["status"] for j in found if str(j["job_id"]) in (wanted or ())}


def _job_id(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def _handle(cluster: str) -> Any:
    from stix import state

    return state.get_cluster(state.connect(), cluster)
