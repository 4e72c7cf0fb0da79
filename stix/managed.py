"""Managed jobs as a user calls them (`stix jobs ...` and `stix.api`): a task (or a
pipeline) checked here the way `stix up` checks it, then handed to the stix server, which
runs it to the end on clusters it launches, recovers and tears down.

Checked before anything is sent: the file loads, every env and secret has a value, the
local files may be sent, and each task has a placement (the optimizer's own refusal when
not). Relative local paths are made absolute here: the server resolves nothing against
its own working directory."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stix.errors import UsageError
from stix.say import Say, quiet
from stix.server.models import Accepted, JobSpec, JobStatus, JobView

FOLLOW_SECONDS = 1.0


def spec_for(task_file: str | Path | Any, *, name: str | None = None,
             env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
             overrides: dict[str, Any] | None = None,
             allow_private_mounts: bool = False) -> JobSpec:
    """The job `task_file` makes, checked as `stix up` would check it."""
    from stix.cluster.node_phase import resolve_secrets
    from stix.names import for_task, normalize
    from stix.optimizer.overrides import with_overrides
    from stix.remote.sync import check_task_files
    from stix.task import load_pipeline

    if isinstance(task_file, (str, Path)):
        pipeline = load_pipeline(task_file, env)
        if pipeline.group is not None:
            raise UsageError(f"{task_file} is a job group; managed jobs run one task or a "
                             "pipeline (in order), not a group's tasks at once",
                             hint="`stix up FILE` runs the group: every task at once, each "
                                  "on its own cluster, until its primary tasks are done")
        tasks, pipeline_name = pipeline.tasks, pipeline.name
    else:  # a Task or a Dag from the Python SDK
        from stix.sdk import Dag

        tasks = list(task_file.tasks) if isinstance(task_file, Dag) else [task_file]
        pipeline_name = task_file.name if isinstance(task_file, Dag) else None
        if env:
            tasks = [t.model_copy(deep=True).update_envs(env) for t in tasks]
    given = dict(secrets or {})
    docs = []
    for task in tasks:
        task = with_overrides(task, **(overrides or {}))
        checked = resolve_secrets(task, {k: v for k, v in given.items() if k in task.secrets})
        check_task_files(checked, allow_private=allow_private_mounts)
        _placeable(checked)
        docs.append(_portable(task))
    unknown = sorted(set(given) - {k for t in tasks for k in t.secrets})
    if unknown:
        raise UsageError(f"secret {', '.join(unknown)}: not declared under the tasks' secrets")
    job_name = name or pipeline_name or for_task(tasks[0])
    return JobSpec(name=normalize(job_name) or "job", tasks=docs, secrets=given,
                   allow_private_mounts=allow_private_mounts)


def _placeable(task: Any) -> None:
    """Refuse an infeasible task here, with `stix up`'s own message, not on the server."""
    from stix.cluster.lifecycle import _on_machines

    if _on_machines(task, None):
        from stix.cluster.machines import provider_of

        provider_of(task).placement(task, "precheck", task.resources.candidates()[0])
        return
    from stix.optimizer.choose import choose

    choose(task, candidates=1)


def _portable(task: Any) -> dict[str, Any]:
    """The task as YAML data with local paths absolute and secret values left out."""
    doc = task.to_yaml_dict()
    if isinstance(task.workdir, str):
        doc["workdir"] = str(Path(task.workdir).expanduser().absolute())
    mounts = doc.get("file_mounts") or {}
    for target, source in list(mounts.items()):
        if isinstance(source, str) and "://" not in source:
            mounts[target] = str(Path(source).expanduser().absolute())
    if doc.get("secrets"):
        doc["secrets"] = {k: None for k in doc["secrets"]}
    return doc


def launch(task_file: str | Path | Any, *, name: str | None = None,
           env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
           overrides: dict[str, Any] | None = None, allow_private_mounts: bool = False,
           say: Say = quiet) -> Accepted:
    """Submit the job; returns as soon as the server accepted it."""
    from stix.server.client import connect

    spec = spec_for(task_file, name=name, env=env, secrets=secrets, overrides=overrides,
                    allow_private_mounts=allow_private_mounts)
    client = connect(start=True, say=say)
    try:
        return client.launch(spec)
    finally:
        client.close()


def queue(*, everything: bool = False) -> list[JobView]:
    from stix.server.client import connect

    client = connect()
    try:
        return client.queue(everything=everything)
    finally:
        client.close()


def job_ids(ids: list[int] | None, name: str | None) -> list[int]:
    """The jobs a command names: ids, or every job called `name` (newest first)."""
    if ids:
        return ids
    if name is None:
        raise UsageError("name a job: ids, or name (-n NAME)")
    from stix.server.client import connect

    client = connect()
    try:
        found = [j.id for j in client.queue(everything=True, name=name)]
    finally:
        client.close()
    if not found:
        from stix.errors import NotFoundError

        raise NotFoundError(f"no managed job named {name!r}",
                            hint="`stix jobs queue --all` lists them")
    return found


def cancel(*, ids: list[int] | None = None, name: str | None = None,
           everything: bool = False) -> list[int]:
    from stix.server.client import connect

    if not (ids or name or everything):
        raise UsageError("name the jobs to cancel: ids, name (-n NAME) or everything=True (--all)")
    client = connect()
    try:
        return client.cancel(ids=ids, name=name, everything=everything)
    finally:
        client.close()


def logs(job_id: int, *, attempt: int | None = None, follow: bool = False,
         controller: bool = False, write: Callable[[str, str], None]) -> JobView:
    """Write each log's text (label, text) of one attempt — following the job across its
    attempts until it ends when `follow` — and return the job as it ended."""
    from stix.server.client import connect

    client = connect()
    try:
        offsets: dict[str, int] = {}
        shown = attempt
        while True:
            got = client.logs(job_id, attempt=shown, controller=controller, offsets=offsets)
            for label, text in got["logs"].items():
                if text:
                    write(label, text)
                    offsets[label] = offsets.get(label, 0) + len(text.encode("utf-8"))
            status = JobStatus(got["status"])
            if not follow or (status.terminal and got["attempt"] == got["attempts"]):
                return client.job(job_id)
            if attempt is None and got["attempts"] and got["attempts"] != shown:
                if shown is not None:  # a new attempt: follow it from its start
                    offsets = {}
                shown = got["attempts"]
            time.sleep(FOLLOW_SECONDS)
    finally:
        client.close()
