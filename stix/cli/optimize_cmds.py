"""`stix optimize` (where a task would run, and for how much) and `stix check` (which clouds
have credentials here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from stix.cli import options, render

if TYPE_CHECKING:
    from stix.clouds.base import CredentialStatus
    from stix.optimizer.pipeline import PipelinePlacement
    from stix.placement import Placement
    from stix.task import Task


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)
    app.command("check")(check)


def optimize(
    task_file: Path = typer.Argument(..., metavar="TASK", help="Task YAML file."),
    cloud: str | None = options.CLOUD,
    region: str | None = options.REGION,
    zone: str | None = options.ZONE,
    gpus: str | None = options.GPUS,
    cpus: str | None = options.CPUS,
    memory: str | None = options.MEMORY,
    instance_type: str | None = options.INSTANCE_TYPE,
    use_spot: bool | None = options.USE_SPOT,
    target: str = options.TARGET,
    num_nodes: int | None = options.NUM_NODES,
    cluster: str | None = typer.Option(None, "--cluster", "-c", help="Cluster name."),
    all_clouds: bool = typer.Option(False, "--all-clouds",
                                    help="Consider every catalog cloud, credentials or not."),
    candidates: int = typer.Option(0, "--candidates", "-n",
                                   help="Show the best N candidates overall, not per cloud."),
    allow_shared_core: bool = typer.Option(
        False, "--allow-shared-core", help="Let burstable and shared-core types (AWS t*, "
        "Azure B*, GCP e2-micro/small/medium) be chosen unnamed (config: allow_shared_core)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Pick the cheapest (or fastest) placement for a task; nothing is created."""
    # The library modules themselves (also in stix.api): `stix.api` imports the cluster
    # and job machinery too, which a plan does not need and should not wait for.
    from stix.catalog import load_catalog
    from stix.errors import UsageError
    from stix.optimizer import NothingFitsError
    from stix.optimizer.clouds import plan_clouds
    from stix.optimizer.overrides import with_overrides
    from stix.task import load_pipeline

    if target not in ("cost", "time"):
        raise UsageError(f"--target must be cost or time, got {target!r}")
    if candidates < 0:
        raise UsageError(f"--candidates must be 0 or more, got {candidates}")
    pipeline = load_pipeline(task_file)
    if len(pipeline.tasks) > 1 and cluster is not None:
        raise UsageError(f"{task_file} holds {len(pipeline.tasks)} tasks; -c/--cluster names "
                         "one cluster", hint="optimize without -c: each task is placed")
    from stix.catalog.refresh import maybe_refresh
    from stix.optimizer.pipeline import TaskNothingFits, place_pipeline

    refresh_note = maybe_refresh()
    catalog = load_catalog()
    tasks = [with_overrides(loaded, cloud=cloud, region=region, zone=zone, gpus=gpus,
                            cpus=cpus, memory=memory, instance_type=instance_type,
                            use_spot=use_spot, num_nodes=num_nodes)
             for loaded in pipeline.tasks]
    notes: dict[int, str] = {}

    def clouds_for(task: Task) -> list[str] | None:
        if all_clouds:
            clouds, note = None, "considering every catalog cloud (--all-clouds)"
        else:
            clouds, note = plan_clouds(task, catalog.clouds)
        notes[id(task)] = note
        return clouds

    many = len(tasks) > 1
    try:
        placed = place_pipeline(tasks, name=pipeline.name, catalog=catalog, clouds=clouds_for,
                                target=target, candidates=max(candidates, 10),  # type: ignore[arg-type]
                                shared_core=True if allow_shared_core else None,
                                cluster=cluster, parallel=pipeline.group is not None)
    except NothingFitsError as exc:
        note = next(reversed(notes.values()), "")
        if not as_json:
            _note(note, err=True)
            raise
        doc = {"error": exc.message, "reasons": exc.reasons, "notes": [note]}
        if isinstance(exc, TaskNothingFits):
            doc = {"task": exc.task, **doc}
        typer.echo(json.dumps({"pipeline": pipeline.name, "tasks": [doc]} if many else doc,
                              indent=2))
        return exc.exit_code
    docs = []
    for i in range(len(tasks)):
        stage = placed.stage_of(i)
        result = stage.result
        reused = stage.tasks[0] != i
        head = tasks[stage.tasks[0]]
        if as_json:
            out = result.to_dict()
            out["notes"] = [notes[id(head)], *out["notes"], *filter(None, [refresh_note])]
            if candidates:
                out["candidates"] = out["candidates"][:candidates]
            docs.append({"task": placed.tasks[i], "cluster": stage.cluster,
                         "reuses_cluster": reused, **out})
            continue
        if many:
            render.console().print(f"[bold]task {i + 1}/{len(tasks)}: {placed.tasks[i]}[/]")
        if reused:
            _note(f"runs on cluster {stage.cluster} after task {placed.tasks[i - 1]}: the "
                  "same resources, node count and buckets, so the cluster is reused")
            continue
        for line in [notes[id(head)], *result.notes, *result.price_notes,
                     *filter(None, [refresh_note])]:
            _note(line)
        if candidates:
            rows = result.candidates[:candidates]
            title = f"Best {len(rows)} candidates ({target})"
        else:
            rows = list(result.best_per_cloud.values())
            if result.chosen not in rows:  # moved for its data: show where it went
                rows = sorted([*rows, result.chosen], key=lambda p: p.cloud)
            title = f"Best per cloud ({target})"
        _table(title, rows, result.chosen)
        render.ok("chosen: " + _summary(result.chosen))
    totals = placed.to_dict()
    if as_json:
        if many:
            typer.echo(json.dumps({"pipeline": pipeline.name, "tasks": docs, **totals,
                                   "notes": [*placed.notes, _pipeline_note(placed)]},
                                  indent=2))
        else:
            only = {k: v for k, v in docs[0].items()
                    if k not in ("task", "cluster", "reuses_cluster")}
            if placed.transfers:
                only.update({k: totals[k] for k in ("transfers", "transfer_usd")})
            typer.echo(json.dumps(only, indent=2))
        return 0
    for transfer in placed.transfers:
        _note("data: " + transfer.render())
    for line in placed.notes:
        _note(line)
    if many or placed.transfers:
        _note(_pipeline_note(placed))
    return 0


def _pipeline_note(placed: PipelinePlacement) -> str:
    """The totals the placements were chosen by (or, for target time, what they cost)."""
    from stix.optimizer.pipeline import COMPUTE_HOURS

    hours = f"{COMPUTE_HOURS:g} h" if COMPUTE_HOURS != 1 else "one hour"
    clusters = len(placed.stages)
    how = ("placed together for the least compute + transfer" if placed.target == "cost"
           else "each placed by speed; transfers priced, not minimised")
    if placed.parallel:
        how = f"job group {placed.name}, all at once"
    total = placed.compute_usd + placed.transfer_usd
    return (f"{len(placed.tasks)} task(s) on {clusters} cluster(s), {how}: compute "
            f"${placed.compute_usd:.2f} (each task counted as {hours}, as SkyPilot does) + "
            f"transfer ${placed.transfer_usd:.2f} = ${total:.2f}")


def _note(text: str, err: bool = False) -> None:
    from rich.markup import escape

    (render.err_console() if err else render.console()).print(f"[dim]note: {escape(text)}[/]")


def _gpus(p: Placement) -> str:
    if p.accelerator is None:
        return "-"
    count = p.accelerator.count
    return f"{p.accelerator.name}:{int(count) if count.is_integer() else count}"


def _money(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"{value:.4g}"


def _same(a: Placement, b: Placement) -> bool:
    keys = ("cloud", "region", "zone", "instance_type", "use_spot")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def _print_wide(renderable: object) -> None:
    """Tables are read whole: when piped, do not cut them to 80 columns."""
    console = render.console()
    if not console.is_terminal:
        from rich.console import Console

        console = Console(highlight=False, width=200)
    console.print(renderable)


def _table(title: str, rows: list[Placement], chosen: Placement) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    for name in ("INFRA", "INSTANCE", "vCPUs", "MEM GiB", "GPUS", "SPOT", "$/h NODE", "$/h TOTAL",
                 "PRICE", "CHOSEN"):
        right = name in ("vCPUs", "MEM GiB", "$/h NODE", "$/h TOTAL")
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for p in rows:
        infra = "/".join(x for x in (p.cloud, p.region, p.zone) if x)
        table.add_row(infra, p.instance_type, f"{p.vcpus:g}", f"{p.memory_gib:g}", _gpus(p),
                      "yes" if p.use_spot else "no", _money(p.hourly_price),
                      _money(p.total_hourly_price), _source(p),
                      "✔" if _same(p, chosen) else "")  # fmt: skip
    _print_wide(table)


def _source(p: Placement) -> str:
    from stix.catalog.provenance import age

    if p.price_source is None:
        return "?"
    old = age(p.price_as_of).replace(" hours old", "h").replace(" days old", "d").replace(
        " months old", "mo")  # fmt: skip
    return p.price_source + (f" {old}" if old and p.price_source == "observed" else "")


def _summary(p: Placement) -> str:
    where = "/".join(x for x in (p.cloud, p.region, p.zone) if x)
    nodes = f"{p.num_nodes} nodes" if p.num_nodes > 1 else "1 node"
    market = "spot" if p.use_spot else "on-demand"
    gpus = f" ({_gpus(p)})" if p.accelerator else ""
    return (f"{where} {p.instance_type}{gpus}, {nodes}, {market}, "
            f"${_money(p.total_hourly_price)}/h — cluster {p.cluster}")


def check(
    verify: bool = typer.Option(False, "--verify", help="Ask each cloud (network calls)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Show which clouds have credentials here (env vars and config files; no network unless
    --verify). Planning (`stix optimize`) needs none."""
    from stix.engine import engine_report
    from stix.optimizer.clouds import credential_report

    statuses = credential_report(verify)
    engines = engine_report()
    if as_json:
        typer.echo(json.dumps({"clouds": [_status_dict(s) for s in statuses],
                               "engines": engines}, indent=2))
        return 0
    _status_table(statuses, verify)
    for e in engines:
        mark = "[green]✓[/]" if e["ok"] else "[yellow]![/]"
        hint = f" — {e['hint']}" if e["hint"] else ""
        _note_markup(f"{mark} engine {e['engine']}: {e['detail']}{hint}")
    if not any(s.ok for s in statuses if _provisions(s.cloud)):
        _note("no cloud credentials: `stix optimize` still plans over every catalog cloud")
    return 0


def _provisions(name: str) -> bool:
    from stix.clouds import registry

    return registry.get(name).capabilities.provisions


def _status_dict(s: CredentialStatus) -> dict[str, Any]:
    return {"cloud": s.cloud, "ok": s.ok, "detail": s.detail, "hint": s.hint,
            "sources": list(s.sources)}  # fmt: skip


def _status_table(statuses: list[CredentialStatus], verify: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Credentials (verified)" if verify else "Credentials (not verified)",
                  title_justify="left", header_style="bold")  # fmt: skip
    for name in ("CLOUD", "", "DETAIL"):
        table.add_column(name)
    for s in statuses:
        detail = escape(s.detail) + (f"\n[dim]hint: {escape(s.hint)}[/]" if s.hint else "")
        table.add_row(s.cloud, "[green]✓[/]" if s.ok else "[red]✗[/]", detail)
    _print_wide(table)


def _note_markup(text: str) -> None:
    from stix.cli import render

    render.err_console().print(text)
