"""`stix serve up|status|update|logs|down`: services — replicas that are stix clusters
behind a real load balancer, scaled and replaced by the stix server's controller."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from stix.cli import options, render

serve_app = typer.Typer(help="Services: replicas behind one endpoint, scaled with traffic "
                             "and replaced when they fail.", no_args_is_help=True)
_say = render.plain


def register(app: typer.Typer) -> None:
    serve_app.command("up")(up)
    serve_app.command("status")(status)
    serve_app.command("update")(update)
    serve_app.command("logs")(logs)
    serve_app.command("down")(down)
    app.add_typer(serve_app, name="serve")


def _confirm(question: str, yes: bool) -> None:
    if not yes and sys.stdin.isatty() and not typer.confirm(question):
        raise typer.Exit(1)


def up(
    task: Path = typer.Argument(..., help="Task YAML with a service: section."),
    name: str | None = typer.Option(None, "--service-name", "-n", help="Service name."),
    env: list[str] = options.ENV,
    secret: list[str] = typer.Option([], "--secret", help="KEY=VALUE or KEY (from the "
                                     "environment)."),
    detach: bool = typer.Option(False, "--detach", "-d", help="Return once accepted, "
                                "without waiting for a ready replica."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Start TASK as a service; wait until a replica is ready unless -d."""
    from stix import api
    from stix.cli.cluster_cmds import _pairs

    _confirm(f"Start the service in {task}?", yes)
    view = api.serve_up(task, name=name, env=_pairs(env, "--env"),
                        secrets=_pairs(secret, "--secret"), say=_say)
    render.ok(f"service {view.name} accepted; endpoint {view.endpoint}")
    if detach:
        _say(f"`stix serve status {view.name}` shows its replicas")
        return
    _say("waiting for a ready replica (Ctrl-C stops waiting, not the service)")
    try:
        ready = api.serve_wait_ready(view.name)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    render.ok(f"service {ready.name} is ready at {ready.endpoint}")


def status(
    names: list[str] = typer.Argument(None, help="Service names (default: all)."),
    endpoint: bool = typer.Option(False, "--endpoint", help="Print the endpoint only."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output, with "
                                 "every replica's load balancer numbers."),
) -> None:
    """Services and replicas, with the load balancer's numbers and the last decision."""
    from stix import api

    views = api.serve_status(names or None)
    if endpoint:
        if len(views) != 1:
            render.error("--endpoint needs exactly one service")
            raise typer.Exit(2)
        typer.echo(views[0].endpoint)
        return
    if as_json:
        typer.echo(json.dumps([v.model_dump(mode="json") for v in views], indent=2))
        return
    if not views:
        _say("no services")
        return
    from rich.table import Table

    console = render.console()
    for v in views:
        m = v.metrics
        head = (f"{v.name}  {v.status.value}  {v.endpoint}  v{v.version}"
                + (f" → v{v.target_version} ({v.update_mode})" if v.target_version != v.version
                   else "") + f"  replicas wanted: {v.desired}")
        console.print(f"[bold]{head}[/bold]", markup=True, highlight=False)
        if m:
            console.print(f"  {_num(m.get('rps'))} req/s, {m.get('inflight', 0)} in flight, "
                          f"p50 {_num(m.get('p50_ms'))} ms, p99 {_num(m.get('p99_ms'))} ms, "
                          f"{m.get('errors', 0)} errors", markup=False, highlight=False)
        if v.decision:
            console.print(f"  autoscaler: {v.decision}", markup=False, highlight=False)
        if v.reason:
            console.print(f"  {v.reason}", markup=False, highlight=False)
        table = Table(box=None, header_style="bold")
        for col in ("REPLICA", "VERSION", "STATUS", "SPOT", "ENDPOINT", "REQ/S", "IN FLIGHT",
                    "P50 MS", "P99 MS", "ERRORS", "UP FOR", "WHY"):
            table.add_column(col)
        for r in v.replicas:
            table.add_row(str(r.number), str(r.version), r.status.value,
                          "yes" if r.spot else "no", r.endpoint or "-", _num(r.rps),
                          str(r.inflight if r.inflight is not None else "-"), _num(r.p50_ms),
                          _num(r.p99_ms), str(r.errors if r.errors is not None else "-"),
                          _age(r.started_at), (r.reason or "")[:60])
        console.print(table)


def _num(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, (int, float)) else "-"


def _age(since: float) -> str:
    seconds = int(time.time() - since)
    return f"{seconds // 60}m{seconds % 60:02d}s"


def update(
    name: str = typer.Argument(..., help="Service name."),
    task: Path = typer.Argument(..., help="The new task YAML."),
    mode: str = typer.Option("rolling", "--mode", help="rolling (replace one at a time) or "
                             "blue_green (switch once every new replica is ready)."),
    env: list[str] = options.ENV,
    secret: list[str] = typer.Option([], "--secret", help="KEY=VALUE or KEY."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Roll out a new version; one whose replicas never get ready is rolled back."""
    from stix import api
    from stix.cli.cluster_cmds import _pairs

    _confirm(f"Update {name} to {task} ({mode})?", yes)
    view = api.serve_update(name, task, mode=mode, env=_pairs(env, "--env"),
                            secrets=_pairs(secret, "--secret"))
    render.ok(f"service {view.name}: version {view.target_version} is rolling out ({mode}); "
              f"`stix serve status {view.name}` follows it")


def logs(
    name: str = typer.Argument(..., help="Service name."),
    replica: int | None = typer.Argument(None, help="A replica's number: its launch and "
                                         "run output."),
    load_balancer: bool = typer.Option(False, "--load-balancer", help="The load "
                                       "balancer's log."),
    controller: bool = typer.Option(False, "--controller", help="The controller's "
                                    "decisions (the default)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep following."),
) -> None:
    """A service's logs: the controller's decisions, the load balancer's, or a replica's."""
    from stix import api

    if load_balancer and (controller or replica is not None):
        render.error("give one of REPLICA, --load-balancer, --controller")
        raise typer.Exit(2)
    target = "load_balancer" if load_balancer else "controller"

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    try:
        api.serve_logs(name, replica=replica, target=target, follow=follow, write=write)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def down(
    names: list[str] = typer.Argument(None, help="Service names."),
    all_: bool = typer.Option(False, "--all", "-a", help="Every service."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Shut services down: the endpoint closes, every replica's cluster is torn down."""
    from stix import api

    what = "every service" if all_ else ", ".join(names or [])
    _confirm(f"Shut down {what}?", yes)
    gone = api.serve_down(names or None, all_services=all_)
    render.ok(f"shutting down: {', '.join(gone) or 'nothing'}")
