"""What `stix catalog show` reports: per cloud, how much the catalog in use holds and
where its rows came from."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from stix.catalog.loader import SOURCE_FILE, Catalog, catalog_files


@dataclass(frozen=True)
class CloudSummary:
    cloud: str
    rows: int
    regions: int
    zones: int
    instance_types: int
    accelerators: tuple[str, ...]
    spot_rows: int
    file: str
    source: str | None  # from source.json beside the file, when there is one
    written: str | None
    prices: dict[str, int]  # price_source → rows
    spot: dict[str, int]  # spot_source → rows (none: no spot market)
    oldest: str | None  # the earliest and latest as_of of the rows
    newest: str | None
    suspects: int  # rows `stix catalog check` distrusts

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def catalog_summary(catalog: Catalog, directory: Path | None = None) -> list[CloudSummary]:
    files = {p.parent.name: p for p in catalog_files(directory)}
    out = []
    for cloud in catalog.clouds:
        offers = catalog.for_cloud(cloud)
        dates = [o.as_of for o in offers if o.as_of]
        path = files.get(cloud)
        meta: dict[str, object] = {}
        if path is not None and (path.parent / SOURCE_FILE).is_file():
            try:
                loaded = json.loads((path.parent / SOURCE_FILE).read_text(encoding="utf-8"))
                meta = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                meta = {}
        out.append(CloudSummary(
            cloud=cloud, rows=len(offers), regions=len({o.region for o in offers}),
            zones=len({o.zone for o in offers if o.zone}),
            instance_types=len({o.instance_type for o in offers}),
            accelerators=tuple(sorted({o.accelerator for o in offers if o.accelerator})),
            spot_rows=sum(1 for o in offers if o.spot_price is not None),
            file=str(path) if path else "", source=_text(meta.get("source")),
            written=_text(meta.get("written")),
            prices=dict(Counter(o.price_source for o in offers)),
            spot=dict(Counter(o.spot_origin for o in offers)),
            oldest=min(dates) if dates else None, newest=max(dates) if dates else None,
            suspects=sum(1 for o in offers if o.suspect),
        ))  # fmt: skip
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)
