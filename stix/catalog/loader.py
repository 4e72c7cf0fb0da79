"""Loading catalog CSVs with the standard library, indexed once, cached per process.

A catalog of 100k rows costs more to parse than a command may spend, so each parsed
`vms.csv` is also kept as a marshal file under `$STIX_HOME/cache/catalog/`, keyed by the
CSV's path, size and mtime; `Offer` objects are built only for the rows a query touches.
"""

from __future__ import annotations

import csv
import hashlib
import marshal
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stix.catalog.check import mark_suspects
from stix.catalog.schema import (
    COLUMNS,
    ESTIMATED,
    LEGACY_COLUMNS,
    NONE,
    PRICE_SOURCES,
    SPOT_SOURCES,
    Offer,
)

# A parsed row: the values of Offer's fields in declaration order, so Offer(*row) works.
Row = tuple[Any, ...]

_CACHE_FORMAT = 2
_NCOL = len(COLUMNS)
_AS_OF = re.compile(r"^\d{4}-\d{2}(-\d{2}([T ][0-9:.+Z-]*)?)?$")


@dataclass(frozen=True)
class BadRow:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def _float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: {text!r} is not a finite number")
    return value


def _opt_float(text: str, name: str) -> float | None:
    return None if text.strip() == "" else _float(text, name)


def _as_of(text: str) -> str:
    """An ISO date (2026-05), day (2026-05-12) or date-time; checked on the careful path."""
    text = text.strip()
    if text and not _AS_OF.match(text):
        raise ValueError(f"as_of: {text!r} is not an ISO date (YYYY-MM-DD)")
    return text


def _sources(v: dict[str, str], spot: float | None) -> tuple[str, str]:
    price_source = v["price_source"].strip()
    if price_source not in PRICE_SOURCES:
        raise ValueError(f"price_source: {price_source!r} is not one of "
                         f"{', '.join(PRICE_SOURCES)}")
    spot_source = v["spot_source"].strip()
    if spot_source not in SPOT_SOURCES:
        raise ValueError(f"spot_source: {spot_source!r} is not one of {', '.join(SPOT_SOURCES)}")
    if (spot is None) != (spot_source == NONE):
        raise ValueError("spot_source must be 'none' exactly when spot_price is empty")
    return price_source, spot_source


def _check_row(cloud: str, row: Sequence[str]) -> Row:
    """The careful path: every field checked, with a message naming the bad one."""
    if len(row) != _NCOL:
        raise ValueError(f"expected {_NCOL} fields, got {len(row)}")
    v = dict(zip(COLUMNS, row, strict=True))
    price = _float(v["price"], "price")
    spot = _opt_float(v["spot_price"], "spot_price")
    if price < 0 or (spot is not None and spot < 0):
        raise ValueError("negative price")
    if not v["instance_type"] or not v["region"]:
        raise ValueError("instance_type and region are required")
    accelerator = v["accelerator"].strip() or None
    count = _opt_float(v["accelerator_count"], "accelerator_count") or 0.0
    if accelerator is not None and count <= 0:
        raise ValueError(f"accelerator {accelerator} needs a positive accelerator_count")
    arch = v["arch"].strip() or "x86_64"
    if arch not in ("x86_64", "arm64"):
        raise ValueError(f"arch: {arch!r} is not x86_64 or arm64")
    price_source, spot_source = _sources(v, spot)
    return (cloud, v["instance_type"], _float(v["vcpus"], "vcpus"),
            _float(v["memory_gib"], "memory_gib"), accelerator,
            count if accelerator else 0.0,
            _opt_float(v["accelerator_memory_gib"], "accelerator_memory_gib"),
            v["region"], v["zone"] or None, price, spot, arch, price_source, spot_source,
            _as_of(v["as_of"]), "")  # fmt: skip


_SOURCE_OK = frozenset(PRICE_SOURCES)


def _fast_row(cloud: str, row: list[str]) -> Row:
    """The common path for well-formed rows; anything odd raises and takes `_check_row`."""
    itype, vcpus, mem, acc, count, accmem, region, zone, price, spot, arch, ps, ss, as_of = row
    p = float(price)
    s = float(spot) if spot else None
    if not (0 <= p < math.inf) or (s is not None and not (0 <= s < math.inf)):
        raise ValueError
    if not itype or not region or arch not in ("x86_64", "arm64"):
        raise ValueError
    if ps not in _SOURCE_OK or (ss == NONE) != (s is None) or (s is not None
                                                            and ss not in _SOURCE_OK):
        raise ValueError
    if as_of and not _AS_OF.match(as_of):
        raise ValueError
    n = float(count) if acc else 0.0
    if acc and not n > 0:
        raise ValueError
    v, m = float(vcpus), float(mem)
    if not (math.isfinite(v) and math.isfinite(m)):
        raise ValueError
    am = float(accmem) if accmem else None
    if am is not None and not (0 <= am < math.inf):
        raise ValueError
    return (cloud, itype, v, m, acc or None, n, am, region, zone or None, p, s, arch, ps, ss,
            as_of, "")  # fmt: skip


def _read_rows(cloud: str, path: Path) -> tuple[list[Row], list[BadRow]]:
    rows: list[Row] = []
    bad: list[BadRow] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        names = tuple(h.strip() for h in header) if header is not None else ()
        legacy = names == LEGACY_COLUMNS
        if names != COLUMNS and not legacy:
            return [], [BadRow(str(path), 1, f"header must be: {','.join(COLUMNS)}")]
        append = rows.append
        for row in reader:
            if len(row) != _NCOL and (not row or (len(row) == 1 and not row[0].strip())):
                continue
            if legacy and len(row) == len(LEGACY_COLUMNS):
                # Written before prices said where they came from: nothing proves them
                # observed, so they count as estimated.
                row = [*row, ESTIMATED, NONE if not row[9].strip() else ESTIMATED, ""]
            try:
                append(_fast_row(cloud, row))
                continue
            except (ValueError, TypeError):
                pass
            try:
                append(_check_row(cloud, row))
            except ValueError as exc:
                bad.append(BadRow(str(path), reader.line_num, str(exc)))
    return mark_suspects(cloud, rows), bad


# ---- on-disk cache of parsed files -------------------------------------------------------


def _stat_key(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _cache_file(path: Path) -> Path | None:
    from stix.paths import stix_home

    try:
        name = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
        return stix_home() / "cache" / "catalog" / f"{name}.marshal"
    except OSError:
        return None


def _cached_rows(cloud: str, path: Path) -> tuple[list[Row], list[BadRow]]:
    """Parsed rows of `path`, from the disk cache when it matches the file, else parsed."""
    key = (_CACHE_FORMAT, sys.version, cloud, _stat_key(path))
    cache = _cache_file(path)
    if cache is not None:
        try:
            stored_key, rows, bad = marshal.loads(cache.read_bytes())
            if stored_key == key:
                return rows, [BadRow(*b) for b in bad]
        except Exception:  # missing, stale format or damaged: parse again
            pass
    rows, bad = _read_rows(cloud, path)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps((key, rows, [(b.file, b.line, b.reason) for b in bad])))
            os.replace(tmp, cache)
        except (OSError, ValueError):
            pass  # a cache we cannot write only costs time
    return rows, bad


# ---- the catalog --------------------------------------------------------------------------


class Catalog:
    """All offers of the loaded clouds, indexed by cloud and by accelerator name.

    Built from Offer objects (tests, fetchers) or from parsed rows (the loader); in the
    latter case an Offer is made the first time a query returns its row.
    """

    def __init__(self, offers: Iterable[Offer] = (), bad_rows: Iterable[BadRow] = ()) -> None:
        made = list(offers)
        self._init([_as_row(o) for o in made], list(bad_rows), made)

    @classmethod
    def from_rows(cls, rows: list[Row], bad_rows: Iterable[BadRow] = ()) -> Catalog:
        self = cls.__new__(cls)
        self._init(rows, list(bad_rows), None)
        return self

    def _init(self, rows: list[Row], bad: list[BadRow], made: list[Offer] | None) -> None:
        self.bad_rows = bad
        self._rows = rows
        self._made: list[Offer | None] = list(made) if made is not None else [None] * len(rows)
        by_cloud: dict[str, list[int]] = {}
        by_acc: dict[str | None, list[int]] = {}
        for i, row in enumerate(rows):
            c = by_cloud.get(row[0])
            if c is None:
                c = by_cloud[row[0]] = []
            c.append(i)
            a = by_acc.get(row[4])
            if a is None:
                a = by_acc[row[4]] = []
            a.append(i)
        self._by_cloud = by_cloud
        self._by_accelerator = by_acc
        self._views: dict[tuple[str, str | None], tuple[Offer, ...]] = {}

    def _view(self, key: tuple[str, str | None], index: list[int]) -> tuple[Offer, ...]:
        view = self._views.get(key)
        if view is None:
            made, rows = self._made, self._rows
            out = []
            for i in index:
                offer = made[i]
                if offer is None:
                    offer = made[i] = Offer(*rows[i])
                out.append(offer)
            view = self._views[key] = tuple(out)
        return view

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return (f"Catalog({len(self._rows)} offers, clouds={self.clouds}, "
                f"bad_rows={len(self.bad_rows)})")

    @property
    def offers(self) -> list[Offer]:
        return list(self._view(("*", "*"), list(range(len(self._rows)))))

    @property
    def clouds(self) -> list[str]:
        return sorted(self._by_cloud)

    def for_cloud(self, cloud: str) -> Sequence[Offer]:
        return self._view(("cloud", cloud), self._by_cloud.get(cloud, []))

    def with_accelerator(self, name: str | None) -> Sequence[Offer]:
        """Offers carrying accelerator `name` (None: offers with no accelerator)."""
        return self._view(("acc", name), self._by_accelerator.get(name, []))

    def accelerator_names(self) -> list[str]:
        return sorted(n for n in self._by_accelerator if n)

    def regions(self, cloud: str) -> list[str]:
        """Regions where `cloud` has at least one offer."""
        return sorted({self._rows[i][7] for i in self._by_cloud.get(cloud, [])})


def _as_row(offer: Offer) -> Row:
    return (offer.cloud, offer.instance_type, offer.vcpus, offer.memory_gib, offer.accelerator,
            offer.accelerator_count, offer.accelerator_memory_gib, offer.region, offer.zone,
            offer.price, offer.spot_price, offer.arch, offer.price_source, offer.spot_origin,
            offer.as_of, offer.suspect)  # fmt: skip


# ---- loading, once per process --------------------------------------------------------------

_LOADED: dict[tuple[object, ...], Catalog] = {}


def clear_cache() -> None:
    """Forget catalogs loaded by this process (the next load re-reads; tests, `update`)."""
    _LOADED.clear()


def catalog_files(directory: Path | None = None) -> list[Path]:
    """The `<cloud>/vms.csv` files of a catalog directory (default: the one in use)."""
    from stix.paths import catalog_dir

    root = Path(directory) if directory is not None else catalog_dir()
    return sorted(root.glob("*/vms.csv"))


def load_catalog(directory: Path | None = None, clouds: Iterable[str] | None = None) -> Catalog:
    """Read `<directory>/<cloud>/vms.csv` for every cloud present (or those asked for).

    The default directory is `$STIX_CATALOG_DIR` or the shipped snapshot. The result is
    kept for the life of the process and reused while the files are unchanged.
    """
    wanted = None if clouds is None else frozenset(clouds)
    paths = [p for p in catalog_files(directory) if wanted is None or p.parent.name in wanted]
    stats = tuple((str(p), _stat_key(p)) for p in paths)
    key: tuple[object, ...] = (stats, wanted)
    found = _LOADED.get(key)
    if found is not None:
        return found
    rows: list[Row] = []
    bad: list[BadRow] = []
    for path in paths:
        got, rejected = _cached_rows(path.parent.name, path)
        rows.extend(got)
        bad.extend(rejected)
    catalog = _LOADED[key] = Catalog.from_rows(rows, bad)
    return catalog


# ---- writing ----------------------------------------------------------------------------------

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
