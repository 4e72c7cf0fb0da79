"""`stix state rebuild`: a new state DB, filled with what can be recovered."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from stix.cli import render

state_app = typer.Typer(help="The local state DB (~/.stix/state.db).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    state_app.command("rebuild")(rebuild)
    app.add_typer(state_app, name="state")


def rebuild(
    project: Path | None = typer.Option(None, "--project", help="The stix project whose "
                                        "stacks/ to read (default: the one here)."),
    engine: str | None = typer.Option(None, "--engine", help="Ask this engine for the "
                                      "stacks' outputs (default: the one each used)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Replace a lost or damaged state DB: the old file is kept beside it; stack-backed
    clusters come back from stacks/ and their engine's state, local clusters from their
    node homes. Job history and ssh-pool clusters cannot be recovered."""
    import sys

    from stix.cluster.recover import rebuild as do_rebuild

    if not yes and sys.stdin.isatty() and not typer.confirm("Replace the state DB?"):
        raise typer.Exit(1)
    result = do_rebuild(project, engine=engine)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return 0
    if result.kept:
        render.ok(f"the old state DB is kept at {result.kept}")
    render.ok(f"new state DB {result.db}: {len(result.clusters)} cluster(s) recovered"
              + (f" ({', '.join(result.clusters)})" if result.clusters else ""))
    for line in result.skipped:
        render.warn(line)
    return 0
