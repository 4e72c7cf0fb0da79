"""Writes catalog_data/<cloud>/vms.csv and images.csv from the fact files beside it.

    python catalog_data/_build/gen.py           # rewrite the CSVs
    python catalog_data/_build/gen.py --check   # exit 1 if the CSVs differ from the facts

Not part of the stix package: the CSVs are the artifact; this keeps them reproducible.
Everything is deterministic (spot prices come from a hash, not a random generator).
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from facts_aws import AWS, AWS_FACTORS, AWS_ZONES
from facts_azure import AZURE, AZURE_FACTORS, AZURE_REGIONS
from facts_gcp import GCP, GCP_ATTACH, GCP_FACTORS, GCP_ZONES, N1_BY_NAME
from facts_images import IMAGE_COLUMNS, IMAGES
from model import ACC_MEMORY, Family, Shape

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("instance_type", "vcpus", "memory_gib", "accelerator", "accelerator_count",
           "accelerator_memory_gib", "region", "zone", "price", "spot_price", "arch")  # fmt: skip

Row = tuple[str, ...]


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
            num(count, 3) if acc else "0", num(ACC_MEMORY[acc], 3) if acc else "",
            region, zone, num(price), spot_text, shape.arch)  # fmt: skip


def places(family: Family, zones: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(region, zone suffixes) where the family is sold."""
    where = family.where if family.where is not None else zones
    yield from where.items()


def aws_rows() -> Iterator[Row]:
    for fam in AWS:
        for region, suffixes in places(fam, AWS_ZONES):
            assert set(suffixes) <= set(AWS_ZONES[region]), (region, suffixes)
            factor = AWS_FACTORS[region][1 if fam.gpu else 0]
            for shape in fam.shapes:
                price = shape.price * factor
                for s in suffixes:
                    zone = region + s
                    spot = None
                    if fam.spot and region not in fam.no_spot_regions:
                        spot = price * (1 - discount(fam.spot, "aws", shape.name, zone))
                    yield row(shape, region, zone, price, spot)


def gcp_rows() -> Iterator[Row]:
    for fam in GCP:
        for region, suffixes in places(fam, GCP_ZONES):
            assert set(suffixes) <= set(GCP_ZONES[region]), (region, suffixes)
            factor = GCP_FACTORS[region][1 if fam.gpu else 0]
            for shape in fam.shapes:
                price = shape.price * factor
                spot = None
                if fam.spot:  # GCP sets spot prices per region
                    spot = price * (1 - discount(fam.spot, "gcp", shape.name, region))
                for s in suffixes:
                    yield row(shape, region, region + "-" + s, price, spot)
    n1_spot = next(f.spot for f in GCP if f.shapes[0].name.startswith("n1-"))
    assert n1_spot is not None
    for att in GCP_ATTACH:
        for region, suffixes in att.where.items():
            assert set(suffixes) <= set(GCP_ZONES[region]), (region, suffixes)
            cpu_f, gpu_f = GCP_FACTORS[region]
            acc_price = att.price * gpu_f
            acc_spot = acc_price * (1 - discount(att.spot, "gcp", att.acc, region))
            for count, hosts in att.hosts.items():
                for host_name in hosts:
                    host = N1_BY_NAME[host_name]
                    host_price = host.price * cpu_f
                    host_spot = host_price * (1 - discount(n1_spot, "gcp", host.name, region))
                    price = host_price + count * acc_price
                    spot = host_spot + count * acc_spot
                    for s in suffixes:
                        yield row(host, region, region + "-" + s, price, spot, att.acc, count)


def azure_rows() -> Iterator[Row]:
    everywhere = dict.fromkeys(AZURE_REGIONS, "")
    for fam in AZURE:
        for region, _ in places(fam, everywhere):
            assert region in everywhere, region
            factor = AZURE_FACTORS[region][1 if fam.gpu else 0]
            for shape in fam.shapes:
                price = shape.price * factor
                spot = None
                if fam.spot and region not in fam.no_spot_regions:
                    spot = price * (1 - discount(fam.spot, "azure", shape.name, region))
                yield row(shape, region, "", price, spot)


def sort_key(r: Row) -> tuple[str, str, float, str, str]:
    """The order rows are written in (documented in catalog_data/README.md)."""
    return (r[0], r[3], float(r[4]), r[6], r[7])


def render(header: tuple[str, ...], rows: list[Row]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def outputs() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for cloud, rows in (("aws", aws_rows()), ("gcp", gcp_rows()), ("azure", azure_rows())):
        table = sorted(rows, key=sort_key)
        keys = [(r[0], r[6], r[7], r[3], r[4]) for r in table]
        assert len(keys) == len(set(keys)), f"duplicate rows in {cloud}"
        files[ROOT / cloud / "vms.csv"] = render(COLUMNS, table)
        files[ROOT / cloud / "images.csv"] = render(IMAGE_COLUMNS, sorted(IMAGES[cloud]))
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[str] = []
    for path, text in outputs().items():
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"{path.relative_to(ROOT.parent)}: {text.count(chr(10)) - 1} rows")
    for name in stale:
        print(f"out of date: {name}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
