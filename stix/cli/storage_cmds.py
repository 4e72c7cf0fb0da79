"""`stix storage ls|delete`: buckets that outlive clusters (stacks of their own)."""

from __future__ import annotations

import json
import time

import typer

from stix.cli import render

storage_app = typer.Typer(help="Buckets stix keeps (persistent: true): they outlive clusters.",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    storage_app.command("ls")(ls)
    storage_app.command("delete")(delete)
    app.add_typer(storage_app, name="storage")


def ls(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Buckets stix created that outlive clusters, and the clusters using each."""
    from stix import api

    rows = api.storage_ls()
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    if not rows:
        render.ok("no buckets are kept")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("NAME", "STORE", "WHERE", "STACK", "CREATED", "USED BY"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.name, r.store, f"{r.cloud}/{r.region}", r.stack,
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
                      ", ".join(r.used_by) or "-")
    render.console().print(table)


def delete(
    name: str = typer.Argument(..., help="Bucket name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a kept bucket with everything in it (refused while a cluster uses it)."""
    import sys

    from stix import api
    from stix.cli.progress_view import ProgressView
    from stix.errors import UsageError

    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("this deletes the bucket and its data; confirm with --yes")
        if not typer.confirm(f"Delete bucket {name} and everything in it?"):
            raise typer.Exit(1)
    view = ProgressView()
    try:
        api.storage_delete(name, on_event=view, say=lambda m: render.ok(m))
    finally:
        view.close()
