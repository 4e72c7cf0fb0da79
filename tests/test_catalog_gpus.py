"""show-gpus aggregation on a small hand-made catalog whose answers are checked by hand."""

from __future__ import annotations

import pytest

from stix.catalog.gpus import gpu_offers, gpu_summary, parse_gpu_filter
from stix.catalog.loader import Catalog
from stix.catalog.schema import Offer
from stix.errors import NotFoundError, UsageError


def _o(cloud: str, itype: str, acc: str | None, count: float, region: str, zone: str | None,
       price: float, spot: float | None, vcpus: float = 8, mem: float = 32,
       acc_mem: float | None = None) -> Offer:  # fmt: skip
    return Offer(cloud, itype, vcpus, mem, acc, count if acc else 0.0,
                 acc_mem if acc else None, region, zone, price, spot)  # fmt: skip


CATALOG = Catalog([
    # A100:8 on three clouds, several regions and zones.
    _o("aws", "p4d.24xlarge", "A100", 8, "us-east-1", "us-east-1a", 21.96, 9.0, 96, 1152, 40),
    _o("aws", "p4d.24xlarge", "A100", 8, "us-east-1", "us-east-1b", 21.96, 8.5, 96, 1152, 40),
    _o("aws", "p4d.24xlarge", "A100", 8, "us-west-2", "us-west-2a", 21.96, 7.9, 96, 1152, 40),
    _o("gcp", "a2-highgpu-8g", "A100", 8, "us-central1", "us-central1-a", 29.39, 10.0, 96, 680, 40),
    _o("gcp", "a2-highgpu-1g", "A100", 1, "us-central1", "us-central1-a", 3.67, 1.2, 12, 85, 40),
    _o("azure", "Standard_ND96asr_v4", "A100", 8, "eastus", None, 27.20, None, 96, 900, 40),
    _o("azure", "Standard_ND96asr_v4", "A100", 8, "westeurope", None, 29.00, 8.0, 96, 900, 40),
    # T4 on two clouds; GCP pairs it with two hosts.
    _o("aws", "g4dn.xlarge", "T4", 1, "us-east-1", "us-east-1a", 0.526, 0.21, 4, 16, 16),
    _o("gcp", "n1-standard-4", "T4", 1, "us-central1", "us-central1-a", 0.54, 0.18, 4, 15, 16),
    _o("gcp", "n1-standard-8", "T4", 1, "us-central1", "us-central1-a", 0.73, 0.22, 8, 30, 16),
    _o("gcp", "n1-standard-8", "T4", 2, "us-central1", "us-central1-b", 1.08, 0.36, 8, 30, 16),
    # Fractional GPU and a CPU machine (never shown).
    _o("azure", "Standard_NV6ads_A10_v5", "A10", 0.167, "eastus", None, 0.454, 0.09, 6, 55, 24),
    _o("aws", "m5.large", None, 0, "us-east-1", "us-east-1a", 0.096, 0.035, 2, 8),
])  # fmt: skip


def test_summary() -> None:
    rows = {s.name: s for s in gpu_summary(CATALOG)}
    assert list(rows) == ["A10", "A100", "T4"]  # by name, case-insensitively
    a100 = rows["A100"]
    assert a100.counts == (1, 8) and a100.clouds == ("aws", "azure", "gcp")
    assert a100.memory_gib == 40
    assert a100.price_per_gpu == pytest.approx(21.96 / 8)  # aws beats gcp's 3.67 for one
    assert a100.spot_per_gpu == pytest.approx(7.9 / 8)
    t4 = rows["T4"]
    assert t4.counts == (1, 2) and t4.price_per_gpu == pytest.approx(0.526)
    assert t4.spot_per_gpu == pytest.approx(0.18)
    assert rows["A10"].counts == (0.167,)
    assert rows["A10"].price_per_gpu == pytest.approx(0.454 / 0.167)


def test_summary_filters() -> None:
    assert [s.name for s in gpu_summary(CATALOG, cloud="aws")] == ["A100", "T4"]
    only = gpu_summary(CATALOG, cloud="azure", region="westeurope")
    assert [(s.name, s.clouds, s.spot_per_gpu) for s in only] == [("A100", ("azure",), 1.0)]
    with pytest.raises(UsageError, match=r"cloud 'lambda' \(--cloud\): not in the catalog"):
        gpu_summary(CATALOG, cloud="lambda")
    with pytest.raises(NotFoundError, match=r"region 'mars-1' \(--region\): no accelerators offered there"):
        gpu_summary(CATALOG, region="mars-1")


def test_offers_cheapest_region_per_instance_type() -> None:
    rows = gpu_offers(CATALOG, "A100", 8)
    assert [(r.cloud, r.instance_type, r.region) for r in rows] == [
        ("aws", "p4d.24xlarge", "us-west-2"),  # same price as us-east-1, cheaper spot
        ("azure", "Standard_ND96asr_v4", "eastus"),
        ("gcp", "a2-highgpu-8g", "us-central1"),
    ]  # fmt: skip
    assert (rows[0].price, rows[0].spot_price, rows[0].zones) == (21.96, 7.9, ("us-west-2a",))
    assert rows[1].spot_price is None


def test_offers_all_regions_cheapest_first() -> None:
    rows = gpu_offers(CATALOG, "a100", 8, all_regions=True)  # names match case-insensitively
    assert [(r.cloud, r.region, r.price, r.spot_price) for r in rows] == [
        ("aws", "us-west-2", 21.96, 7.9),  # price ties are broken by the cheaper spot
        ("aws", "us-east-1", 21.96, 8.5),
        ("azure", "eastus", 27.20, None),
        ("azure", "westeurope", 29.00, 8.0),
        ("gcp", "us-central1", 29.39, 10.0),
    ]  # fmt: skip
    # Within a region: the cheapest zone's prices, and every zone listed.
    assert rows[1].zones == ("us-east-1a", "us-east-1b")


def test_offers_without_count_and_with_filters() -> None:
    rows = gpu_offers(CATALOG, "T4")
    assert [(r.instance_type, r.count, r.price) for r in rows] == [
        ("g4dn.xlarge", 1, 0.526), ("n1-standard-4", 1, 0.54), ("n1-standard-8", 1, 0.73),
        ("n1-standard-8", 2, 1.08)]  # fmt: skip
    assert [r.instance_type for r in gpu_offers(CATALOG, "T4", cloud="gcp", region="us-central1")
            ] == ["n1-standard-4", "n1-standard-8", "n1-standard-8"]  # fmt: skip


def test_offers_errors_say_what_exists() -> None:
    with pytest.raises(NotFoundError) as info:
        gpu_offers(CATALOG, "A100", 16)
    assert str(info.value) == "A100:16 is not offered; offered: A100:1, A100:8"
    with pytest.raises(NotFoundError, match="A100:1 is not offered on aws; offered: A100:8"):
        gpu_offers(CATALOG, "A100", 1, cloud="aws")
    with pytest.raises(NotFoundError) as info:
        gpu_offers(CATALOG, "T4", region="europe-west4")
    assert "T4 is not offered in europe-west4" in str(info.value)
    assert "us-central1, us-east-1" in str(info.value)
    with pytest.raises(NotFoundError, match="A10 is not offered on gcp"):
        gpu_offers(CATALOG, "A10", cloud="gcp")


def test_unknown_accelerator_suggests() -> None:
    with pytest.raises(NotFoundError) as info:
        gpu_offers(CATALOG, "A1000")
    assert "accelerator A1000 is not in the catalog" in str(info.value)
    assert "did you mean A100" in str(info.value)
    with pytest.raises(NotFoundError, match="stix show-gpus"):
        gpu_offers(CATALOG, "Zzzzz")


def test_a_retired_accelerator_says_who_retired_it_and_what_to_ask_for() -> None:
    with pytest.raises(NotFoundError) as info:
        gpu_offers(CATALOG, "K80")
    assert str(info.value).startswith("accelerator K80 is not offered: AWS retired its P2 ")
    assert "Azure retired its NC-series (K80) on 6 Sep 2023" in str(info.value)
    assert info.value.hint == "`stix show-gpus T4` lists what is sold instead"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A100", ("A100", None)), ("a100:8", ("a100", 8.0)), (" A100-80GB:2", ("A100-80GB", 2.0)),
     ("A10:0.5", ("A10", 0.5))],  # the name is matched to the catalog's spelling later
)  # fmt: skip
def test_parse_filter(text: str, expected: tuple[str, float | None]) -> None:
    assert parse_gpu_filter(text) == expected


@pytest.mark.parametrize("text", ["A100:x", "A100:0", ":8", "A100:-1", "A100:inf", "A100:"])
def test_parse_filter_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="accelerator"):
        parse_gpu_filter(text)
