"""Loading catalog CSVs with the standard library, indexed once, cached per process.

A catalog of 100k rows costs more to parse than a command may spend, so each parsed
`vms.csv` is also kept under `$STIX_HOME/cache/catalog/`, keyed by the CSV's path, size,
mtime and inode: a header (bad rows, and per accelerator name its regions and each row's
price ranks) and that accelerator's rows in on-demand price order, marshalled in chunks
that `Catalog` reads on first touch. Parsing also checks the rows (`check.py`) and keeps
each suspect row's reason with it.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import marshal
import math
import os
import re
import struct
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stix.catalog.catalog import Catalog, Group
from stix.catalog.check import mark_suspects
from stix.catalog.order import ranks
from stix.catalog.schema import (
    COLUMNS,
    ESTIMATED,
    LEGACY_COLUMNS,
    NONE,
    PRICE_SOURCES,
    SPOT_SOURCES,
)

# A parsed row: the values of Offer's fields in declaration order, so Offer(*row) works.
Row = tuple[Any, ...]

_CACHE_FORMAT = 6  # 6: home regions break price ties
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
_DATES_SEEN: set[str] = set()


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
    if as_of and as_of not in _DATES_SEEN:
        if not _AS_OF.match(as_of):
            raise ValueError
        _DATES_SEEN.add(as_of)  # a file holds a handful of dates: check each once
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


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while tens of thousands of row tuples are made:
    they hold no cycles, yet each allocation burst would make it walk them all (~a third
    of a cold load at 100k rows)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # The rows live as long as the catalog (catalogs are kept for the process's
            # life): set everything so far aside rather than have later collections walk
            # every row again (~40 % of a cold CPU search at 100k rows). `clear_cache`
            # hands them back to the collector.
            gc.freeze()
            gc.enable()


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


# One cached file: its bad rows, and per accelerator name (None: CPU machines) its rows
# in on-demand price order, in chunks of CHUNK rows marshalled apart, with each row's
# on-demand and spot rank. A query reads the chunks it touches: the cheapest rows first.
CHUNK = 2048
ChunkLoader = Callable[[], list[Row]]
FileGroup = tuple[str | None, tuple[str, ...], list[int], list[int], list[ChunkLoader | None]]
_LEN = struct.Struct("<Q")


def _encode(key: tuple[Any, ...], rows: list[Row], bad: list[BadRow]) -> bytes:
    od, spot = ranks(rows)
    by_acc: dict[str | None, list[int]] = {}
    for i, r in enumerate(rows):
        by_acc.setdefault(r[4], []).append(i)
    blobs, meta = [], []
    for acc, ids in by_acc.items():
        ids.sort(key=od.__getitem__)
        lengths = []
        for start in range(0, len(ids), CHUNK):
            blob = marshal.dumps([rows[i] for i in ids[start:start + CHUNK]])
            lengths.append(len(blob))
            blobs.append(blob)
        meta.append((acc, tuple(sorted({rows[i][7] for i in ids})), [od[i] for i in ids],
                     [spot[i] for i in ids], lengths))  # fmt: skip
    header = marshal.dumps((key, [(b.file, b.line, b.reason) for b in bad], meta))
    return _LEN.pack(len(header)) + header + b"".join(blobs)


def _chunk(part: memoryview) -> ChunkLoader:
    def load() -> list[Row]:
        rows: list[Row] = marshal.loads(part)
        return rows

    return load


def _decode(data: bytes) -> tuple[Any, list[BadRow], list[FileGroup]]:
    (size,) = _LEN.unpack_from(data)
    key, bad, meta = marshal.loads(data[_LEN.size:_LEN.size + size])
    view = memoryview(data)
    offset = _LEN.size + size
    groups: list[FileGroup] = []
    for acc, regions, od, spot, lengths in meta:
        chunks: list[ChunkLoader | None] = []
        for length in lengths:
            chunks.append(_chunk(view[offset:offset + length]))
            offset += length
        groups.append((acc, regions, od, spot, chunks))
    return key, [BadRow(*b) for b in bad], groups


def _cached_groups(cloud: str, path: Path) -> tuple[list[BadRow], list[FileGroup]]:
    """The parsed rows of `path` in groups, from the disk cache when it matches the file
    (only its header is read now; a group's rows when asked for), else parsed."""
    key = (_CACHE_FORMAT, sys.version, cloud, _stat_key(path))
    cache = _cache_file(path)
    if cache is not None:
        try:
            stored_key, bad, groups = _decode(cache.read_bytes())
            if stored_key == key:
                return bad, groups
        except Exception:  # missing, stale format or damaged: parse again
            pass
    rows, bad = _read_rows(cloud, path)
    data = _encode(key, rows, bad)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, cache)
        except (OSError, ValueError):
            pass  # a cache we cannot write only costs time
    return _decode(data)[1:]


# ---- loading, once per process --------------------------------------------------------------

_LOADED: dict[tuple[object, ...], Catalog] = {}


def clear_cache() -> None:
    """Forget catalogs loaded by this process (the next load re-reads; tests, `update`)."""
    _LOADED.clear()
    gc.unfreeze()


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
    groups: list[Group] = []
    bad: list[BadRow] = []
    size = 0
    with no_gc():
        for path in paths:
            cloud = path.parent.name
            rejected, parts = _cached_groups(cloud, path)
            bad.extend(rejected)
            for acc, regions, od, spot, chunks in parts:
                # Ranks count within a file: one cloud, as a pool is.
                count = len(od)
                groups.append(Group(cloud, acc, range(size, size + count), regions,
                                    chunks=chunks, od=od, spot=spot, chunk=CHUNK))
                size += count
    catalog = _LOADED[key] = Catalog.from_groups(groups, size, bad)
    return catalog


# Written by `stix.catalog.writer`; importable from here as before.
from stix.catalog.writer import (  # noqa: E402
    SOURCE_FILE,
    offer_fields,
    seed_directory,
    write_cloud_csv,
)

__all__ = ["SOURCE_FILE", "BadRow", "Catalog", "clear_cache", "load_catalog", "offer_fields",
           "seed_directory", "write_cloud_csv"]
