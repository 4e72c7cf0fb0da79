"""The background price refresh: when it is due, that it never blocks, and how an offline
machine backs off."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO

import pytest

from stix.catalog import refresh
from stix.catalog.update import FetchError

PRICES = Path(__file__).parent / "fixtures" / "prices"


@pytest.fixture
def due(monkeypatch: pytest.MonkeyPatch, stix_home: Path) -> Path:
    monkeypatch.setenv("STIX_CATALOG_REFRESH_HOURS", "7")
    monkeypatch.delenv("STIX_CATALOG_DIR", raising=False)
    return stix_home


def test_off_when_zero_or_when_a_catalog_is_chosen(monkeypatch: pytest.MonkeyPatch,
                                                   due: Path) -> None:
    monkeypatch.setenv("STIX_CATALOG_REFRESH_HOURS", "0")
    assert refresh.maybe_refresh(spawn=False) is None
    monkeypatch.setenv("STIX_CATALOG_REFRESH_HOURS", "7")
    monkeypatch.setenv("STIX_CATALOG_DIR", str(due / "mine"))
    assert refresh.maybe_refresh(spawn=False) is None


def test_due_on_the_snapshot_and_when_older_than_the_setting(due: Path) -> None:
    assert refresh.maybe_refresh(spawn=False) == (
        "the shipped snapshot's estimated prices are in use")
    source = due / "prices" / "aws" / "source.json"
    source.parent.mkdir(parents=True)
    source.write_text("{}")
    (source.parent / "vms.csv").write_text("")
    assert refresh.maybe_refresh(spawn=False) is None  # fresh
    old = time.time() - 8 * 3600
    os.utime(source, (old, old))
    assert refresh.maybe_refresh(spawn=False) == (
        "prices were refreshed 8 hours ago (catalog_refresh_hours: 7)")


def test_the_setting_is_in_the_user_config(due: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STIX_CATALOG_REFRESH_HOURS")
    (due / "config.yaml").write_text("catalog_refresh_hours: 0\n")
    assert refresh.maybe_refresh(spawn=False) is None


def test_offline_refresh_fails_fast_and_backs_off(due: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def offline(timeout: float = 20.0):  # type: ignore[no-untyped-def]
        def open_url(url: str) -> IO[bytes]:
            calls.append(url)
            raise FetchError(f"cannot fetch {url}: [Errno -3] Temporary failure in name resolution")

        return open_url

    monkeypatch.setattr("stix.catalog.update.http_opener", offline)
    assert refresh.run() == 1
    assert len(calls) == 1  # the first source failed: the others were not tried
    assert not (due / "prices").exists()  # nothing written
    note = refresh.maybe_refresh(spawn=False)
    assert note is not None and "the last refresh failed" in note and "next try" in note


def test_a_refresh_writes_the_catalog_in_use(due: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_catalog_update import FixtureOpener

    from stix.catalog.loader import clear_cache, load_catalog
    from stix.paths import catalog_dir

    monkeypatch.setattr("stix.catalog.update.http_opener", lambda timeout=20.0: FixtureOpener())
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("STIX_GCP_API_KEY", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    assert refresh.run() == 0
    assert catalog_dir() == due / "prices"
    clear_cache()
    cat = load_catalog()
    assert {o.price_source for o in cat.for_cloud("aws")} == {"observed"}
    assert {o.price_source for o in cat.for_cloud("gcp")} == {"estimated"}  # no API key
    assert refresh.maybe_refresh(spawn=False) is None
    assert json.loads((due / "prices" / "aws" / "source.json").read_text())["cloud"] == "aws"
