"""`stix catalog import skypilot DIR`: SkyPilot's public catalog → stix's catalog format.

SkyPilot keeps one `<cloud>/vms.csv` per cloud with per-cloud column sets (FACTS.md).
Two things need care: GCP lists GPUs on rows of their own (no machine type, GPU price
only) that become offerings only when paired with a host VM row (`gcp_pairing`), and
some copies carry unquoted commas inside a field (Azure `Generation` "V1,V2", GpuInfo).
A row that cannot be read is reported with its file and line; the import goes on.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stix.catalog import gcp_pairing as pairing
from stix.catalog.hardware import (
    accelerator_memory,
    infer_arch,
    normalize_arch,
    parse_gpu_memory_mib,
)
from stix.catalog.loader import BadRow
from stix.catalog.schema import Offer

CLOUDS = ("aws", "gcp", "azure")
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
    """SkyPilot rows of one cloud → complete stix offerings (GCP GPUs paired with hosts)."""
    if cloud == "gcp":
        return _convert_gcp(list(rows), skipped)
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


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


def _convert_gcp(rows: list[SkyRow], skipped: Counter[str]) -> list[Offer]:
    vms: list[SkyRow] = []
    gpus: list[SkyRow] = []
    for r in rows:
        if r.instance_type:
            if r.vcpus is None or r.memory_gib is None:
                skipped["no vCPU or memory figure"] += 1
            elif r.price is None:
                skipped["no on-demand price"] += 1
            else:
                vms.append(r)
        elif r.accelerator and r.accelerator.startswith("tpu-"):
            skipped["TPU (not supported by stix yet)"] += 1
        elif r.accelerator and r.price is not None:
            gpus.append(r)
        else:
            skipped["GPU row without a price"] += 1
    out: list[Offer] = []
    by_zone: dict[tuple[str, str | None], list[SkyRow]] = {}
    for vm in vms:
        by_zone.setdefault((vm.region, vm.zone), []).append(vm)
        if not pairing.is_bundled_family(vm.instance_type):
            out.append(_offer("gcp", vm, vm.instance_type, vm.vcpus or 0, vm.memory_gib or 0,
                              vm.price or 0, vm.spot_price))
    for gpu in gpus:
        acc = gpu.accelerator or ""
        hosts = [vm for vm in by_zone.get((gpu.region, gpu.zone), [])
                 if _hosts(vm, acc, gpu.count)]  # fmt: skip
        if not hosts:
            skipped[f"no host machine for {acc}:{gpu.count:g} in its zone"] += 1
        for vm in hosts:
            price = (vm.price or 0) + (gpu.price or 0)
            spot = _add(vm.spot_price, gpu.spot_price)
            out.append(_offer("gcp", vm, vm.instance_type, vm.vcpus or 0, vm.memory_gib or 0,
                              price, spot, acc, gpu.count, gpu.accelerator_memory_gib))
    return out


def _hosts(vm: SkyRow, accelerator: str, count: float) -> bool:
    bundle = pairing.bundled_accelerator(vm.instance_type)
    if bundle is not None:
        return bundle.accelerator == accelerator and bundle.count == count
    return (pairing.attaches_to_n1(accelerator) and pairing.is_n1(vm.instance_type)
            and pairing.n1_host_fits(accelerator, count, vm.vcpus or 0, vm.memory_gib or 0))


_AWS_ZONE_ID = re.compile(r"^[a-z]+\d+-az\d+$")


def read_az_mappings(path: Path) -> dict[str, str]:
    """SkyPilot's `aws/az_mappings.csv` (AvailabilityZoneName, AvailabilityZone): id → name."""
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return {r["AvailabilityZone"].strip(): r["AvailabilityZoneName"].strip()
                for r in csv.DictReader(fh)
                if r.get("AvailabilityZone") and r.get("AvailabilityZoneName")}  # fmt: skip


def resolve_aws_zones(rows: list[SkyRow], mapping: dict[str, str]) -> tuple[list[SkyRow], int]:
    """SkyPilot's AWS rows name zones by id (use1-az1), which maps to a zone name per
    account. Map the ids `mapping` knows; rows of the others fold into one zone-less row
    per instance type and region (cheapest prices), which launches in any zone.
    Returns the rows and how many zone ids could not be mapped."""
    out: list[SkyRow] = []
    folded: dict[tuple[str, str], SkyRow] = {}
    unmapped = 0
    for r in rows:
        if r.zone is None or not _AWS_ZONE_ID.match(r.zone):
            out.append(r)
        elif r.zone in mapping:
            out.append(dataclasses.replace(r, zone=mapping[r.zone]))
        else:
            unmapped += 1
            key = (r.instance_type, r.region)
            prev = folded.get(key)
            if prev is None:
                folded[key] = dataclasses.replace(r, zone=None)
            else:
                folded[key] = dataclasses.replace(prev, price=_min(prev.price, r.price),
                                                  spot_price=_min(prev.spot_price, r.spot_price))
    return out + list(folded.values()), unmapped


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def import_skypilot(source: Path, out: Path, clouds: Iterable[str] | None = None) -> ImportResult:
    """Convert `<source>/<cloud>/vms.csv` for each cloud found into `<out>/<cloud>/vms.csv`."""
    from stix.catalog.loader import write_cloud_csv
    from stix.errors import NotFoundError, UsageError

    source = Path(source)
    wanted = tuple(clouds) if clouds else CLOUDS
    unknown = [c for c in wanted if c not in CLOUDS]
    if unknown:
        raise UsageError(f"cannot import cloud {', '.join(unknown)}: "
                         f"stix imports {', '.join(CLOUDS)}")
    if not source.is_dir():
        raise NotFoundError(f"{source}: no such directory (expected SkyPilot's catalog folder)")
    found = [(c, source / c / "vms.csv") for c in wanted if (source / c / "vms.csv").is_file()]
    if not found:
        raise NotFoundError(f"{source}: no <cloud>/vms.csv for {', '.join(wanted)}",
                            hint="point at the folder holding aws/, gcp/ and azure/")
    result = ImportResult(out=Path(out))
    for cloud, path in found:
        rows, bad = read_skypilot_csv(cloud, path)
        result.bad.extend(bad)
        if cloud == "aws":
            mapping = read_az_mappings(path.parent / "az_mappings.csv")
            rows, unmapped = resolve_aws_zones(rows, mapping)
            if unmapped:
                result.notes.append(
                    f"aws: {unmapped} rows name a zone id (like use1-az1) that "
                    f"{path.parent / 'az_mappings.csv'} does not map to a zone name; "
                    "they were folded into zone-less rows per region")
        offers = convert_rows(cloud, rows, result.skipped)
        write_cloud_csv(result.out, cloud, offers, source=f"skypilot catalog {path}")
        result.written[cloud] = len(offers)
    return result
