"""`stix server start|status|stop|logs`: the local stix server (managed jobs' control
plane). `stix jobs launch` starts one on demand."""

from __future__ import annotations

import json
import time

import typer

from stix.cli import render

server_app = typer.Typer(help="The stix server: the control plane of managed jobs.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    server_app.command("start")(start)
    server_app.command("status")(status)
    server_app.command("stop")(stop)
    server_app.command("logs")(logs)
    server_app.command("deploy")(deploy)
    app.add_typer(server_app, name="server")


def start(foreground: bool = typer.Option(False, "--foreground",
                                          help="Run in this terminal until Ctrl-C.")) -> None:
    """Start a local server (in the background), or say where the running one is."""
    from stix.server import process
    from stix.server.settings import load_settings

    settings = load_settings()
    if foreground:
        process.serve(settings)
        return
    found = process.running()
    if found is not None:
        render.ok(f"the stix server already runs at {found.url} (pid {found.pid})")
        return
    found = process.start(settings)
    render.ok(f"the stix server runs at {found.url} (pid {found.pid}; logs: "
              f"{process.log_path()})")


def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")
           ) -> int:
    """Whether a server runs, where, since when, with what database."""
    from stix.server import process
    from stix.server.settings import load_settings

    settings = load_settings()
    found = process.running()
    if as_json:
        typer.echo(json.dumps({"configured_url": settings.url, "local": None if found is None
                               else {"pid": found.pid, "url": found.url, "db": found.db,
                                     "started_at": found.started_at}}, indent=2))
        return 0 if found or settings.url else 1
    if settings.url:
        render.ok(f"the CLI talks to the configured server {settings.url}")
    if found is None:
        if not settings.url:
            render.warn("no stix server runs here (`stix server start`, or `stix jobs launch` "
                        "starts one)")
            return 1
        return 0
    up = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.started_at))
    render.ok(f"local server at {found.url}, pid {found.pid}, since {up}, database "
              f"{found.db}")
    return 0


def stop() -> None:
    """Stop the local server. Managed jobs keep their state: the next server resumes them."""
    from stix.server import process

    found = process.stop()
    if found is None:
        render.ok("no stix server was running")
    else:
        render.ok(f"stopped the stix server (pid {found.pid}); its jobs resume when it "
                  "starts again")


def logs(lines: int = typer.Option(100, "--lines", "-n", help="How many lines."),
         ) -> None:
    """The local server's own log."""
    from stix.server import process

    path = process.log_path()
    if not path.is_file():
        render.ok("the server has not written a log yet")
        return
    text = path.read_text(errors="replace").splitlines()[-lines:]
    typer.echo("\n".join(text))


def deploy(
    cloud: str = typer.Option(..., "--cloud", help="Where the server runs (aws)."),
    region: str | None = typer.Option(None, "--region", help="Its region (default: the "
                                      "cheapest)."),
    plan_only: bool = typer.Option(False, "--plan", help="Write and show the stack only."),
    engine: str | None = typer.Option(None, "--engine", help="pulumi or terraform."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Run the stix server in the cloud, as a stack of its own (stacks/Pulumi.stix-server.yaml):
    a small machine whose identity may run clusters, the server on port 46580."""
    from stix.server.deploy import deploy as run

    def confirm(question: str) -> bool:
        return yes or typer.confirm(question, default=False)

    done = run(cloud, region=region, plan_only=plan_only, confirm=confirm, engine=engine,
               say=_say)
    if done.url is None:
        render.ok("planned: review the stack under stacks/, then run without --plan")
        return
    render.ok(f"the stix server runs at {done.url}; point the CLI at it with "
              f"`server: {{url: {done.url}}}` in ~/.stix/config.yaml (or STIX_SERVER_URL); "
              "it uses the token in ~/.stix/server/token")


_say = render.plain
