"""Importing SkyPilot's catalog format: columns, quirks, GCP GPU pairing, bad rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stix.catalog.loader import load_catalog
from stix.catalog.schema import Offer
from stix.catalog.skypilot import import_skypilot, read_skypilot_csv
from stix.clouds.gcp import pairing as gcp_pairing
from stix.errors import NotFoundError, UsageError

SRC = Path(__file__).parent / "fixtures" / "skypilot_catalog"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("imported")
    return import_skypilot(SRC, out), load_catalog(out)


def _find(offers: object, itype: str, acc: str | None = None, count: float | None = None,
          zone: str | None = "*") -> list[Offer]:  # fmt: skip
    return [o for o in offers  # type: ignore[attr-defined]
            if o.instance_type == itype and (acc is None or o.accelerator == acc)
            and (count is None or o.accelerator_count == count)
            and (zone == "*" or o.zone == zone)]  # fmt: skip


def test_summary(imported) -> None:  # type: ignore[no-untyped-def]
    result, cat = imported
    assert result.written == {"aws": 10, "gcp": 17, "azure": 7}
    assert cat.bad_rows == []  # what we write always loads cleanly
    assert len(cat) == 34
    assert dict(result.skipped) == {
        "TPU (not supported by stix yet)": 1,
        "no host machine for A100:2 in its zone": 1,
        "no on-demand price": 1,
    }


def test_bad_rows_name_file_and_line(imported) -> None:  # type: ignore[no-untyped-def]
    result, _ = imported
    got = sorted((Path(b.file).parent.name, b.line, b.reason) for b in result.bad)
    assert got == [("aws", 11, "Price: 'abc' is not a number"),
                   ("azure", 10, "9 fields, expected 10")]  # fmt: skip


def test_aws_rows_zone_ids_and_gpu_info(imported) -> None:  # type: ignore[no-untyped-def]
    result, cat = imported
    aws = cat.for_cloud("aws")
    assert sorted(o.zone or "" for o in _find(aws, "m5.large")) == [
        "eu-west-1a", "us-east-1a", "us-east-1b"]  # fmt: skip
    g5 = _find(aws, "g5.xlarge", zone="us-east-1b")[0]
    assert (g5.accelerator, g5.accelerator_count, g5.accelerator_memory_gib) == ("A10G", 1, 24)
    assert g5.spot_price == 0.3981
    # GpuInfo with unquoted commas is mended, not lost.
    g4 = _find(aws, "g4dn.xlarge")[0]
    assert (g4.accelerator, g4.accelerator_memory_gib, g4.price) == ("T4", 16, 0.526)
    p5 = _find(aws, "p5.48xlarge")[0]
    assert p5.accelerator_memory_gib == 80 and p5.spot_price is None
    assert _find(aws, "m7g.large")[0].arch == "arm64"
    # Zone ids without a mapping fold into one zone-less row with the cheapest spot price.
    (r5,) = _find(aws, "r5.large")
    assert (r5.region, r5.zone, r5.price, r5.spot_price) == ("us-west-2", None, 0.126, 0.0497)
    (note,) = result.notes
    assert note.startswith("aws: 2 rows name a zone id") and "folded" in note


def test_gcp_cpu_rows_and_bundled_families(imported) -> None:  # type: ignore[no-untyped-def]
    _, cat = imported
    gcp = cat.for_cloud("gcp")
    cpu = sorted(o.instance_type for o in gcp if o.accelerator is None)
    assert cpu == ["e2-standard-4", "n1-highmem-8", "n1-standard-4", "n1-standard-8",
                   "n1-standard-8", "n1-standard-96", "t2a-standard-4"]  # fmt: skip
    assert _find(gcp, "t2a-standard-4")[0].arch == "arm64"
    # A2 and G2 never appear without their GPUs; the price is VM + GPU.
    (a2,) = _find(gcp, "a2-highgpu-1g")
    assert (a2.accelerator, a2.accelerator_count, a2.accelerator_memory_gib) == ("A100", 1, 40)
    assert a2.price == pytest.approx(0.748591 + 2.933908)
    assert a2.spot_price == pytest.approx(0.22458 + 1.18)
    (g2,) = _find(gcp, "g2-standard-8")
    assert (g2.accelerator, g2.price) == ("L4", pytest.approx(0.294 + 0.56))


def test_gcp_n1_pairing_respects_limits(imported) -> None:  # type: ignore[no-untyped-def]
    _, cat = imported
    t4 = [o for o in cat.with_accelerator("T4") if o.cloud == "gcp"]
    central_t4_1 = sorted(o.instance_type for o in t4
                          if o.region == "us-central1" and o.accelerator_count == 1)
    # 4..48 vCPUs for one T4: n1-standard-96 is too big for it.
    assert central_t4_1 == ["n1-highmem-8", "n1-standard-4", "n1-standard-8"]
    central_t4_2 = sorted(o.instance_type for o in t4
                          if o.region == "us-central1" and o.accelerator_count == 2)
    assert central_t4_2 == ["n1-highmem-8", "n1-standard-8"]  # at least 8 vCPUs for two
    (eu,) = [o for o in t4 if o.region == "europe-west4"]
    assert (eu.instance_type, eu.zone) == ("n1-standard-8", "europe-west4-a")
    assert eu.price == pytest.approx(0.417998 + 0.35)
    v100 = sorted(o.instance_type for o in cat.with_accelerator("V100"))
    assert v100 == ["n1-highmem-8", "n1-standard-8"]  # 8..12 vCPUs for one V100
    n1_t4 = _find(cat.for_cloud("gcp"), "n1-standard-4", "T4")[0]
    assert n1_t4.price == pytest.approx(0.189999 + 0.35)
    assert n1_t4.spot_price == pytest.approx(0.04 + 0.14)


def test_azure_rows(imported) -> None:  # type: ignore[no-untyped-def]
    _, cat = imported
    az = cat.for_cloud("azure")
    assert all(o.zone is None for o in az)
    assert _find(az, "Standard_D4s_v5")[0].price == 0.192  # "V1,V2" unquoted, mended
    assert _find(az, "Standard_D2ps_v5")[0].arch == "arm64"
    frac = _find(az, "Standard_NV6ads_A10_v5")[0]
    assert (frac.accelerator, frac.accelerator_count, frac.accelerator_memory_gib) == (
        "A10", 0.167, 24)  # fmt: skip
    nc = _find(az, "Standard_NC24ads_A100_v4")[0]
    assert (nc.accelerator, nc.accelerator_memory_gib, nc.region) == (
        "A100-80GB", 80, "westeurope")  # fmt: skip
    assert _find(az, "Standard_ND96asr_v4")[0].spot_price is None
    assert not _find(az, "Standard_NC6")  # no on-demand price


def test_accelerator_names_are_canonical(tmp_path: Path) -> None:
    src = tmp_path / "src" / "aws"
    src.mkdir(parents=True)
    (src / "vms.csv").write_text(
        "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,"
        "Region,AvailabilityZone,Arch\n"
        "p4de.24xlarge,a100-80gb,8,96,1152,,40.96,,us-east-1,us-east-1a,x86_64\n"
        "g5.xlarge,a10g,1,4,16,,1.006,,us-east-1,us-east-1a,x86_64\n")
    import_skypilot(tmp_path / "src", tmp_path / "out")
    assert load_catalog(tmp_path / "out").accelerator_names() == ["A100-80GB", "A10G"]
    got = load_catalog(tmp_path / "out").with_accelerator("A100-80GB")[0]
    assert got.accelerator_memory_gib == 80  # from the hardware table when GpuInfo is empty


def test_only_some_clouds(tmp_path: Path) -> None:
    result = import_skypilot(SRC, tmp_path, clouds=["azure"])
    assert result.written == {"azure": 7}
    assert [p.name for p in tmp_path.iterdir()] == ["azure"]


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such directory"):
        import_skypilot(tmp_path / "nope", tmp_path / "out")
    with pytest.raises(NotFoundError, match=r"no <cloud>/vms\.csv"):
        import_skypilot(tmp_path, tmp_path / "out")
    with pytest.raises(UsageError, match="cannot import cloud fluidstack"):
        import_skypilot(SRC, tmp_path / "out", clouds=["fluidstack"])


def test_not_a_skypilot_file(tmp_path: Path) -> None:
    shutil.copytree(SRC, tmp_path / "src")
    (tmp_path / "src" / "gcp" / "vms.csv").write_text("a,b\n1,2\n")
    rows, bad = read_skypilot_csv("gcp", tmp_path / "src" / "gcp" / "vms.csv")
    assert rows == [] and bad[0].line == 1 and "not a SkyPilot catalog" in bad[0].reason


@pytest.mark.parametrize(
    ("machine", "expected"),
    [("a2-highgpu-1g", ("A100", 1)), ("a2-megagpu-16g", ("A100", 16)),
     ("a2-ultragpu-4g", ("A100-80GB", 4)), ("a3-highgpu-8g", ("H100", 8)),
     ("a3-megagpu-8g", ("H100-MEGA", 8)), ("a3-ultragpu-8g", ("H200", 8)),
     ("a4-highgpu-8g", ("B200", 8)), ("g2-standard-4", ("L4", 1)), ("g2-standard-24", ("L4", 2)),
     ("g2-standard-96", ("L4", 8)), ("g2-standard-6", None), ("n1-standard-8", None),
     ("a2-highgpu", None), ("c2-standard-60", None)],
)  # fmt: skip
def test_bundled_accelerators(machine: str, expected: tuple[str, int] | None) -> None:
    got = gcp_pairing.bundled_accelerator(machine)
    assert (None if got is None else (got.accelerator, got.count)) == expected


def test_n1_limits() -> None:
    assert gcp_pairing.n1_host_fits("V100", 8, 96, 360)
    assert not gcp_pairing.n1_host_fits("V100", 8, 32, 120)  # too small for 8 GPUs
    assert not gcp_pairing.n1_host_fits("P100", 1, 32, 120)  # above the 16-vCPU limit
    assert not gcp_pairing.n1_host_fits("T4", 3, 16, 60)  # no such count
    assert not gcp_pairing.n1_host_fits("T4", 0.5, 16, 60)
    assert not gcp_pairing.n1_host_fits("L4", 1, 8, 30)  # L4 comes with G2, not N1


def test_imported_prices_are_estimated_and_dated_by_their_file(tmp_path: Path) -> None:
    import os

    from stix.catalog.loader import clear_cache

    source = tmp_path / "sky"
    shutil.copytree(SRC, source)
    stamp = 1778544000  # 2026-05-12T00:00:00Z
    os.utime(source / "gcp" / "vms.csv", (stamp, stamp))
    import_skypilot(source, tmp_path / "out", clouds=["gcp"])
    clear_cache()
    rows = load_catalog(tmp_path / "out").for_cloud("gcp")
    assert rows and {(o.price_source, o.as_of) for o in rows} == {("estimated", "2026-05-12")}
