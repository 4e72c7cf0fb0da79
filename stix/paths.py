"""Where stix finds its shipped data and keeps its per-user state."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    # A wheel carries the top-level folders under stix/_data; a source checkout has them
    # beside the package.
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"stix data folder {name!r} not found (broken install?)")


@cache
def templates_dir() -> Path:
    return _data_dir("templates")


def shipped_catalog_dir() -> Path:
    """The price snapshot that ships with stix (what a catalog folder lacks falls back to)."""
    return _data_dir("catalog_data")


def catalog_dir() -> Path:
    """The catalog in use: $STIX_CATALOG_DIR, else the one refreshed from the clouds' price
    sources ($STIX_HOME/prices, see stix.catalog.refresh), else the shipped snapshot."""
    override = os.environ.get("STIX_CATALOG_DIR")
    if override:
        return Path(override).expanduser()
    refreshed = stix_home() / "prices"
    if any(refreshed.glob("*/vms.csv")):
        return refreshed
    return _data_dir("catalog_data")


def stix_home() -> Path:
    """Per-user state (keys, local state DB, engine state): $STIX_HOME or ~/.stix."""
    return Path(os.environ.get("STIX_HOME") or Path.home() / ".stix").expanduser()
