"""`stix jobs launch|queue|logs|cancel`: managed jobs, run to the end by the stix server
(recovered when a node is lost, restarted by the task's job_recovery rules)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from stix.cli import options, render

jobs_app = typer.Typer(help="Managed jobs: run to the end by the stix server, recovered "
                            "when a node is lost.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    jobs_app.command("launch")(launch)
    jobs_app.command("queue")(queue)
    jobs_app.command("logs")(logs)
    jobs_app.command("cancel")(cancel)
    app.add_typer(jobs_app, name="jobs")


_say = render.plain


def launch(
    task: Path = typer.Argument(..., help="Task YAML file (several documents: a pipeline)."),
    name: str | None = typer.Option(None, "--name", "-n", help="Job name."),
    env: list[str] = options.ENV,
    secret: list[str] = typer.Option([], "--secret", help="KEY=VALUE or KEY (from the "
                                     "environment)."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Return once accepted."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    allow_private_mounts: bool = typer.Option(False, "--allow-private-mounts",
                                              help="Send file_mount sources that are "
                                              "credential stores or private keys."),
) -> int:
    """Submit TASK as a managed job; follow its logs unless -d."""
    from stix import api
    from stix.cli.cluster_cmds import _pairs

    if not yes and sys.stdin.isatty() and not typer.confirm(f"Launch {task} as a managed job?"):
        raise typer.Exit(1)
    accepted = api.jobs_launch(task, name=name, env=_pairs(env, "--env"),
                               secrets=_pairs(secret, "--secret"),
                               allow_private_mounts=allow_private_mounts, say=_say)
    render.ok(f"managed job {accepted.id} ({accepted.name}) accepted")
    if detach:
        _say(f"follow it with `stix jobs logs {accepted.id} -f`")
        return 0
    return _follow(accepted.id, None, False)


def _follow(job_id: int, attempt: int | None, controller: bool, follow: bool = True) -> int:
    from stix import api

    def write(label: str, text: str) -> None:
        head = f"({label}) "
        sys.stdout.write("".join(head + line + "\n" for line in text.splitlines()))
        sys.stdout.flush()

    try:
        job = api.jobs_logs(job_id, attempt=attempt, follow=follow, controller=controller,
                            write=write)
    except KeyboardInterrupt:
        _say(f"job {job_id} still runs; follow it again with `stix jobs logs {job_id} -f`")
        return 130
    if not follow and not job.status.terminal:
        return 0
    line = f"job {job.id} {job.status.value}" + (f": {job.reason}" if job.reason else "")
    if job.status.value == "SUCCEEDED":
        render.ok(line)
        return 0
    if job.status.terminal:
        render.error(line)
        return 1
    return 0


def queue(
    all_: bool = typer.Option(False, "--all", "-a", help="Finished jobs too."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Managed jobs: status, attempts, recoveries and why."""
    from stix import api

    jobs = api.jobs_queue(everything=all_)
    if as_json:
        typer.echo(json.dumps([j.model_dump(mode="json") for j in jobs], indent=2))
        return
    if not jobs:
        _say("no managed jobs" + ("" if all_ else " running (--all shows finished ones)"))
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("ID", "NAME", "TASK", "SUBMITTED", "ATTEMPTS", "RECOVERIES", "WHERE",
                "STATUS", "WHY"):
        table.add_column(col)
    for j in jobs:
        last = j.attempts[-1] if j.attempts else None
        where = ""
        if last and last.placement:
            p = last.placement
            where = (", ".join(p.get("hosts") or []) or
                     "/".join(str(x) for x in (p.get("cloud"), p.get("region"), p.get("zone"))
                              if x))
        why = j.reason or (last.reason if last and j.status.value == "RECOVERING" else "") or ""
        table.add_row(str(j.id), j.name, f"{j.task_index + 1}/{j.tasks}",
                      time.strftime("%m-%d %H:%M", time.localtime(j.submitted_at)),
                      str(len(j.attempts)), str(j.recoveries), where, j.status.value,
                      why[:80])
    render.console().print(table)


def logs(
    job_id: int | None = typer.Argument(None, help="Job ID."),
    name: str | None = typer.Option(None, "--name", "-n", help="The latest job of this name."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Follow until the job ends."),
    attempt: int | None = typer.Option(None, "--attempt", help="One attempt (1, 2, ...)."),
    controller: bool = typer.Option(False, "--controller", help="What provisioning and "
                                    "recovery said, not the run's output."),
) -> int:
    """A managed job's logs: its run on every node, any attempt kept."""
    from stix import api

    [found, *_] = api.jobs_ids([job_id] if job_id is not None else None, name)
    return _follow(found, attempt, controller, follow)


def cancel(
    job_ids: list[int] = typer.Argument(None, help="Job IDs."),
    name: str | None = typer.Option(None, "--name", "-n", help="Every job of this name."),
    all_: bool = typer.Option(False, "--all", "-a", help="Every unfinished job."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Cancel managed jobs: their runs stop and their clusters are torn down."""
    from stix import api

    what = "every managed job" if all_ else (f"jobs named {name}" if name else
                                             ", ".join(map(str, job_ids or [])))
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Cancel {what}?"):
        raise typer.Exit(1)
    found = api.jobs_cancel(ids=job_ids or None, name=name, everything=all_)
    if found:
        render.ok(f"cancelling {', '.join(map(str, found))}: their clusters are torn down")
    else:
        render.ok("nothing to cancel (no such unfinished job)")
