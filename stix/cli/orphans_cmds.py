"""`stix orphans`: resources stix tagged that no stack holds, listed with their $/h, and
deleted only when asked (`--delete`) and confirmed."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from stix.cli import render


def register(app: typer.Typer) -> None:
    app.command("orphans")(orphans)


def orphans(
    cloud: str | None = typer.Option(None, "--cloud", help="Scan this cloud only (default: "
                                     "every cloud with credentials)."),
    region: list[str] = typer.Option([], "--region", help="Scan this region (or kubeconfig "
                                     "context) only; repeatable (default: all)."),
    engine: list[str] = typer.Option([], "--engine", help="Read stack states from this engine "
                                     "only; repeatable (default: every engine)."),
    delete: bool = typer.Option(False, "--delete", help="Delete the orphans (asks first)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Resources tagged stix-cluster (or stix-bucket) that no stack in any engine's state
    holds — what a crash, a hand edit or a lost state left behind — with their $/h where the
    catalog prices them. Read-only unless --delete. Asks the clouds (network, credentials)."""
    from stix import api

    report = api.find_orphans(cloud, region or None, engine or None)
    if not as_json:
        _show(report)
    _notes(report)
    failed = 0
    if delete and report.orphans:
        refused = report.refusal()
        if refused is not None:
            raise refused
        if not yes:
            if not sys.stdin.isatty():
                from stix.errors import UsageError

                raise UsageError("this deletes cloud resources; confirm with --yes")
            if not typer.confirm(_question(report), err=True):
                if as_json:
                    typer.echo(json.dumps(report.to_json(), indent=2))
                render.warn("nothing deleted")
                return 1
        done = api.delete_orphans(report)
        failed = sum(1 for d in done if d.error is not None)
        if not as_json:
            for d in done:
                what = f"{d.resource.cloud} {d.resource.kind} {d.resource.id}"
                if d.error is None:
                    render.ok(f"deleted {what}")
                else:
                    render.error(f"{what}: {d.error}")
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    return 1 if failed else 0


def _question(report: Any) -> str:
    full = sum(1 for r in report.orphans if "holds objects" in r.detail)
    data = f" ({full} of them buckets with objects in them)" if full else ""
    return f"Delete these {len(report.orphans)} resources{data}?"


def _price(value: float | None) -> str:
    return "not priced" if value is None else f"${value:.4f}"


def _show(report: Any) -> None:
    if not report.orphans:
        render.ok(f"no orphans ({report.held} tagged resource(s), all held by stacks)"
                  if report.held else "no orphans (nothing carries a stix tag)")
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("CLUSTER", "WHERE", "KIND", "ID", "$/H", "DETAIL"):
        table.add_column(col, overflow="fold")
    for r in report.orphans:
        named = f"name {r.name}" if r.name and r.name != r.id else ""
        table.add_row(r.cluster, f"{r.cloud}/{r.zone or r.region}", r.kind, r.id,
                      _price(r.hourly_price), "; ".join(p for p in (named, r.detail) if p))
    out = render.console()
    out.print(table)
    for cluster, reason in sorted(report.reasons.items()):
        out.print(f"{cluster}: {reason}")
    unpriced = f", {report.unpriced} not priced" if report.unpriced else ""
    out.print(f"{len(report.orphans)} orphan(s): ${report.hourly_price:.4f}/h priced"
              f"{unpriced}; {report.held} tagged resource(s) held by stacks")


def _notes(report: Any) -> None:
    for scan in report.clouds:
        if not scan.scanned:
            render.warn(f"{scan.cloud} not scanned: {scan.reason}")
        for problem in scan.problems:
            render.warn(problem)
    for state in report.unread:
        render.warn(f"{state.engine} state not read: {(state.error or '').splitlines()[0]}; "
                    "its stacks' resources may be listed as orphans")
    for r in report.busy:
        render.warn(f"{r.cloud} {r.kind} {r.id} left out: {r.detail}")
