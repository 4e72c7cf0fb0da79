"""Loading catalog CSVs with the standard library, once per process, indexed for queries."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stix.catalog.schema import COLUMNS, Offer


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def _float(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None


def _opt_float(text: str, name: str) -> float | None:
    return None if text.strip() == "" else _float(text, name)


def parse_row(cloud: str, row: list[str]) -> Offer:
    if len(row) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} fields, got {len(row)}")
    v = dict(zip(COLUMNS, row, strict=True))
    price = _float(v["price"], "price")
    spot = _opt_float(v["spot_price"], "spot_price")
    if price < 0 or (spot is not None and spot < 0):
        raise ValueError("negative price")
    if not v["instance_type"] or not v["region"]:
        raise ValueError("instance_type and region are required")
    count = _opt_float(v["accelerator_count"], "accelerator_count") or 0.0
    return Offer(
        cloud=cloud,
        instance_type=v["instance_type"],
        vcpus=_float(v["vcpus"], "vcpus"),
        memory_gib=_float(v["memory_gib"], "memory_gib"),
        accelerator=v["accelerator"] or None,
        accelerator_count=count if v["accelerator"] else 0.0,
        accelerator_memory_gib=_opt_float(v["accelerator_memory_gib"], "accelerator_memory_gib"),
        region=v["region"],
        zone=v["zone"] or None,
        price=price,
        spot_price=spot,
        arch=v["arch"] or "x86_64",
    )


def read_cloud_csv(cloud: str, path: Path) -> tuple[list[Offer], list[BadRow]]:
    offers: list[Offer] = []
    bad: list[BadRow] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            return [], [BadRow(str(path), 1, f"header must be: {','.join(COLUMNS)}")]
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            try:
                offers.append(parse_row(cloud, row))
            except ValueError as exc:
                bad.append(BadRow(str(path), reader.line_num, str(exc)))
    return offers, bad


@dataclass
class Catalog:
    """All offers of the loaded clouds, indexed by cloud and by accelerator name."""

    offers: list[Offer]
    bad_rows: list[BadRow] = field(default_factory=list)
    _by_cloud: dict[str, list[Offer]] = field(default_factory=dict, repr=False)
    _by_accelerator: dict[str | None, list[Offer]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        by_cloud: dict[str, list[Offer]] = defaultdict(list)
        by_acc: dict[str | None, list[Offer]] = defaultdict(list)
        for offer in self.offers:
            by_cloud[offer.cloud].append(offer)
            by_acc[offer.accelerator].append(offer)
        self._by_cloud = dict(by_cloud)
        self._by_accelerator = dict(by_acc)

    @property
    def clouds(self) -> list[str]:
        return sorted(self._by_cloud)

    def for_cloud(self, cloud: str) -> Sequence[Offer]:
        return self._by_cloud.get(cloud, [])

    def with_accelerator(self, name: str | None) -> Sequence[Offer]:
        """Offers carrying accelerator `name` (None: offers with no accelerator)."""
        return self._by_accelerator.get(name, [])

    def accelerator_names(self) -> list[str]:
        return sorted(n for n in self._by_accelerator if n)


def load_catalog(directory: Path | None = None, clouds: Iterable[str] | None = None) -> Catalog:
    """Read `<directory>/<cloud>/vms.csv` for every cloud present (or those asked for)."""
    from stix.paths import catalog_dir

    root = Path(directory) if directory is not None else catalog_dir()
    wanted = set(clouds) if clouds is not None else None
    offers: list[Offer] = []
    bad: list[BadRow] = []
    for path in sorted(root.glob("*/vms.csv")):
        cloud = path.parent.name
        if wanted is not None and cloud not in wanted:
            continue
        got, rejected = read_cloud_csv(cloud, path)
        offers.extend(got)
        bad.extend(rejected)
    return Catalog(offers, bad)
