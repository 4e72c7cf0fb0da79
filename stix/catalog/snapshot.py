"""The shipped catalog snapshot: the vocabulary each cloud's facts are written in
(`stix/clouds/<name>/snapshot.py`), the rules that expand them into rows, and the writer
(`python catalog_data/_build/gen.py [--check]`).

The facts are written down by hand (snapshot 2026-11). Prices are on-demand list prices,
USD/h, Linux, in each cloud's reference region; other regions are priced by a per-region
factor (CPU and GPU factors differ). Spot discounts are ranges per family; a
deterministic point in the range is picked per zone or per region (the level at which
each cloud sets them). No stix fetcher read any of these figures, so every row says
`estimated` (the methods are in catalog_data/README.md); `stix catalog update` writes
observed ones.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stix.catalog.hardware import ACCELERATOR_MEMORY_GIB
from stix.catalog.schema import COLUMNS, ESTIMATED, NONE

Row = tuple[str, ...]
# When the snapshot's facts were written down (the `as_of` of its estimated rows).
SNAPSHOT_DATE = "2026-11"
IMAGE_COLUMNS = ("tag", "region", "os", "image_ref", "notes")
Image = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Shape:
    """One instance type: its size, what it carries, and its reference-region price."""

    name: str
    vcpus: float
    memory: float
    price: float
    acc: str = ""
    count: float = 0
    arch: str = "x86_64"


@dataclass(frozen=True)
class Family:
    """Shapes sold together in the same places, with one spot discount range.

    `where` maps region -> zone suffixes ("abc"); None means every region/zone of the
    cloud. `spot` is (min, max) fraction off on-demand; None means no spot market.
    `gpu` selects the GPU regional factor instead of the CPU one.
    """

    shapes: tuple[Shape, ...]
    spot: tuple[float, float] | None
    where: dict[str, str] | None = None
    gpu: bool = False
    no_spot_regions: frozenset[str] = field(default_factory=frozenset)


def sized(prefix: str, sizes: Mapping[str, float], mem_per_vcpu: float, per_vcpu: float,
          arch: str = "x86_64", fmt: str = "{prefix}.{size}") -> tuple[Shape, ...]:
    """A CPU family priced linearly per vCPU, as the clouds price within a family."""
    return tuple(
        Shape(fmt.format(prefix=prefix, size=size), n, n * mem_per_vcpu, n * per_vcpu,
              arch=arch)
        for size, n in sizes.items()
    )




@dataclass(frozen=True)
class Attach:
    """A GPU that attaches to N1 hosts (GCP): one row per (host, count) pairing.

    `hosts` maps GPU count -> the N1 machine types that make a sensible pairing (within
    GCP's vCPU/memory limits for that count). The row is priced host + count x `price`.
    """

    acc: str
    price: float
    spot: tuple[float, float]
    hosts: dict[int, tuple[str, ...]]
    where: dict[str, str]


def unit(*key: str) -> float:
    """A stable number in [0, 1) for `key`: the same on every run and every machine."""
    digest = hashlib.sha256("\x1f".join(key).encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def discount(rng: tuple[float, float], *key: str) -> float:
    lo, hi = rng
    return lo + (hi - lo) * unit(*key)


def num(value: float, places: int = 4) -> str:
    text = f"{round(value, places):.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def row(shape: Shape, region: str, zone: str, price: float, spot: float | None,
        acc: str = "", count: float = 0) -> Row:
    acc = acc or shape.acc
    count = count or shape.count
    price = round(price, 4)
    spot_text = ""
    if spot is not None:
        # Never at or above on-demand, never zero, after rounding.
        spot_text = num(min(max(spot, 0.0001), price - 0.0001))
    return (shape.name, num(shape.vcpus, 3), num(shape.memory, 3), acc,
            num(count, 3) if acc else "0", num(ACCELERATOR_MEMORY_GIB[acc], 3) if acc else "",
            region, zone, num(price), spot_text, shape.arch, ESTIMATED,
            ESTIMATED if spot_text else NONE, SNAPSHOT_DATE)  # fmt: skip


def places(family: Family, zones: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(region, zone suffixes) where the family is sold."""
    where = family.where if family.where is not None else zones
    yield from where.items()


def sort_key(r: Row) -> tuple[str, str, float, str, str]:
    """The order rows are written in (documented in catalog_data/README.md)."""
    return (r[0], r[3], float(r[4]), r[6], r[7])


def render(header: tuple[str, ...], rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def outputs(root: Path) -> dict[Path, str]:
    """Every snapshot file under `root` (`<cloud>/vms.csv` and `images.csv`)."""
    import importlib

    from stix.clouds import registry

    files: dict[Path, str] = {}
    for cloud in registry.all_clouds():
        if cloud.snapshot is None:
            continue
        facts = importlib.import_module(cloud.snapshot)
        table = sorted(facts.rows(), key=sort_key)
        keys = [(r[0], r[6], r[7], r[3], r[4]) for r in table]
        assert len(keys) == len(set(keys)), f"duplicate rows in {cloud.name}"
        files[root / cloud.name / "vms.csv"] = render(COLUMNS, table)
        files[root / cloud.name / "images.csv"] = render(IMAGE_COLUMNS, sorted(facts.IMAGES))
    return files


def main(root: Path, argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[str] = []
    for path, text in outputs(root).items():
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"{path.relative_to(root.parent)}: {text.count(chr(10)) - 1} rows")
    for name in stale:
        print(f"out of date: {name}", file=sys.stderr)
    return 1 if stale else 0
