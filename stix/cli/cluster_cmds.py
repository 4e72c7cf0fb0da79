"""Commands on clusters and their jobs: up, exec, queue, logs, cancel, ssh, autostop,
status (down, stop and start: stix.cli.power_cmds). Progress goes to stderr, job output
to stdout (so it can be piped)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import typer

from stix.cli import options, power_cmds, render


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("launch", help="Alias of `up` (SkyPilot's name).")(up)
    app.command("exec")(exec_)
    app.command("queue")(queue)
    app.command("logs")(logs)
    app.command("cancel")(cancel)
    app.command("ssh")(ssh)
    app.command("autostop")(autostop)
    app.command("status")(status)
    power_cmds.register(app)


_say = render.progress


def _pairs(pairs: list[str], flag: str) -> dict[str, str]:
    if flag == "--secret":
        given = sorted({p.split("=", 1)[0] for p in pairs if "=" in p})
        if given:
            render.warn(f"--secret {', '.join(k + '=…' for k in given)}: a value on the "
                        "command line is visible to other local users (ps, shell history); "
                        "export it and pass --secret KEY to read it from the environment")
    return options.key_values(pairs, flag)


def _finish(outcome: Any, cluster: str, job_id: str | None) -> int:
    from stix.remote.agent_client import JobState

    if outcome is None:
        if job_id is not None:
            _say(f"job {job_id} runs detached; follow it with `stix logs {cluster} {job_id} -f`")
        return 0
    if outcome.status == JobState.SUCCEEDED:
        from rich.markup import escape

        render.err_console().print(f"[green]✓[/] {escape(outcome.summary())}")
        return 0
    render.error(outcome.summary())
    return int(outcome.exit_code)


_ALLOW_PRIVATE = ("Send file_mount sources that are credential stores or private keys "
                  "(only those the task names exactly).")


def up(
    task: Path = typer.Argument(..., help="Task YAML file."),
    cluster: str | None = typer.Option(None, "-c", "--cluster", help="Cluster name."),
    env: list[str] = options.ENV,
    secret: list[str] = typer.Option([], "--secret", help="KEY=VALUE or KEY (from the "
                                     "environment); sent to the nodes only over SSH."),
    detach_run: bool = typer.Option(False, "--detach-run", "-d",
                                    help="Return once the run is submitted."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    engine: str | None = typer.Option(None, "--engine", help="pulumi (default) or terraform."),
    infra_only: bool = typer.Option(False, "--infra-only",
                                    help="Create the infrastructure; skip setup and run."),
    infra: str | None = options.INFRA,
    cloud: str | None = options.CLOUD,
    region: str | None = options.REGION,
    zone: str | None = options.ZONE,
    gpus: str | None = options.GPUS,
    cpus: str | None = options.CPUS,
    memory: str | None = options.MEMORY,
    instance_type: str | None = options.INSTANCE_TYPE,
    use_spot: bool | None = options.USE_SPOT,
    num_nodes: int | None = options.NUM_NODES,
    disk_size: str | None = options.DISK_SIZE,
    allow_private: bool = typer.Option(False, "--allow-private-mounts", help=_ALLOW_PRIVATE),
    env_file: Path | None = options.ENV_FILE,
    idle_minutes: int | None = typer.Option(None, "--idle-minutes-to-autostop", "-i",
                                            min=0, help="Stop the cluster after this many "
                                            "idle minutes (the task's autostop, changed)."),
    autodown: bool = typer.Option(False, "--down", help="Tear the cluster down when idle "
                                  "(after -i minutes, or once its jobs are done)."),
    no_setup: bool = typer.Option(False, "--no-setup", help="Skip setup this time."),
    retry_until_up: bool = typer.Option(False, "--retry-until-up", help="Wait and try again "
                                        "while every placement lacks capacity."),
) -> int:
    """Bring a cluster up (a cloud through the engine, or local/ssh machines), set it up,
    and run the task on it. Placement flags mean what they mean for `stix plan`."""
    from stix import api
    from stix.cli.progress_view import ProgressView

    overrides = options.placement_overrides(
        infra=infra, cloud=cloud, region=region, zone=zone, gpus=gpus, cpus=cpus,
        memory=memory, instance_type=instance_type, use_spot=use_spot, num_nodes=num_nodes,
        disk_size=disk_size)
    envs = {**_pairs(env, "--env"), **options.env_file(env_file)}
    loaded = api.load_pipeline(task, envs)
    if len(loaded.tasks) > 1 or loaded.group is not None:
        from stix.errors import UsageError

        what = ("a job group: its tasks run at once, each on a cluster named after the "
                "group and the task" if loaded.group is not None else "a pipeline: its tasks "
                "run in order, each on a cluster named after the task, each waiting for the "
                "one before")
        if cluster is not None or detach_run or retry_until_up or no_setup or idle_minutes \
                is not None or autodown:
            raise UsageError(f"{task} is {what}", hint="-c, -d, -i, --down, --no-setup and "
                             "--retry-until-up are for one task")
        if loaded.group is not None:
            return _up_group(task, envs, secret, yes, engine, infra_only, overrides,
                             allow_private)
        return _up_pipeline(task, envs, secret, yes, engine, infra_only, overrides,
                            allow_private)
    view = ProgressView()
    try:
        result = api.up(task, cluster=cluster, env=envs,
                        secrets=_pairs(secret, "--secret"), detach_run=detach_run, say=_say,
                        engine=engine, infra_only=infra_only, confirm=_confirmer(yes, view),
                        on_event=view, overrides=overrides,
                        allow_private_mounts=allow_private, no_setup=no_setup,
                        idle_minutes=idle_minutes, autodown=autodown,
                        retry_until_up=retry_until_up)
    finally:
        view.close()
    code = _finish(result.outcome, result.cluster, result.job_id)
    c = result.cluster
    _say(f"cluster {c} is up: `stix ssh {c}`, `stix exec {c} -- CMD`, `stix logs {c}`, "
         f"`stix status {c}`, `stix down {c}`")
    return code


def _up_pipeline(task: Path, env: dict[str, str], secret: list[str], yes: bool,
                 engine: str | None, infra_only: bool, overrides: dict[str, Any],
                 allow_private: bool) -> int:
    from stix import api
    from stix.cli.progress_view import ProgressView

    view = ProgressView()
    try:
        done = api.up_pipeline(task, env=env, secrets=_pairs(secret, "--secret"),
                               say=_say, engine=engine, infra_only=infra_only,
                               confirm=_confirmer(yes, view), on_event=view,
                               overrides=overrides, allow_private_mounts=allow_private)
    finally:
        view.close()
    for result in done.results:
        _finish(result.outcome, result.cluster, result.job_id)
    clusters = " ".join(done.clusters)
    if done.failed is not None:
        render.error(f"pipeline {done.name or task}: task {done.failed} failed; not run: "
                     f"{', '.join(done.left) or 'none'}")
    _say(f"pipeline clusters: {clusters}; `stix down {clusters}` (or `stix down {task}`) "
         "removes them")
    return done.exit_code


def _up_group(task: Path, env: dict[str, str], secret: list[str], yes: bool,
              engine: str | None, infra_only: bool, overrides: dict[str, Any],
              allow_private: bool) -> int:
    from rich.markup import escape

    from stix import api
    from stix.cli.progress_view import ProgressView

    view = ProgressView()
    try:
        done = api.up_group(task, env=env, secrets=_pairs(secret, "--secret"), say=_say,
                            engine=engine, infra_only=infra_only,
                            confirm=_confirmer(yes, view), on_event=view,
                            overrides=overrides, allow_private_mounts=allow_private)
    finally:
        view.close()
    for one in done.tasks if not infra_only else []:
        line = f"task {one.task} ({'primary' if one.primary else 'auxiliary'}, cluster " \
               f"{one.cluster}): {one.to_dict()['status'].lower()}"
        if one.error:
            render.error(f"{line}: {one.error}")
        elif one.exit_code:
            render.error(f"{line}, exit code {one.exit_code}")
        else:
            render.err_console().print(f"[green]✓[/] {escape(line)}")
    clusters = " ".join(done.clusters)
    if done.failed is not None:
        render.error(f"job group {done.name}: task {done.failed} failed; the others were "
                     "stopped")
    _say(f"job group clusters: {clusters}; `stix down {task}` removes them")
    return done.exit_code


def _confirmer(yes: bool, view: Any) -> Any:
    """Ask before an engine spends money; without a terminal, --yes is required."""
    import sys

    from stix.errors import UsageError

    def confirm(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError("this creates cloud resources; confirm with --yes "
                             "(no terminal to ask on)")
        view.close()
        return bool(typer.confirm(question))

    return confirm


def exec_(
    cluster: str = typer.Argument(..., help="Cluster name."),
    what: list[str] = typer.Argument(..., help="A task YAML file, or -- and a command."),
    env: list[str] = options.ENV,
    secret: list[str] = typer.Option([], "--secret", help="KEY=VALUE or KEY."),
    detach_run: bool = typer.Option(False, "--detach-run", "-d",
                                    help="Return once the job is submitted."),
    allow_private: bool = typer.Option(False, "--allow-private-mounts", help=_ALLOW_PRIVATE),
) -> int:
    """Run a task (its run section; files synced, no setup) or a command as a new job."""
    import shlex

    from stix import api

    envs, secrets = _pairs(env, "--env"), _pairs(secret, "--secret")
    if what and what[0] == "--":
        what = what[1:]
    if not what:
        from stix.errors import UsageError

        raise UsageError("exec: give a task file, or -- and a command")
    if len(what) == 1 and what[0].endswith((".yaml", ".yml")) and Path(what[0]).is_file():
        task = api.load_task(what[0], envs)
        result = api.exec_task(cluster, task, secrets=secrets, detach_run=detach_run, say=_say,
                               allow_private_mounts=allow_private)
    else:
        command = what[0] if len(what) == 1 else shlex.join(what)
        result = api.exec_task(cluster, command=command, env=envs, secrets=secrets,
                               detach_run=detach_run, say=_say)
    return _finish(result.outcome, cluster, result.job_id)


def _when(value: str | None) -> str:
    return value.replace("T", " ")[:19] if value else "-"


def queue(
    cluster: str = typer.Argument(..., help="Cluster name."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the cluster's jobs with their status on the nodes."""
    from stix import api

    rows = api.queue(cluster)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("ID", "NAME", "STATUS", "SUBMITTED", "ENDED", "EXIT CODES"):
        table.add_column(col)
    for r in rows:
        codes = ", ".join(f"{n}={c}" for n, c in r["exit_codes"].items())
        table.add_row(r["job_id"], r["name"] or "-", r["status"], _when(r["submitted_at"]),
                      _when(r["ended_at"]), codes or "-")
    render.console().print(table)
    unreachable = sorted({n for r in rows for n in r["unreachable"]})
    if unreachable:
        render.error(f"not reachable: {', '.join(unreachable)} (their status is unknown)")


def logs(
    cluster: str = typer.Argument(..., help="Cluster name."),
    job: str | None = typer.Argument(None, help="Job id (default: the latest)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep streaming until it ends."),
    node: int | None = typer.Option(None, "--node", help="Only this node (0 = head)."),
) -> int:
    """Print a job's output from every node, each line prefixed by its node, then how it
    ended (the exit code is non-zero when the job failed, was cancelled or a node is lost)."""
    from stix import api
    from stix.remote.agent_client import JobState

    outcome = api.logs(cluster, job, follow=follow, node=node)
    if outcome.status == JobState.RUNNING:
        lost = [n for n in outcome.nodes if n.status == JobState.LOST]
        for n in lost:
            render.error(f"({n.label}) not reachable: {n.reason}")
        _say(f"job {outcome.job_id} is still running; `stix logs {cluster} "
             f"{outcome.job_id} -f` follows it")
        return 1 if lost else 0
    return _finish(outcome, cluster, outcome.job_id)


def cancel(
    cluster: str = typer.Argument(..., help="Cluster name."),
    jobs: list[str] = typer.Argument(None, help="Job ids."),
    all_jobs: bool = typer.Option(False, "--all", "-a", help="Every running job."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Cancel jobs on every node of the cluster."""
    from stix import api

    result = api.cancel(cluster, jobs or None, all_jobs=all_jobs)
    if as_json:
        typer.echo(json.dumps(result))
        return
    if result["cancelled"]:
        render.ok(f"cancelled job(s) {', '.join(result['cancelled'])}")
    if result["already_done"]:
        _say(f"already finished: {', '.join(result['already_done'])}")
    if not result["cancelled"] and not result["already_done"]:
        _say("nothing to cancel")


def ssh(
    cluster: str = typer.Argument(..., help="Cluster name."),
    node: int | None = typer.Option(None, "--node", help="Node index (0 = head)."),
) -> None:
    """Open a shell on a node of the cluster."""
    from stix import api

    argv, cwd = api.ssh_command(cluster, node)
    if cwd:
        os.chdir(cwd)
    os.execvp(argv[0], argv)


def autostop(
    cluster: str = typer.Argument(..., help="Cluster name."),
    idle_minutes: float | None = typer.Option(None, "-i", "--idle-minutes",
                                              help="Idle minutes (no job running) before acting."),
    down_: bool = typer.Option(False, "--down", help="Tear the cluster down when idle."),
    cancel_: bool = typer.Option(False, "--cancel", help="Turn auto-stop off."),
    wait_for: str | None = typer.Option(
        None, "--wait-for", help="What counts as activity: jobs_and_ssh (default), jobs, "
        "none (the idle time alone)."),
) -> None:
    """Stop (or with --down, tear down) the cluster after MIN idle minutes."""
    from stix import api

    api.autostop(cluster, idle_minutes, down=down_, cancel=cancel_, wait_for=wait_for)
    if cancel_:
        render.ok(f"auto-stop of {cluster} is off")
    else:
        what = "torn down" if down_ else "stopped"
        render.ok(f"{cluster} will be {what} after {idle_minutes:g} idle minute(s)")


def status(
    cluster: str | None = typer.Argument(None, help="One cluster (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    refresh: bool = typer.Option(
        False, "--refresh", help="Ask the clouds what their nodes are now (stopped or gone "
        "behind stix's back: a cluster with no node left has the rest of its stack removed) "
        "and the nodes how long until their autostop."),
    all_: bool = typer.Option(False, "--all", "-a", help="Every cluster on this machine's "
                              "state (the default; SkyPilot's flag, accepted)."),
) -> None:
    """Clusters stix knows: provider, placement, nodes, $/h at launch, age, autostop, state."""
    from stix import api

    left: dict[str, float | None] = {}
    if refresh:
        for record in api.status(cluster):
            done = api.reconcile(record.name, say=_say)
            for note in done.notes:
                _say(f"{record.name}: {note}")
            if done.after is not None and record.autostop:
                left[record.name] = api.autostop_left(record.name)
    records = ([r for r in api.status() if cluster is None or r.name == cluster] if refresh
               else api.status(cluster))  # a refresh may have removed a cluster
    for warning in api.over_budget():  # the config's hourly limits (stix.budget)
        render.warn(warning)
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in records], indent=2))
        return
    if not records:
        _say("no clusters; start one with `stix up examples/local-hello.yaml`")
        return
    from rich.table import Table

    from stix.clouds import registry

    table = Table(box=None, header_style="bold")
    for col in ("NAME", "INFRA", "NODES", "$/H", "AGE", "AUTOSTOP", "STATUS"):
        table.add_column(col)
    now = time.time()
    for r in records:
        where = registry.get(r.provider).location(r.placement)
        age = int(now - r.created_at)
        age_text = f"{age // 3600}h{age % 3600 // 60:02d}m" if age >= 3600 else f"{age // 60}m"
        table.add_row(r.name, where, str(len(r.nodes)), f"{r.hourly_price:.2f}", age_text,
                      _autostop_text(r.autostop, left.get(r.name, -1.0)), r.status.value)
    render.console().print(table)


def _autostop_text(setting: dict[str, Any] | None, left: float | None) -> str:
    """`10m stop`, `30m down, 12m left` (left -1: not asked; None: busy with a job)."""
    if not setting:
        return "-"
    text = f"{float(setting['idle_minutes']):g}m {'down' if setting.get('down') else 'stop'}"
    if left is None:
        return f"{text}, busy"
    if left >= 0:
        return f"{text}, {left / 60:.0f}m left"
    return text
