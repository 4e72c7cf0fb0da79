"""`stix cost-report`: what each cluster has cost, down ones too (docs/costs.md)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import typer

from stix.cli import render

if TYPE_CHECKING:
    from stix.cost import ClusterCost, CostReport


def register(app: typer.Typer) -> None:
    app.command("cost-report")(cost_report)


def cost_report(
    cluster: str | None = typer.Argument(None, help="One cluster (default: every cluster "
                                         "stix recorded, down ones too)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    days: float | None = typer.Option(None, "--days", metavar="N",
                                      help="Only the cost accrued in the last N days."),
) -> None:
    """What each cluster has cost: running time at the price recorded at launch, stopped
    time at what its disks bill, per node and in total; and the $/h of what is up now."""
    from stix import api

    result = api.cost_report(cluster, days=days)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
        return
    if not result.clusters:
        render.ok("no cluster usage recorded yet" if days is None
                  else f"no cluster usage in the last {_days(days)}")
        return
    _table(result)
    for line in _footer(result):
        render.progress(line)


def _days(days: float) -> str:
    return f"{days:g} day" + ("" if days == 1 else "s")


def _hours(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _usd(value: float) -> str:
    return f"{value:,.2f}"


def _per_node(c: ClusterCost) -> str:
    costs = [n.cost for n in c.nodes]
    if not costs:
        return "-"
    low, high = min(costs), max(costs)
    return _usd(low) if _usd(low) == _usd(high) else f"{_usd(low)}–{_usd(high)}"


def _table(result: CostReport) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("NAME", "STATE", "INFRA", "TYPE", "NODES", "RUNNING", "STOPPED", "MACHINES $",
                "DISKS $", "ADDRESSES $", "TOTAL $", "PER NODE $", "$/H NOW"):
        table.add_column(col, justify="right" if col.endswith("$") or "$/H" in col else "left")
    for c in result.clusters:
        last = c.last
        style = "dim" if c.down else None
        table.add_row(
            c.name, c.state, f"{last.cloud}/{last.region}" if last else "-",
            (last.instance_type + (" spot" if last.use_spot else "")) if last else "-",
            str(last.nodes) if last else "-", _hours(c.running_hours), _hours(c.stopped_hours),
            _usd(c.compute), _usd(c.disks), _usd(c.addresses), _usd(c.total), _per_node(c),
            _usd(c.hourly_now) if c.open else "-", style=style)  # fmt: skip
    table.add_row("total", "", "", "", "", "", "", "", "", "", _usd(result.total), "",
                  _usd(result.hourly_now), style="bold")
    render.console().print(table)


def _footer(result: CostReport) -> list[str]:
    from stix.cost import NOT_COUNTED

    lines = []
    if result.since is not None:
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(result.since))
        lines.append(f"cost accrued in the last {_days(result.days or 0)} (since {since})")
    lines.append("running time at the machine price recorded at launch (not today's "
                 "catalog); disks and addresses at the list prices recorded then")
    for c in result.clusters:
        for note in c.notes:
            lines.append(f"{c.name}: {note}")
        if c.unpriced:
            lines.append(f"{c.name}: billed but not priced: {'; '.join(c.unpriced)}")
    kept = sorted({n for c in result.clusters for n in c.not_counted})
    lines.append("not counted: " + "; ".join([*kept, *NOT_COUNTED]) + " (docs/costs.md)")
    return lines
