"""The shipped catalog snapshot (catalog_data/): it loads cleanly and its rows make sense.

These read the real files that ship with stix; nothing here is a fixture.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest

from stix.catalog import COLUMNS, Catalog, Offer, load_catalog
from stix.catalog.hardware import ACCELERATOR_MEMORY_GIB
from stix.task.values import KNOWN_ACCELERATORS

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "catalog_data"
CLOUDS = ("aws", "gcp", "azure")

# What each cloud sells, as the snapshot must show it (README's coverage table).
GPUS_SOLD = {
    "aws": {"T4", "T4g", "A10G", "L4", "L40S", "V100-32GB", "A100", "A100-80GB", "H100",
            "H200", "B200", "Trainium", "Inferentia", "Inferentia2", "Gaudi"},
    "gcp": {"T4", "P4", "P100", "V100", "L4", "A100", "A100-80GB", "H100", "H200", "B200",
            # Single-host Cloud TPU VMs.
            "tpu-v2-8", "tpu-v3-8", "tpu-v4-8", "tpu-v5litepod-1", "tpu-v5litepod-4",
            "tpu-v5litepod-8", "tpu-v5p-8", "tpu-v6e-1", "tpu-v6e-4", "tpu-v6e-8"},
    "azure": {"T4", "A10", "A100", "A100-80GB", "H100", "H100-NVL", "H200"},
}  # fmt: skip
# Memory per accelerator, GiB: one name always means one memory size (the hardware table).
GPU_MEMORY = ACCELERATOR_MEMORY_GIB
# Names the snapshot uses beyond stix.task.values.KNOWN_ACCELERATORS (reported upstream):
# Azure's NCads H100 v5 carries the 94 GB H100 NVL, which is not an 80 GB H100.
# A region name prefix per geography, so each cloud covers the US, Europe and Asia.
GEOGRAPHIES: dict[str, dict[str, tuple[str, ...]]] = {
    "aws": {"US": ("us-",), "Europe": ("eu-",), "Asia": ("ap-",)},
    "gcp": {"US": ("us-",), "Europe": ("europe-",), "Asia": ("asia-",)},
    "azure": {"US": ("eastus", "westus", "central", "southcentral", "northcentral"),
              "Europe": ("westeurope", "northeurope", "uk", "france", "germany", "sweden"),
              "Asia": ("japan", "korea", "southeastasia", "eastasia", "centralindia")},
}  # fmt: skip


@cache
def catalog() -> Catalog:
    return load_catalog(DATA)


def offers(cloud: str) -> Sequence[Offer]:
    return catalog().for_cloud(cloud)


def raw_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_default_catalog_is_the_snapshot_and_loads_without_bad_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STIX_CATALOG_DIR", raising=False)
    loaded = load_catalog()
    assert loaded.bad_rows == []
    # The three clouds checked in depth here, and the others' shipped folders.
    assert set(CLOUDS) <= set(loaded.clouds)
    assert loaded.clouds == sorted(p.name for p in DATA.iterdir() if (p / "vms.csv").is_file())
    assert len(loaded.offers) == len(catalog().offers)
    for cloud in CLOUDS:
        # Header plus one offer per data row: nothing skipped silently.
        assert len(raw_rows(DATA / cloud / "vms.csv")) - 1 == len(offers(cloud))


def test_size_is_sensible() -> None:
    total = sum((DATA / c / "vms.csv").stat().st_size for c in CLOUDS)
    assert total < 10 * 2**20
    assert 3_000 <= len(catalog().offers) <= 30_000


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_gpu_the_cloud_sells_is_there(cloud: str) -> None:
    present = {o.accelerator for o in offers(cloud) if o.accelerator}
    assert present == GPUS_SOLD[cloud]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_cpu_families_include_x86_and_arm64(cloud: str) -> None:
    cpu = [o for o in offers(cloud) if o.accelerator is None]
    assert {o.arch for o in offers(cloud)} == {"x86_64", "arm64"}
    assert {o.arch for o in cpu} == {"x86_64", "arm64"}
    # Compute optimized, general purpose and memory optimized: GiB per vCPU.
    ratios = {o.memory_gib / o.vcpus for o in cpu}
    assert {1.0 if cloud == "gcp" else 2.0, 4.0, 8.0} <= ratios


@pytest.mark.parametrize("cloud", CLOUDS)
def test_covers_us_europe_and_asia_for_cpu_and_gpu(cloud: str) -> None:
    for kind, rows in (("CPU", [o for o in offers(cloud) if o.accelerator is None]),
                       ("GPU", [o for o in offers(cloud) if o.accelerator])):
        regions = {o.region for o in rows}
        for geo, prefixes in GEOGRAPHIES[cloud].items():
            assert any(r.startswith(prefixes) for r in regions), f"{cloud} {kind}: no {geo}"


def test_accelerator_names_are_canonical() -> None:
    # Canonical task names, plus the newer parts the hardware table knows (Inferentia2).
    names = set(catalog().accelerator_names())
    assert names <= set(KNOWN_ACCELERATORS) | set(ACCELERATOR_MEMORY_GIB)


def test_gpu_memory_is_consistent_per_accelerator_name() -> None:
    seen: dict[str, set[float | None]] = defaultdict(set)
    for o in catalog().offers:
        if o.accelerator:
            seen[o.accelerator].add(o.accelerator_memory_gib)
        else:
            assert o.accelerator_memory_gib is None and o.accelerator_count == 0
    assert {name: mems for name, mems in seen.items()} == {
        name: {float(GPU_MEMORY[name])} for name in seen
    }


def test_prices_are_positive_and_spot_is_cheaper() -> None:
    for o in catalog().offers:
        where = f"{o.cloud} {o.instance_type} {o.region} {o.zone}"
        assert o.price > 0, where
        assert o.vcpus > 0 and o.memory_gib > 0, where
        if o.spot_price is not None:
            assert 0 < o.spot_price < o.price, where


# Shapes sold without a spot market: OCI's preemptible capacity is for VM shapes only;
# Nebius sells preemptible VMs on its H100 and H200 platforms only.
NO_SPOT_SHAPES = {"oci": ("BM.",), "nebius": ("cpu-", "gpu-l40s-", "gpu-b200-")}
# RunPod: CPU pods are on demand only; these GPU types have no interruptible price.
NO_SPOT_SHAPES["runpod"] = ("cpu", *(f"{n}x_{gpu}_" for n in (1, 2, 4, 8) for gpu in (
    "A100-80GB-SXM", "A40", "B200", "H100", "H100-NVL", "L4", "MI300X", "RTX3090",
    "RTX4000-Ada", "RTX6000-Ada", "RTXA4000", "RTXA5000")))


def test_spot_is_mostly_offered_and_missing_only_where_not_sold() -> None:
    # Every family the snapshot lists has a spot market (p5e, which is sold only through
    # capacity blocks, is left out: it has no published on-demand price).
    # Clouds without a spot market (capabilities.spot False) have no spot prices at all.
    from stix.clouds import registry

    no_spot = {(o.cloud, o.instance_type) for o in catalog().offers if o.spot_price is None
               and registry.cloud(o.cloud).capabilities.spot
               and not o.instance_type.startswith(NO_SPOT_SHAPES.get(o.cloud, ()))}
    assert no_spot == set()
    for o in catalog().offers:
        if not registry.cloud(o.cloud).capabilities.spot:
            assert o.spot_price is None, o


def test_aws_spot_prices_vary_by_zone_gcp_and_azure_by_region() -> None:
    spots: dict[tuple[str, str, str], set[float | None]] = defaultdict(set)
    for o in catalog().offers:
        spots[(o.cloud, o.instance_type, o.region)].add(o.spot_price)
    aws_multi_zone = [k for k in spots if k[0] == "aws" and len(spots[k]) > 1]
    assert len(aws_multi_zone) > 100
    assert all(len(v) == 1 for k, v in spots.items() if k[0] == "gcp" and k[1][:3] != "n1-")


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_zones_belong_to_their_region(cloud: str) -> None:
    pattern = {"aws": r"{region}[a-f]", "gcp": r"{region}-[a-f]"}[cloud]
    for o in offers(cloud):
        assert o.zone is not None, o
        assert o.zone.startswith(o.region), o
        assert re.fullmatch(pattern.format(region=re.escape(o.region)), o.zone), o


def test_azure_prices_per_region_without_zones() -> None:
    assert {o.zone for o in offers("azure")} == {None}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_no_duplicate_offer_keys(cloud: str) -> None:
    keys = [(o.instance_type, o.region, o.zone, o.accelerator, o.accelerator_count)
            for o in offers(cloud)]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("cloud", CLOUDS)
def test_files_are_sorted(cloud: str) -> None:
    header, *rows = raw_rows(DATA / cloud / "vms.csv")
    assert tuple(header) == COLUMNS

    def key(r: list[str]) -> tuple[str, str, float, str, str]:
        return (r[0], r[3], float(r[4]), r[6], r[7])

    assert rows == sorted(rows, key=key)


def test_gcp_n1_gpu_rows_are_host_plus_per_gpu_price() -> None:
    """GCP GPU-on-N1 rows are priced host + count x one per-GPU price in that region."""
    host = {(o.instance_type, o.zone): o for o in offers("gcp")
            if o.instance_type.startswith("n1-") and o.accelerator is None}
    per_gpu: dict[tuple[str, str], set[float]] = defaultdict(set)
    paired = 0
    for o in offers("gcp"):
        if not (o.instance_type.startswith("n1-") and o.accelerator):
            continue
        base = host[(o.instance_type, o.zone)]
        assert (o.vcpus, o.memory_gib) == (base.vcpus, base.memory_gib)
        per_gpu[(o.accelerator, o.region)].add((o.price - base.price) / o.accelerator_count)
        paired += 1
    assert paired > 500
    assert {acc for acc, _ in per_gpu} == {"T4", "V100", "P100", "P4"}
    for where, prices in per_gpu.items():  # equal up to the 4-decimal rounding of prices
        assert max(prices) - min(prices) < 2e-4, where
    assert min(per_gpu[("T4", "us-central1")]) == pytest.approx(0.35, abs=1e-4)


def test_known_offerings_have_their_published_shape() -> None:
    def one(cloud: str, name: str, acc: str | None = None) -> Offer:
        return next(o for o in offers(cloud) if o.instance_type == name and o.accelerator == acc)

    p5 = one("aws", "p5.48xlarge", "H100")
    assert (p5.vcpus, p5.memory_gib, p5.accelerator_count) == (192, 2048, 8)
    a2 = one("gcp", "a2-highgpu-1g", "A100")
    assert (a2.vcpus, a2.memory_gib, a2.accelerator_count) == (12, 85, 1)
    nv = one("azure", "Standard_NV6ads_A10_v5", "A10")
    assert nv.accelerator_count == pytest.approx(1 / 6, abs=1e-3)
    g4 = [o for o in offers("aws") if o.instance_type == "g4dn.xlarge" and o.region == "us-east-1"]
    assert {o.price for o in g4} == {0.526}


def test_generator_reproduces_the_shipped_files() -> None:
    """The CSVs are exactly what catalog_data/_build/gen.py writes from each cloud's facts.

    If the shipped snapshot is ever replaced by `stix catalog update` output, retire this
    test together with catalog_data/_build/.
    """
    gen = DATA / "_build" / "gen.py"
    done = subprocess.run([sys.executable, str(gen), "--check"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_readme_documents_every_column_and_the_snapshot_date() -> None:
    text = (DATA / "README.md").read_text(encoding="utf-8")
    assert "2026-11" in text
    for column in COLUMNS:
        assert f"`{column}`" in text, column
    for source in ("Azure Retail Prices API", "AWS Price List", "Cloud Billing Catalog API"):
        assert source in text


# ------------------------------------------------------------------------ images.csv
IMAGE_REF = {
    "aws": r"resolve:ssm:/aws/service/((canonical/ubuntu/server|deeplearning/ami)/\S+/ami-id|"
           r"neuron/dlami/\S+/image_id)",
    "gcp": r"projects/[a-z0-9-]+/global/images/family/[a-z0-9-]+",
    "azure": r"[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:latest",
}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_images_parse_and_cover_cpu_gpu_and_arch(cloud: str) -> None:
    header, *rows = raw_rows(DATA / cloud / "images.csv")
    assert header == ["tag", "region", "os", "image_ref", "notes"]
    assert rows == sorted(rows)
    tags = [r[0] for r in rows]
    assert len(tags) == len(set(tags))
    regions = {o.region for o in offers(cloud)}
    for tag, region, os_name, ref, _notes in rows:
        assert re.fullmatch(r"((gpu|neuron|rocm)-)?ubuntu-\d\d\.\d\d-(x86_64|arm64)", tag), tag
        assert os_name == re.sub(r"^(gpu|neuron|rocm)-", "", tag).rsplit("-", 1)[0]
        assert region == "*" or region in regions
        assert re.fullmatch(IMAGE_REF[cloud], ref), ref
    # Defaults the README promises: a CPU image per arch, and a GPU image.
    assert {"ubuntu-22.04-x86_64", "ubuntu-22.04-arm64", "gpu-ubuntu-22.04-x86_64"} <= set(tags)


# ------------------------------------------------------------------------ provenance, facts


def test_every_snapshot_price_says_it_is_estimated() -> None:
    from stix.catalog.snapshot import SNAPSHOT_DATE

    # No fetcher read these figures: nothing in the snapshot may claim to be observed.
    for o in catalog().offers:
        assert o.price_source == "estimated", o
        assert o.spot_origin == ("none" if o.spot_price is None else "estimated"), o
        assert o.as_of == SNAPSHOT_DATE, o


@pytest.mark.parametrize("cloud", CLOUDS)
def test_snapshot_types_are_in_the_published_type_list(cloud: str) -> None:
    """No invented rows: every type the snapshot ships is one the cloud publishes, with the
    vCPUs, memory and accelerators the published list gives it."""
    from stix.clouds import registry

    provider = registry.cloud(cloud)
    types = provider.machine_types()
    missing = sorted({o.instance_type for o in offers(cloud)} - set(types))
    assert missing == []
    for o in offers(cloud):
        assert provider.check_offer(o.instance_type, o.vcpus, o.memory_gib, o.accelerator,
                                    o.accelerator_count) == "", o


def test_the_snapshot_passes_its_own_check() -> None:
    from stix.catalog.check import suspects

    assert suspects(catalog().offers) == []


def test_accelerators_boot_their_own_stack_never_another_vendors() -> None:
    from stix.clouds.images import image_ref
    from stix.placement import Placement, PlacementAccelerator

    def ref(acc: str, itype: str, arch: str = "x86_64") -> str:
        return image_ref(Placement(cluster="c", cloud="aws", region="us-east-1",
                                   instance_type=itype, vcpus=4, memory_gib=16, arch=arch,
                                   accelerator=PlacementAccelerator(name=acc, count=1),
                                   hourly_price=1.0))  # fmt: skip

    assert "neuron/dlami" in ref("Inferentia2", "inf2.xlarge")
    assert "deeplearning/ami" in ref("A10G", "g5.xlarge")
    assert "canonical/ubuntu" in ref("Gaudi", "dl1.24xlarge")  # no Gaudi image: plain Ubuntu
    assert "canonical/ubuntu" in ref("T4g", "g5g.xlarge", "arm64")  # no arm64 NVIDIA image


def test_the_snapshot_sells_no_machine_type_its_cloud_retired() -> None:
    """The plan is the truth: a type a cloud retired would plan, then fail at `up`."""
    from stix.clouds import registry

    checked = 0
    for cloud in catalog().clouds:
        facts = getattr(registry.get(cloud), "retired", ()) if registry.served(cloud) else ()
        for fact in facts:
            checked += 1
            sold = {o.instance_type for o in offers(cloud) if fact.names(o.instance_type)}
            assert not sold, (cloud, fact.accelerator, sorted(sold))
    assert checked >= 3  # AWS's P3 and P2, Azure's NC and NCv3
