"""AWS rows of SkyPilot's catalog: zones named by id (use1-az1) mapped to zone names."""

from __future__ import annotations

import csv
import dataclasses
import re
from collections import Counter
from pathlib import Path

from stix.catalog.schema import Offer
from stix.catalog.skypilot import SkyRow, convert_rows

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


def convert(rows: list[SkyRow], folder: Path, skipped: Counter[str],
            notes: list[str]) -> list[Offer]:
    mapping = read_az_mappings(folder / "az_mappings.csv")
    rows, unmapped = resolve_aws_zones(rows, mapping)
    if unmapped:
        notes.append(f"aws: {unmapped} rows name a zone id (like use1-az1) that "
                     f"{folder / 'az_mappings.csv'} does not map to a zone name; they were "
                     "folded into zone-less rows per region")
    return convert_rows("aws", rows, skipped)
