"""`sky.jobs.*` as SkyPilot scripts call it (`import stix as sky; sky.jobs.launch(task)`):
managed jobs run by the stix server (`stix.managed`), with SkyPilot's parameter names."""

from __future__ import annotations

from typing import Any

from stix.sdk import Request


def launch(task: Any, name: str | None = None) -> Request:
    """Submit a Task, a Dag or a task file as a managed job. Result: (job_id, None)."""
    from stix import managed

    accepted = managed.launch(task, name=name)
    return Request("jobs.launch", (accepted.id, None))


def queue(refresh: bool = False, skip_finished: bool = False) -> Request:
    """Every managed job (unfinished ones only with `skip_finished`), newest first."""
    from stix import managed

    return Request("jobs.queue", managed.queue(everything=not skip_finished))


def cancel(name: str | None = None, job_ids: list[int] | None = None,
           all: bool = False) -> Request:
    from stix import managed

    return Request("jobs.cancel", managed.cancel(ids=job_ids, name=name, everything=all))


def tail_logs(name: str | None = None, job_id: int | None = None, follow: bool = True,
              controller: bool = False) -> int:
    """Print a managed job's logs (every attempt when following); 0 when it succeeded."""
    import sys

    from stix import managed

    def write(_label: str, text: str) -> None:
        sys.stdout.write(text)

    [found] = managed.job_ids([job_id] if job_id is not None else None, name)[:1]
    view = managed.logs(found, follow=follow, controller=controller, write=write)
    return 0 if view.status.value == "SUCCEEDED" else 1
