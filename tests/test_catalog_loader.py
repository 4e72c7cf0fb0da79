"""The catalog loader: parsing, bad rows, indexes, the per-process and on-disk caches."""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import pytest

from stix.catalog import loader
from stix.catalog.loader import (
    BadRow,
    Catalog,
    clear_cache,
    load_catalog,
    write_cloud_csv,
)
from stix.catalog.schema import COLUMNS, Offer

HEADER = ",".join(COLUMNS)


def _offer(**kw: object) -> Offer:
    base: dict[str, object] = dict(
        cloud="aws", instance_type="m5.large", vcpus=2.0, memory_gib=8.0, accelerator=None,
        accelerator_count=0.0, accelerator_memory_gib=None, region="us-east-1",
        zone="us-east-1a", price=0.096, spot_price=0.035, arch="x86_64",
        price_source="observed", spot_source="observed", as_of="2026-05-12")  # fmt: skip
    base.update(kw)
    if base["spot_price"] is None:
        base["spot_source"] = "none"
    return Offer(**base)  # type: ignore[arg-type]


def _sourced(line: str) -> str:
    """A row written the short way (the first 11 columns) with its provenance added."""
    if not line:
        return line
    fields = line.split(",")
    spot = fields[9] if len(fields) > 9 else ""
    return f"{line},observed,{'observed' if spot else 'none'},2026-05-12"


def _write(root: Path, cloud: str, *lines: str) -> Path:
    folder = root / cloud
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "vms.csv"
    path.write_text("\n".join([HEADER, *map(_sourced, lines)]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _fresh() -> None:
    clear_cache()


def test_parse_good_rows(tmp_path: Path) -> None:
    _write(tmp_path, "aws",
           "m5.large,2,8,,0,,us-east-1,us-east-1a,0.096,0.035,x86_64",
           "g5.xlarge,4,16,A10G,1,24,us-east-1,us-east-1b,1.006,,x86_64",
           "m7g.large,2,8,,0,,us-east-1,,0.0816,0.03,arm64")  # fmt: skip
    cat = load_catalog(tmp_path)
    assert cat.bad_rows == []
    assert len(cat) == 3
    g5 = cat.with_accelerator("A10G")[0]
    assert g5 == _offer(instance_type="g5.xlarge", vcpus=4.0, memory_gib=16.0,
                        accelerator="A10G", accelerator_count=1.0, accelerator_memory_gib=24.0,
                        zone="us-east-1b", price=1.006, spot_price=None)  # fmt: skip
    assert g5.hourly(spot=True) is None
    m7g = next(o for o in cat.offers if o.instance_type == "m7g.large")
    assert m7g.zone is None and m7g.arch == "arm64"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("m5.large,2,8,,0,,us-east-1,a,abc,,x86_64", "price: 'abc' is not a number"),
        ("m5.large,2,8,,0,,us-east-1,a,-1,,x86_64", "negative price"),
        ("m5.large,2,8,,0,,us-east-1,a,nan,,x86_64", "not a finite number"),
        (",2,8,,0,,us-east-1,a,1,,x86_64", "instance_type and region are required"),
        ("m5.large,2,8,,0,,,a,1,,x86_64", "instance_type and region are required"),
        ("m5.large,2,8,,0,,us-east-1,a,1,,x86_64,extra", "expected 14 fields, got 15"),
        ("m5.large,2,8,A100,0,,us-east-1,a,1,,x86_64", "needs a positive accelerator_count"),
        ("m5.large,two,8,,0,,us-east-1,a,1,,x86_64", "vcpus: 'two' is not a number"),
        ("m5.large,2,8,,0,,us-east-1,a,1,,sparc", "arch: 'sparc'"),
        ("m5.large,2,8,,0,,us-east-1,a,1,-0.5,x86_64", "negative price"),
    ],
)
def test_bad_rows_are_reported_with_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path, "aws", "m5.large,2,8,,0,,us-east-1,a,0.096,,x86_64", line,
                  "c5.large,2,4,,0,,us-east-1,a,0.085,,x86_64")  # fmt: skip
    cat = load_catalog(tmp_path)
    assert sorted(o.instance_type for o in cat.offers) == ["c5.large", "m5.large"]
    assert len(cat.bad_rows) == 1
    bad = cat.bad_rows[0]
    assert (bad.file, bad.line) == (str(path), 3)
    assert reason in bad.reason
    assert str(bad).startswith(f"{path}:3: ")


def test_wrong_header_is_one_bad_row(tmp_path: Path) -> None:
    folder = tmp_path / "gcp"
    folder.mkdir()
    (folder / "vms.csv").write_text("InstanceType,vCPUs\nn1,1\n")
    cat = load_catalog(tmp_path)
    assert len(cat) == 0
    assert cat.bad_rows[0].line == 1 and "header must be" in cat.bad_rows[0].reason


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path, "aws", "", "m5.large,2,8,,0,,us-east-1,a,0.096,,x86_64", "")
    cat = load_catalog(tmp_path)
    assert len(cat) == 1 and cat.bad_rows == []


def test_fast_and_careful_row_parsers_agree() -> None:
    from stix.catalog import loader

    fields = ["g5.xlarge", "4", "16", "A10G", "1", "24", "us-east-1", "us-east-1b", "1.006", "0.4", "x86_64",
              "observed", "estimated", "2026-05-12"]
    assert loader._fast_row("aws", fields) == loader._check_row("aws", fields)


def test_indexes_and_clouds(tmp_path: Path) -> None:
    _write(tmp_path, "aws", "g5.xlarge,4,16,A10G,1,24,us-east-1,a,1.0,,x86_64",
           "m5.large,2,8,,0,,us-west-2,b,0.1,,x86_64")  # fmt: skip
    _write(tmp_path, "gcp", "n1-standard-8,8,30,T4,1,16,us-central1,us-central1-a,0.73,,x86_64")
    cat = load_catalog(tmp_path)
    assert cat.clouds == ["aws", "gcp"]
    assert [o.instance_type for o in cat.for_cloud("gcp")] == ["n1-standard-8"]
    assert cat.for_cloud("azure") == ()
    assert cat.accelerator_names() == ["A10G", "T4"]
    assert [o.instance_type for o in cat.with_accelerator(None)] == ["m5.large"]
    assert cat.with_accelerator("H100") == ()
    assert cat.regions("aws") == ["us-east-1", "us-west-2"]
    # The same Offer object comes back from every view (made once per row).
    assert cat.for_cloud("aws")[0] is cat.with_accelerator("A10G")[0]
    assert load_catalog(tmp_path, clouds=["gcp"]).clouds == ["gcp"]


def test_catalog_from_offers_keeps_the_contract() -> None:
    offers = [_offer(), _offer(cloud="gcp", instance_type="n1-standard-4", accelerator="T4",
                               accelerator_count=1.0, region="us-central1")]  # fmt: skip
    cat = Catalog(offers)
    assert cat.offers == offers
    assert cat.offers[1] is offers[1]
    assert cat.with_accelerator("T4") == (offers[1],)
    assert cat.bad_rows == []
    weakref.ref(cat)  # the optimizer keeps per-catalog indexes by weak reference


def test_loaded_once_per_process(tmp_path: Path) -> None:
    _write(tmp_path, "aws", "m5.large,2,8,,0,,us-east-1,a,0.096,,x86_64")
    first = load_catalog(tmp_path)
    assert load_catalog(tmp_path) is first
    assert load_catalog(tmp_path, clouds=["aws"]) is not first  # another selection


def test_changed_file_is_reloaded(tmp_path: Path) -> None:
    path = _write(tmp_path, "aws", "m5.large,2,8,,0,,us-east-1,a,0.096,,x86_64")
    first = load_catalog(tmp_path)
    _write(tmp_path, "aws", "m5.large,2,8,,0,,us-east-1,a,0.5,,x86_64",
           "c5.large,2,4,,0,,us-east-1,a,0.085,,x86_64")  # fmt: skip
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    second = load_catalog(tmp_path)
    assert second is not first
    assert sorted(o.price for o in second.offers) == [0.085, 0.5]


def test_default_directory_follows_stix_catalog_dir(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    _write(one, "aws", "m5.large,2,8,,0,,us-east-1,a,0.096,,x86_64")
    _write(two, "gcp", "n1-standard-4,4,15,,0,,us-central1,us-central1-a,0.19,,x86_64")
    monkeypatch.setenv("STIX_CATALOG_DIR", str(one))
    assert load_catalog().clouds == ["aws"]
    monkeypatch.setenv("STIX_CATALOG_DIR", str(two))
    assert load_catalog().clouds == ["gcp"]


def test_disk_cache_serves_a_new_process_and_tracks_changes(tmp_path: Path,
                                                             stix_home: Path) -> None:
    path = _write(tmp_path, "aws", "m5.large,2,8,,0,,us-east-1,a,0.096,,x86_64",
                  "bad,2,8,,0,,us-east-1,a,x,,x86_64")  # fmt: skip
    first = load_catalog(tmp_path)
    cached = list((stix_home / "cache" / "catalog").glob("*.marshal"))
    assert len(cached) == 1
    clear_cache()  # as a new process would start
    calls: list[Path] = []
    real = loader._read_rows

    def counting(cloud: str, p: Path):  # type: ignore[no-untyped-def]
        calls.append(p)
        return real(cloud, p)

    loader._read_rows = counting  # type: ignore[assignment]
    try:
        again = load_catalog(tmp_path)
        assert calls == []  # served from the disk cache
        assert again.offers == first.offers
        assert again.bad_rows == first.bad_rows == [BadRow(str(path), 3, again.bad_rows[0].reason)]
        # A damaged cache file is parsed around, not trusted.
        cached[0].write_bytes(b"not marshal")
        clear_cache()
        assert load_catalog(tmp_path).offers == first.offers
        assert calls == [path]
    finally:
        loader._read_rows = real  # type: ignore[assignment]


def test_writer_round_trips_and_is_sorted(tmp_path: Path) -> None:
    offers = [
        _offer(instance_type="z.large", price=0.5),
        _offer(accelerator="A100", accelerator_count=8.0, accelerator_memory_gib=40.0,
               instance_type="p4d.24xlarge", vcpus=96.0, memory_gib=1152.0, price=32.7726),
        _offer(instance_type="m5.large", zone=None, spot_price=None, arch="arm64"),
        _offer(instance_type="m5.large", zone=None, spot_price=None, arch="arm64"),  # dup
        _offer(instance_type="frac", accelerator="A10", accelerator_count=0.167),
    ]  # fmt: skip
    path = write_cloud_csv(tmp_path, "aws", offers, source="test")
    assert path == tmp_path / "aws" / "vms.csv"
    text = path.read_text()
    assert text.splitlines()[0] == HEADER
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == [
        "frac", "m5.large", "p4d.24xlarge", "z.large"]  # fmt: skip
    assert "p4d.24xlarge,96,1152,A100,8,40,us-east-1,us-east-1a,32.7726,0.035,x86_64" in text
    back = load_catalog(tmp_path)
    assert back.bad_rows == []
    assert sorted(back.offers, key=repr) == sorted(set(offers), key=repr)
    meta = (tmp_path / "aws" / "source.json").read_text()
    assert '"source": "test"' in meta and '"rows": 4' in meta
    assert not [p for p in (tmp_path / "aws").iterdir() if p.name.endswith(".tmp")]


def test_legacy_files_load_with_estimated_prices(tmp_path: Path) -> None:
    from stix.catalog.schema import LEGACY_COLUMNS

    folder = tmp_path / "aws"
    folder.mkdir()
    (folder / "vms.csv").write_text(",".join(LEGACY_COLUMNS) + "\n"
                                    "m5.large,2,8,,0,,us-east-1,a,0.096,0.03,x86_64\n"
                                    "c5.large,2,4,,0,,us-east-1,a,0.085,,x86_64\n")
    cat = load_catalog(tmp_path)
    assert cat.bad_rows == []
    got = {o.instance_type: (o.price_source, o.spot_origin, o.as_of) for o in cat.offers}
    assert got == {"m5.large": ("estimated", "estimated", ""), "c5.large": ("estimated", "none", "")}


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        ("guessed,none,2026-05-12", "price_source: 'guessed' is not one of observed, estimated"),
        ("observed,none,2026-05-12", "spot_source must be 'none' exactly when spot_price is empty"),
        ("observed,observed,May 2026", "as_of: 'May 2026' is not an ISO date"),
    ],
)
def test_bad_provenance_is_a_bad_row(tmp_path: Path, tail: str, reason: str) -> None:
    folder = tmp_path / "aws"
    folder.mkdir()
    (folder / "vms.csv").write_text(HEADER + "\n" + f"m5.large,2,8,,0,,us-east-1,a,0.096,0.03,x86_64,{tail}\n")
    cat = load_catalog(tmp_path)
    assert len(cat) == 0 and reason in cat.bad_rows[0].reason


def test_groups_are_read_only_when_asked_for(tmp_path: Path) -> None:
    _write(tmp_path, "aws", "m5.large,2,8,,0,,us-east-1,a,0.096,0.035,x86_64",
           "g5.xlarge,4,16,A10G,1,24,us-east-1,b,1.006,,x86_64")  # fmt: skip
    load_catalog(tmp_path)  # parses and writes the disk cache
    clear_cache()
    cat = load_catalog(tmp_path)  # from the cache: headers only
    assert len(cat) == 2 and cat.accelerator_names() == ["A10G"] and cat.regions("aws") == [
        "us-east-1"]
    assert [g.load is None for g in cat._groups] == [False, False]
    assert [o.instance_type for o in cat.with_accelerator("A10G")] == ["g5.xlarge"]
    assert sorted(g.accelerator is None for g in cat._groups if g.load is not None) == [True]
    assert [o.instance_type for o in cat.offers] == ["m5.large", "g5.xlarge"]
