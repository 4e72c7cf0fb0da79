"""The `stix` command: the typer app, its command groups, and the entry point.

Every command module registers itself on `app`; nothing here imports pulumi, a cloud SDK,
or the catalog until a command that needs it runs.
"""

from __future__ import annotations

import sys

import typer

try:  # typer ≥ 0.20 ships its own copy of click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click import ClickException  # type: ignore[assignment]

from stix import __version__
from stix.cli import state

app = typer.Typer(
    name="stix",
    help="Run AI and batch tasks on any cloud; every cluster is an infrastructure-as-code stack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    state.debug = state.debug or debug


# Each command group registers itself; order here is the order in `stix --help`.
from stix.cli import (  # noqa: E402
    catalog_cmds,
    cluster_cmds,
    cost_cmds,
    engine_cmds,
    jobs_cmds,
    optimize_cmds,
    orphans_cmds,
    recover_cmds,
    serve_cmds,
    server_cmds,
    stack_cmds,
    storage_cmds,
    task_cmds,
)

for _group in (task_cmds, optimize_cmds, catalog_cmds, stack_cmds, cluster_cmds, jobs_cmds,
               serve_cmds, server_cmds, cost_cmds, storage_cmds, engine_cmds, recover_cmds,
               orphans_cmds):
    _group.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn every failure into a message and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    state.debug = "--debug" in args or state.env_debug()
    try:
        result = app(args=args, prog_name="stix", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        state.err("aborted")
        sys.exit(130)
    except ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        state.err("interrupted")
        sys.exit(130)
    except Exception as exc:  # every error reaches the user as one message
        sys.exit(state.report(exc))
    sys.exit(result if isinstance(result, int) else 0)
