"""Writing catalog files: `vms.csv` rows in the documented order, with `source.json`
beside them, atomically; and filling a new catalog folder from another one."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

from stix.catalog.schema import COLUMNS, Offer

SOURCE_FILE = "source.json"


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(round(float(value), 6))


def offer_fields(offer: Offer) -> list[str]:
    """One offer as the text fields of a `vms.csv` row (column order of COLUMNS)."""
    return [offer.instance_type, _fmt(offer.vcpus), _fmt(offer.memory_gib),
            offer.accelerator or "", _fmt(offer.accelerator_count) if offer.accelerator else "0",
            _fmt(offer.accelerator_memory_gib), offer.region, offer.zone or "",
            _fmt(offer.price), _fmt(offer.spot_price), offer.arch, offer.price_source,
            offer.spot_origin, offer.as_of]  # fmt: skip


def write_cloud_csv(root: Path, cloud: str, offers: Iterable[Offer], *, source: str) -> Path:
    """Write `<root>/<cloud>/vms.csv` (sorted, deduplicated) and its `source.json`, atomically.

    Readers never see a half-written file: each is written beside its target and renamed
    over it. `source.json` records where the rows came from and when.
    """
    import io
    import json
    from datetime import datetime, timezone

    folder = Path(root) / cloud
    folder.mkdir(parents=True, exist_ok=True)
    rows = sorted({tuple(offer_fields(o)) for o in offers},
                  key=lambda r: (r[0], r[6], r[7], r[3], r))  # fmt: skip
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    meta = {"cloud": cloud, "source": source, "rows": len(rows),
            "written": datetime.now(timezone.utc).replace(microsecond=0).isoformat()}  # fmt: skip
    target = folder / "vms.csv"
    _atomic_write(target, buf.getvalue())
    _atomic_write(folder / SOURCE_FILE, json.dumps(meta, indent=2) + "\n")
    return target


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def seed_directory(out: Path, source: Path | None = None, *,
                   clouds: Iterable[str] | None = None,
                   names: Iterable[str] | None = None) -> list[str]:
    """Copy into `out` every catalog file of `source` (default: the catalog in use) that
    `out` lacks — other clouds, images.csv — so `out` is a whole catalog. Never overwrites.
    `clouds`/`names` limit what is copied (an import copies only its clouds' images).
    Returns the paths copied, relative to `out`."""
    import shutil

    from stix.paths import catalog_dir

    src = Path(source) if source is not None else catalog_dir()
    out = Path(out)
    if not src.is_dir() or (out.exists() and out.resolve() == src.resolve()):
        return []
    copied = []
    only_clouds = None if clouds is None else set(clouds)
    only_names = None if names is None else set(names)
    for path in sorted(src.glob("*/*")):
        if (only_clouds is not None and path.parent.name not in only_clouds) or (
                only_names is not None and path.name not in only_names):
            continue
        if path.is_file() and not path.name.startswith((".", "_")) and path.parent.name[0] != "_":
            target = out / path.parent.name / path.name
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                copied.append(f"{path.parent.name}/{path.name}")
    return copied
