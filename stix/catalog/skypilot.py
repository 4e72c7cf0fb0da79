"""`stix catalog import skypilot DIR`: SkyPilot's public catalog → stix's catalog format.

SkyPilot keeps one `<cloud>/vms.csv` per cloud with per-cloud column sets. The rows are
read here; turning them into offerings is each cloud's `from_skypilot` (a cloud may list
GPUs on rows of their own to pair with host VMs, or name zones by id). Some copies carry
unquoted commas inside a field (a `Generation` "V1,V2", GpuInfo): those are mended.
A row that cannot be read is reported with its file and line; the import goes on.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stix.catalog.hardware import (
    accelerator_memory,
    infer_arch,
    normalize_arch,
    parse_gpu_memory_mib,
)
from stix.catalog.loader import BadRow
from stix.catalog.schema import ESTIMATED, Offer


def importable_clouds() -> tuple[str, ...]:
    """The clouds whose machines come from a price catalog: those SkyPilot's files can feed."""
    from stix.clouds import registry

    return tuple(c.name for c in registry.all_clouds() if c.capabilities.uses_catalog)

_REQUIRED = ("InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB",
             "Price", "SpotPrice", "Region")  # fmt: skip
# Columns whose text may hold commas that a careless writer left unquoted.
_FREE_TEXT = ("GpuInfo", "Generation")


@dataclass(frozen=True)
class SkyRow:
    """One SkyPilot row, typed; GCP GPU rows have an empty instance_type."""

    line: int
    instance_type: str
    vcpus: float | None
    memory_gib: float | None
    accelerator: str | None
    count: float
    accelerator_memory_gib: float | None
    region: str
    zone: str | None
    price: float | None
    spot_price: float | None
    arch: str


@dataclass
class ImportResult:
    """What an import wrote and what it left out (bad rows, and skips by reason)."""

    out: Path
    written: dict[str, int] = field(default_factory=dict)
    bad: list[BadRow] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"out": str(self.out), "written": self.written,
                "bad_rows": [str(b) for b in self.bad], "skipped": dict(self.skipped),
                "notes": self.notes}  # fmt: skip


def _num(text: str, name: str) -> float | None:
    text = text.strip()
    if not text or text.lower() == "nan":
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None


def _typed(cloud: str, line: int, v: dict[str, str]) -> SkyRow:
    from stix.task.values import canonical_accelerator

    acc_text = v.get("AcceleratorName", "").strip()
    acc = canonical_accelerator(acc_text) if acc_text and acc_text.lower() != "nan" else None
    count = _num(v.get("AcceleratorCount", ""), "AcceleratorCount") or 0.0
    if acc is not None and count <= 0:
        raise ValueError(f"AcceleratorCount: {acc} needs a positive count")
    mib = parse_gpu_memory_mib(v.get("GpuInfo", ""))
    acc_mem = round(mib / 1024, 3) if mib else accelerator_memory(acc)
    itype = v.get("InstanceType", "").strip()
    arch_text = v.get("Arch", "")
    arch = normalize_arch(arch_text) if arch_text.strip() else infer_arch(cloud, itype)
    if arch is None:
        raise ValueError(f"Arch: {arch_text!r} is not a known architecture")
    region = v.get("Region", "").strip()
    if not region:
        raise ValueError("Region is empty")
    price, spot = _num(v.get("Price", ""), "Price"), _num(v.get("SpotPrice", ""), "SpotPrice")
    if (price is not None and price < 0) or (spot is not None and spot < 0):
        raise ValueError("negative price")
    return SkyRow(line, itype, _num(v.get("vCPUs", ""), "vCPUs"),
                  _num(v.get("MemoryGiB", ""), "MemoryGiB"), acc, count if acc else 0.0,
                  acc_mem if acc else None, region,
                  v.get("AvailabilityZone", "").strip() or None, price, spot, arch)  # fmt: skip


def _mend(header: list[str], row: list[str]) -> list[list[str]]:
    """Ways to read a row with too many fields: one free-text column took the extras."""
    extra = len(row) - len(header)
    out = []
    for name in _FREE_TEXT:
        if name in header:
            i = header.index(name)
            out.append([*row[:i], ",".join(row[i : i + extra + 1]), *row[i + extra + 1 :]])
    return out


def read_skypilot_csv(cloud: str, path: Path) -> tuple[list[SkyRow], list[BadRow]]:
    """Every readable row of one SkyPilot `vms.csv`, and each unreadable one with its line."""
    rows: list[SkyRow] = []
    bad: list[BadRow] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            why = f"not a SkyPilot catalog: no column {', '.join(missing)}"
            return [], [BadRow(str(path), 1, why)]
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) < len(header):
                bad.append(BadRow(str(path), line, f"{len(fields)} fields, expected {len(header)}"))
                continue
            tries = [fields] if len(fields) == len(header) else _mend(header, fields)
            error = f"{len(fields)} fields, expected {len(header)} (unquoted comma?)"
            for attempt in tries:
                try:
                    rows.append(_typed(cloud, line, dict(zip(header, attempt, strict=True))))
                    break
                except ValueError as exc:
                    error = str(exc) if len(tries) == 1 else error
            else:
                bad.append(BadRow(str(path), line, error))
    return rows, bad


def _offer(cloud: str, r: SkyRow, itype: str, vcpus: float, mem: float, price: float,
           spot: float | None, acc: str | None = None, count: float = 0.0,
           acc_mem: float | None = None) -> Offer:  # fmt: skip
    return Offer(cloud, itype, vcpus, mem, acc, count, acc_mem, r.region, r.zone, round(price, 6),
                 None if spot is None else round(spot, 6), r.arch)  # fmt: skip


def convert_rows(cloud: str, rows: Iterable[SkyRow], skipped: Counter[str]) -> list[Offer]:
    """SkyPilot rows of one cloud → stix offerings, one machine per row (the rule for
    clouds whose rows are whole machines; a cloud whose rows are not overrides
    `Cloud.from_skypilot`)."""
    out = []
    for r in rows:
        if not r.instance_type:
            skipped["row without an instance type"] += 1
        elif r.price is None:
            skipped["no on-demand price"] += 1
        elif r.vcpus is None or r.memory_gib is None:
            skipped["no vCPU or memory figure"] += 1
        else:
            out.append(_offer(cloud, r, r.instance_type, r.vcpus, r.memory_gib, r.price,
                              r.spot_price, r.accelerator, r.count, r.accelerator_memory_gib))
    return out


def _file_date(path: Path) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).date().isoformat()


def import_skypilot(source: Path, out: Path, clouds: Iterable[str] | None = None) -> ImportResult:
    """Convert `<source>/<cloud>/vms.csv` for each cloud found into `<out>/<cloud>/vms.csv`."""
    from stix.catalog.loader import write_cloud_csv
    from stix.clouds import registry
    from stix.errors import NotFoundError, UsageError

    importable = importable_clouds()
    source = Path(source)
    wanted = tuple(clouds) if clouds else importable
    unknown = [c for c in wanted if c not in importable]
    if unknown:
        raise UsageError(f"cannot import cloud {', '.join(unknown)}: "
                         f"stix imports {', '.join(importable)}")
    if not source.is_dir():
        raise NotFoundError(f"{source}: no such directory (expected SkyPilot's catalog folder)")
    found = [(c, source / c / "vms.csv") for c in wanted if (source / c / "vms.csv").is_file()]
    if not found:
        raise NotFoundError(f"{source}: no <cloud>/vms.csv for {', '.join(wanted)}",
                            hint=f"point at the folder holding {'/, '.join(importable)}/")
    result = ImportResult(out=Path(out))
    for cloud, path in found:
        rows, bad = read_skypilot_csv(cloud, path)
        result.bad.extend(bad)
        offers = registry.cloud(cloud).from_skypilot(rows, path.parent, result.skipped,
                                                     result.notes)
        # Another tool read these prices, not stix: `estimated`, dated by the file.
        as_of = _file_date(path)
        offers = [o._replace(price_source=ESTIMATED, spot_source=ESTIMATED, as_of=as_of)
                  for o in offers]  # fmt: skip
        write_cloud_csv(result.out, cloud, offers, source=f"skypilot catalog {path}")
        result.written[cloud] = len(offers)
    return result
