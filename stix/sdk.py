"""SkyPilot's Python SDK shapes over stix's own API, so that `import stix as sky` runs
SkyPilot scripts: `sky.launch(task, cluster_name=...)`, `sky.get(...)`, `sky.Dag()`,
cloud objects (`sky.AWS()`), `sky.exceptions`. Calls run synchronously and return a
`Request` whose result `get`/`stream_and_get` hand back, as SkyPilot's request pattern
expects. Where stix differs on purpose, docs/coming-from-skypilot.md says so.

Nothing heavy is imported here: the cluster machinery loads when a call needs it."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stix.errors import UsageError

if TYPE_CHECKING:
    from stix.task import Task


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

        return load_pipeline(task).tasks
    raise UsageError(f"task must be a stix.Task, a Dag or a task file path, not "
                     f"{type(task).__name__}")


def launch(task: Any, cluster_name: str | None = None, *, retry_until_up: bool = False,
           idle_minutes_to_autostop: int | None = None, down: bool = False,
           dryrun: bool = False, detach_run: bool = False, no_setup: bool = False,
           stream_logs: bool = True, fast: bool = False, **unsupported: Any) -> Request:
    """Bring a cluster up and run the task (each task of a Dag in order, on a cluster named
    after it). Result: (job_id, handle) — the handle is the cluster's record. `dryrun`
    places the task and returns the placement without creating anything."""
    from stix.cluster import lifecycle
    from stix.names import for_task

    if unsupported:
        raise UsageError(f"launch: {', '.join(sorted(unsupported))}: not supported by stix")
    tasks = _tasks(task)
    if len(tasks) > 1 and cluster_name is not None:
        raise UsageError("launch: cluster_name names one cluster; a Dag's tasks each get "
                         "a cluster named after the task")
    if dryrun:
        from stix.optimizer.choose import choose

        return Request("launch", [choose(t).chosen for t in tasks])
    result: Any = None
    for t in tasks:
        up = lifecycle.launch_task(
            t, cluster=for_task(t, cluster_name), detach_run=detach_run or not stream_logs,
            no_setup=no_setup, idle_minutes=idle_minutes_to_autostop, autodown=down,
            retry_until_up=retry_until_up)
        if up.exit_code:
            from stix.errors import CommandError

            raise CommandError(f"task {t.name or up.cluster} failed on cluster {up.cluster} "
                               f"(exit code {up.exit_code})", returncode=up.exit_code)
        result = (_job_id(up.job_id), _handle(up.cluster))
    return Request("launch", result)


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
