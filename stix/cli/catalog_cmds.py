"""`stix catalog show|import|update` (the price catalog) and `stix show-gpus`.

These call `stix.catalog` directly (the same functions `stix.api` re-exports): importing
`stix.api` loads the task model and cluster code, which a price lookup does not need."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from stix.cli import render

if TYPE_CHECKING:
    from stix.catalog.gpus import GpuOffer, GpuSummary
    from stix.catalog.loader import Catalog
    from stix.catalog.summary import CloudSummary

catalog_app = typer.Typer(
    help="The price catalog: show it, import SkyPilot's, refresh it from the clouds.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    catalog_app.command("show")(show)
    catalog_app.command("check")(check)
    catalog_app.command("import")(import_catalog)
    catalog_app.command("update")(update)
    app.add_typer(catalog_app, name="catalog")
    app.command("show-gpus")(show_gpus)
    gpus_app = typer.Typer(help="GPUs the clouds sell (SkyPilot's `sky gpus`).",
                           no_args_is_help=True)
    gpus_app.command("list", help="Alias of `stix show-gpus`.")(show_gpus)
    app.add_typer(gpus_app, name="gpus")


def _print(renderable: object) -> None:
    """Tables are read whole: when piped, do not cut them to 80 columns."""
    console = render.console()
    if not console.is_terminal:
        from rich.console import Console

        console = Console(highlight=False, width=200)
    console.print(renderable)


def _note(text: str) -> None:
    from rich.markup import escape

    render.console().print(f"[dim]{escape(text)}[/]")


def _money(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value >= 1 else f"{value:.4f}"


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _update_dir(out: Path | None) -> Path:
    """Where update writes: --out, else $STIX_CATALOG_DIR, else the refreshed catalog
    ($STIX_HOME/prices), which is then the catalog in use."""
    import os

    from stix.catalog.refresh import prices_dir

    if out is not None:
        return out
    override = os.environ.get("STIX_CATALOG_DIR")
    return Path(override).expanduser() if override else prices_dir()


def _out_dir(out: Path | None) -> Path:
    """Where import/update write: --out, else the catalog dir in use when it is the
    user's ($STIX_CATALOG_DIR), else ~/.stix/catalog (never the shipped snapshot)."""
    import os

    from stix.paths import stix_home

    if out is not None:
        return out
    override = os.environ.get("STIX_CATALOG_DIR")
    return Path(override).expanduser() if override else stix_home() / "catalog"


def _after_write(out: Path, only: list[str] | None = None) -> list[str]:
    """Fill `out` up to a whole catalog (or, for an import, only the boot images of the
    clouds it wrote: `only`), and say how to use it."""
    from stix.catalog.loader import seed_directory
    from stix.paths import catalog_dir

    notes = []
    if only is None:
        copied = seed_directory(out)
        if copied:
            notes.append(f"copied from the catalog in use (their prices keep their own "
                         f"price_source): {', '.join(copied)}")
    else:
        copied = seed_directory(out, clouds=only, names=["images.csv"])
        if copied:
            notes.append(f"boot images from the catalog in use: {', '.join(copied)}")
        others = sorted(p.parent.name for p in out.glob("*/vms.csv") if p.parent.name not in only)
        absent = [c for c in _catalog_clouds() if c not in only and c not in others]
        if absent:
            notes.append(f"the import holds no {', '.join(absent)} rows (none were in the "
                         "source); nothing from another catalog was mixed in")
    current = catalog_dir()
    if not (current.exists() and out.resolve() == current.resolve()):
        notes.append(f"to use it: export STIX_CATALOG_DIR={out}")
    return notes


def _catalog_clouds() -> list[str]:
    from stix.catalog.skypilot import importable_clouds

    return list(importable_clouds())


def _reason_counts(reasons: list[str]) -> dict[str, int]:
    """Reasons with their figures taken out, counted: one line per kind of problem."""
    import re
    from collections import Counter

    return dict(Counter(re.sub(r"'[^']*'|\$?\d[\d.,]*", "…", r) for r in reasons))


# ---- stix catalog show ----------------------------------------------------------------------


def show(
    cloud: str | None = typer.Option(None, "--cloud", help="Only this cloud."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Summarize the catalog in use: rows, regions, accelerators and source per cloud."""
    from rich.table import Table

    from stix.catalog.loader import load_catalog
    from stix.catalog.refresh import maybe_refresh
    from stix.catalog.summary import catalog_summary
    from stix.errors import UsageError
    from stix.paths import catalog_dir

    refresh_note = maybe_refresh()
    catalog = load_catalog()
    rows = catalog_summary(catalog)
    if cloud is not None:
        rows = [r for r in rows if r.cloud == cloud]
        if not rows:
            have = ", ".join(catalog.clouds) or "no clouds"
            raise UsageError(f"--cloud {cloud}: not in the catalog (it has {have})")
    bad = [str(b) for b in catalog.bad_rows]
    if as_json:
        doc = {"directory": str(catalog_dir()), "clouds": [r.to_json() for r in rows],
               "bad_rows": bad}  # fmt: skip
        typer.echo(json.dumps(doc, indent=2))
        return 0
    table = Table(title=f"Catalog {catalog_dir()}")
    for name in ("CLOUD", "ROWS", "REGIONS", "ZONES", "TYPES", "SPOT ROWS", "PRICES", "SPOT",
                 "AS OF", "SUSPECT", "ACCELERATORS", "SOURCE"):  # fmt: skip
        right = name in ("ROWS", "REGIONS", "ZONES", "TYPES", "SPOT ROWS", "SUSPECT")
        table.add_column(name, justify="right" if right else "left")
    shipped = _is_snapshot(catalog_dir())
    for r in rows:
        source = r.source or ("the shipped snapshot" if shipped else "-")
        if r.written:
            source += f" ({r.written})"
        table.add_row(r.cloud, str(r.rows), str(r.regions), str(r.zones), str(r.instance_types),
                      str(r.spot_rows), _counts(r.prices), _counts(r.spot), _dates(r),
                      str(r.suspects), ", ".join(r.accelerators) or "-", source)  # fmt: skip
    _print(table)
    for line in _provenance_notes(rows):
        _note(line)
    if refresh_note:
        _note(refresh_note)
    for line in bad[:20]:
        render.error(f"bad row {line}")
    if len(bad) > 20:
        render.error(f"... and {len(bad) - 20} more bad rows")
    return 0


def _is_snapshot(directory: Path) -> bool:
    """Whether `directory` is the snapshot shipped with stix."""
    from stix.paths import _data_dir

    try:
        return directory.resolve() == _data_dir("catalog_data").resolve()
    except (OSError, FileNotFoundError):
        return False


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "-"


def _dates(r: CloudSummary) -> str:
    from stix.catalog.provenance import age

    if not r.newest:
        return "-"
    span = r.newest if r.oldest == r.newest else f"{r.oldest}…{r.newest}"
    return f"{span} ({age(r.newest)})"


def _provenance_notes(rows: list[CloudSummary]) -> list[str]:
    out = []
    for r in rows:
        estimated = r.prices.get("estimated", 0) + r.spot.get("estimated", 0)
        if estimated:
            out.append(f"{r.cloud}: {r.prices.get('estimated', 0)} on-demand and "
                       f"{r.spot.get('estimated', 0)} spot prices are estimated, not observed "
                       "(catalog_data/README.md says how); `stix catalog update` reads observed "
                       "ones")
        if r.suspects:
            out.append(f"{r.cloud}: {r.suspects} rows are suspect and never decide unless "
                       "pinned; `stix catalog check` lists them")
    return out


# ---- stix catalog check ----------------------------------------------------------------------


def check(
    cloud: str | None = typer.Option(None, "--cloud", help="Only this cloud."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """List the rows of the catalog in use that should not decide a placement (prices far
    below their other regions, spot above on-demand, shapes contradicting the type,
    duplicates) and the rows that could not be read. Exit 1 when there are any."""
    from stix.catalog.check import suspects
    from stix.catalog.loader import load_catalog
    from stix.errors import UsageError
    from stix.paths import catalog_dir

    catalog = load_catalog()
    if cloud is not None and cloud not in catalog.clouds:
        have = ", ".join(catalog.clouds) or "no clouds"
        raise UsageError(f"--cloud {cloud}: not in the catalog (it has {have})")
    offers = catalog.for_cloud(cloud) if cloud else catalog.offers
    found = suspects(offers)
    bad = [str(b) for b in catalog.bad_rows
           if cloud is None or f"/{cloud}/" in b.file]  # fmt: skip
    if as_json:
        typer.echo(json.dumps({"directory": str(catalog_dir()), "rows": len(offers),
                               "suspects": [s.to_json() for s in found], "bad_rows": bad},
                              indent=2))  # fmt: skip
        return 1 if found or bad else 0
    for s in found:
        render.error(f"suspect {s}")
    for line in bad:
        render.error(f"bad row {line}")
    if found or bad:
        _note(f"{len(found)} suspect and {len(bad)} unreadable rows of {len(offers)}; the "
              "optimizer skips suspect rows unless a task pins that instance_type and region")
        return 1
    render.ok(f"{len(offers)} rows, none suspect ({catalog_dir()})")
    return 0


# ---- stix catalog import --------------------------------------------------------------------


def import_catalog(
    kind: str = typer.Argument(..., metavar="FORMAT", help="Source format: skypilot."),
    source: Path = typer.Argument(..., metavar="DIR",
                                  help="Folder with <cloud>/vms.csv (SkyPilot's catalog)."),
    out: Path | None = typer.Option(None, "--out", help="Catalog folder to write "
                                    "(default: $STIX_CATALOG_DIR, else ~/.stix/catalog)."),
    cloud: list[str] = typer.Option([], "--cloud", help="Only these clouds (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Convert another tool's catalog into stix's format (bad rows are reported, not fatal)."""
    from stix.catalog.skypilot import import_skypilot
    from stix.errors import UsageError

    if kind != "skypilot":
        raise UsageError(f"catalog import {kind}: unknown format (supported: skypilot)")
    from stix.catalog.check import suspects
    from stix.catalog.loader import load_catalog

    target = _out_dir(out)
    result = import_skypilot(source, target, clouds=cloud or None)
    notes = [*result.notes, *_after_write(target, only=list(result.written))]
    written = load_catalog(target, clouds=list(result.written))
    distrusted = suspects(written.offers)
    bad = {"unreadable": _reason_counts([b.reason for b in result.bad]),
           "suspect": _reason_counts([s.reason for s in distrusted])}
    code = 1 if result.bad or distrusted else 0
    if as_json:
        typer.echo(json.dumps({**result.to_json(), "bad_counts": bad,
                               "suspects": [s.to_json() for s in distrusted], "notes": notes},
                              indent=2))  # fmt: skip
        return code
    for name, count in result.written.items():
        render.ok(f"{name}: {count} rows → {target / name / 'vms.csv'}")
    for reason, count in sorted(result.skipped.items()):
        _note(f"skipped {count}: {reason}")
    for bad_row in result.bad[:20]:
        render.error(f"bad row {bad_row}")
    for s in distrusted[:20]:
        render.error(f"suspect {s}")
    for kind, counts in bad.items():
        for reason, count in sorted(counts.items()):
            render.error(f"{count} {kind} rows: {reason}")
    for line in notes:
        _note(line)
    if code:
        render.error("the import has bad rows (left out) or suspect rows (kept, never chosen "
                     "unless pinned): see above, or `stix catalog check`")
    return code


# ---- stix catalog update --------------------------------------------------------------------


def update(
    cloud: list[str] = typer.Option([], "--cloud", help="Only these clouds (repeatable). "
                                    "Default: every cloud with a price source."),
    region: list[str] = typer.Option([], "--region", help="Only these regions (repeatable)."),
    out: Path | None = typer.Option(None, "--out", help="Catalog folder to write (default: "
                                    "$STIX_CATALOG_DIR, else ~/.stix/prices, then in use)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Refresh prices from the clouds' public price sources (needs network; a source that
    needs a key says which). Nothing is written unless every asked cloud succeeds."""
    from stix.catalog.update import update_catalog

    target = _update_dir(out)
    result = update_catalog(cloud or None, target, regions=region or None)
    notes = _after_write(target)
    if as_json:
        typer.echo(json.dumps({**result.to_json(), "notes": notes}, indent=2))
        return 0
    for r in result.results:
        render.ok(f"{r.cloud}: {len(r.offers)} rows from {r.source} → {target / r.cloud}")
        for reason, count in sorted(r.skipped.items()):
            _note(f"  skipped {count}: {reason}")
        for line in r.notes:
            _note(f"  {line}")
    for line in notes:
        _note(line)
    return 0


# ---- stix show-gpus -------------------------------------------------------------------------


def show_gpus(
    accelerator: str | None = typer.Argument(None, metavar="[NAME[:COUNT]]",
                                             help="One accelerator, e.g. A100 or A100:8."),
    cloud: str | None = typer.Option(None, "--cloud", help="Only this cloud."),
    region: str | None = typer.Option(None, "--region", help="Only this region."),
    all_rows: bool = typer.Option(False, "--all", "-a", help="Every region (with NAME), or "
                                  "every accelerator's offers (without)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> int:
    """Accelerators on offer, their counts, and the cheapest on-demand and spot $/h."""
    from stix.catalog.gpus import gpu_offers, gpu_summary, parse_gpu_filter
    from stix.catalog.loader import load_catalog
    from stix.catalog.refresh import maybe_refresh

    refresh_note = maybe_refresh()
    if refresh_note and not as_json:
        _note(refresh_note)
    catalog = load_catalog()
    if accelerator is None and not all_rows:
        summary = gpu_summary(catalog, cloud=cloud, region=region)
        if as_json:
            typer.echo(json.dumps([s.to_json() for s in summary], indent=2))
        else:
            _summary_table(summary)
            _cloud_notes(catalog, cloud, {c for s in summary for c in s.clouds})
            _note("`stix show-gpus NAME` shows where one is sold; --all lists every offer")
        return 0
    if accelerator is None:
        names = [s.name for s in gpu_summary(catalog, cloud=cloud, region=region)]
        offers = [o for n in names
                  for o in gpu_offers(catalog, n, cloud=cloud, region=region, all_regions=True)]
    else:
        name, count = parse_gpu_filter(accelerator)
        offers = gpu_offers(catalog, name, count, cloud=cloud, region=region,
                                all_regions=all_rows)  # fmt: skip
    if as_json:
        typer.echo(json.dumps([o.to_json() for o in offers], indent=2))
        return 0
    _offers_table(offers, grouped=accelerator is None)
    _cloud_notes(catalog, cloud, {o.cloud for o in offers})
    if accelerator is not None and not all_rows and region is None:
        _note("cheapest region per instance type; --all shows every region")
    return 0


def _cloud_notes(catalog: Catalog, only: str | None, clouds: set[str]) -> None:
    """What each cloud shown says of its rows (`Cloud.catalog_note`: an example snapshot)."""
    from stix.clouds import registry
    from stix.clouds.base import Cloud

    for name in sorted(clouds):
        provider = registry.get(name) if registry.served(name) else None
        if isinstance(provider, Cloud) and (only is None or only == name):
            said = provider.catalog_note(catalog.for_cloud(name))
            if said:
                _note(said)


def _summary_table(rows: list[GpuSummary]) -> None:
    from rich.table import Table

    table = Table(title="Accelerators on offer")
    table.add_column("NAME")
    table.add_column("COUNTS")
    table.add_column("MEMORY", justify="right")
    table.add_column("CLOUDS")
    table.add_column("FROM $/GPU·h", justify="right")
    table.add_column("SPOT $/GPU·h", justify="right")
    for r in rows:
        table.add_row(r.name, ", ".join(_count(c) for c in r.counts),
                      f"{_count(r.memory_gib)} GB" if r.memory_gib else "-", ", ".join(r.clouds),
                      _money(r.price_per_gpu), _money(r.spot_per_gpu))  # fmt: skip
    _print(table)


def _offers_table(rows: list[GpuOffer], grouped: bool) -> None:
    from rich.table import Table

    table = Table()
    for name in ("GPU", "QTY", "CLOUD", "INSTANCE TYPE", "vCPUs", "HOST MEM", "GPU MEM",
                 "$/h", "SPOT $/h", "REGION", "ZONES"):  # fmt: skip
        right = name in ("QTY", "vCPUs", "HOST MEM", "GPU MEM", "$/h", "SPOT $/h")
        table.add_column(name, justify="right" if right else "left")
    rows = sorted(rows, key=lambda r: (r.accelerator.lower(), r.count)) if grouped else rows
    for r in rows:
        zones = ", ".join(r.zones)
        table.add_row(r.accelerator, _count(r.count), r.cloud, r.instance_type, _count(r.vcpus),
                      f"{_count(r.memory_gib)} GB",
                      f"{_count(r.accelerator_memory_gib)} GB" if r.accelerator_memory_gib else "-",
                      _money(r.price), _money(r.spot_price), r.region, zones or "-")  # fmt: skip
    _print(table)
