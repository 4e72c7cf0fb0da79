"""What moving data out of a cloud costs, $/GB: `<catalog>/<cloud>/egress.csv`.

Two kinds per cloud: `internet` (out to the internet, which is how data reaches another
cloud) and `inter_region` (to another region of the same cloud). Ingress is free on the
clouds priced here, so a transfer is priced by where the data leaves. A catalog folder
without the file (an imported or refreshed one) falls back to the shipped snapshot's; a
cloud with neither has no egress price, and the optimizer says so rather than guess.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from stix.errors import StixError

COLUMNS = ("kind", "usd_per_gb", "price_source", "as_of", "source")
KINDS = ("internet", "inter_region")


@dataclass(frozen=True)
class EgressPrice:
    """One rate, with where it came from (the catalog's price rules: source and date)."""

    cloud: str
    kind: str
    usd_per_gb: float
    price_source: str
    as_of: str
    source: str


def _files(cloud: str) -> list[Path]:
    from stix.paths import catalog_dir, shipped_catalog_dir

    return [catalog_dir() / cloud / "egress.csv", shipped_catalog_dir() / cloud / "egress.csv"]


@cache
def _read(path: Path) -> dict[str, EgressPrice]:
    cloud = path.parent.name
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = tuple(next(reader, ()))
        if header != COLUMNS:
            raise StixError(f"{path}: header must be {','.join(COLUMNS)}")
        out: dict[str, EgressPrice] = {}
        for n, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(COLUMNS) or row[0] not in KINDS:
                raise StixError(f"{path}:{n}: expected {len(COLUMNS)} fields with kind one "
                                f"of {', '.join(KINDS)}")
            try:
                price = float(row[1])
            except ValueError:
                raise StixError(f"{path}:{n}: usd_per_gb {row[1]!r} is not a number") from None
            if price < 0 or not row[3] or not row[4]:
                raise StixError(f"{path}:{n}: a price needs a non-negative rate, a date "
                                "(as_of) and a source")
            out[row[0]] = EgressPrice(cloud, row[0], price, row[2], row[3], row[4])
    return out


def egress_price(cloud: str, kind: str) -> EgressPrice | None:
    """The `kind` rate for data leaving `cloud` (None: the catalog has none)."""
    for path in _files(cloud):
        if path.is_file():
            return _read(path).get(kind)
    return None
