"""What each cloud says its nodes bill besides machines: every disk tier its program uses
is priced, addresses follow what the stack holds, and the not-counted list says the rest."""

from __future__ import annotations

import importlib

import pytest

from stix.clouds import registry
from stix.clouds.base import HOURS_PER_MONTH
from stix.placement import Bucket, Placement

VM_CLOUDS = ("aws", "gcp", "azure")
TIERS = ("low", "medium", "high", "ultra")


def placement(cloud: str, **more: object) -> Placement:
    region = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}[cloud]
    fields: dict[str, object] = {"cluster": "c", "cloud": cloud, "region": region,
                                 "instance_type": "x", "vcpus": 4, "memory_gib": 16,
                                 "hourly_price": 1.0, "disk_size": 256, **more}
    return Placement.model_validate(fields)


@pytest.mark.parametrize("cloud", VM_CLOUDS)
def test_every_disk_tier_of_the_program_is_priced(cloud: str) -> None:
    program = importlib.import_module(f"stix.clouds.{cloud}.program")
    provider = registry.cloud(cloud)
    assert set(program.DISK) == set(TIERS)
    prices = [provider.disk_hourly(t, 256, placement(cloud).region) for t in TIERS]
    assert all(p is not None and p > 0 for p in prices), prices
    assert prices[0] <= prices[1] <= prices[2]  # low ≤ medium ≤ high


def test_aws_counts_provisioned_iops_and_throughput() -> None:
    from stix.clouds.aws import costs

    aws = registry.cloud("aws")
    low = aws.disk_hourly("low", 100, "us-east-1")
    high = aws.disk_hourly("high", 100, "us-east-1")
    ultra = aws.disk_hourly("ultra", 100, "us-east-1")
    assert low == pytest.approx(100 * 0.08 / HOURS_PER_MONTH)
    # gp3 7000 IOPS / 750 MB/s: 4000 IOPS and 625 MB/s above what gp3 includes
    assert high == pytest.approx((8 + 4000 * 0.005 + 625 * 0.04) / HOURS_PER_MONTH)
    # io2 20,000 IOPS at $0.065 each: the ultra tier costs more than most machines
    assert ultra == pytest.approx((100 * 0.125 + 20_000 * 0.065) / HOURS_PER_MONTH)
    assert costs.disk_price_gb_month("ultra") == 0.125


def test_azure_bills_by_size_step() -> None:
    azure = registry.cloud("azure")
    assert azure.disk_hourly("high", 200, "eastus") == azure.disk_hourly("high", 256, "eastus")
    assert azure.disk_hourly("high", 257, "eastus") == pytest.approx(73.22 / HOURS_PER_MONTH)
    assert azure.disk_hourly("high", 40_000, "eastus") is None  # past the largest step
    assert azure.disk_price_gb_month("high", "eastus") is None  # not priced by the GB


@pytest.mark.parametrize(("cloud", "running", "stopped"), [
    ("aws", 0.005, 0.0), ("gcp", 0.005, 0.0), ("azure", 0.005, 0.005)])
def test_addresses(cloud: str, running: float, stopped: float) -> None:
    charges = registry.cloud(cloud).node_charges(placement(cloud))
    (address,) = [c for c in charges if c.kind == "address"]
    assert (address.running, address.stopped) == (running, stopped)
    (disk,) = [c for c in charges if c.kind == "disk"]
    assert disk.running == disk.stopped and "256 GB" in disk.what


def test_a_gcp_spot_address_is_half_price() -> None:
    charges = registry.cloud("gcp").node_charges(placement("gcp", use_spot=True))
    assert [c.running for c in charges if c.kind == "address"] == [0.0025]


@pytest.mark.parametrize("cloud", VM_CLOUDS)
def test_buckets_of_the_cluster_are_not_counted(cloud: str) -> None:
    store = registry.store_of(cloud)
    assert store is not None
    p = placement(cloud, buckets=[Bucket(store=store, name="scratch-x", mount_path="/d",
                                         persistent=False, account="acct")])
    assert any("bucket scratch-x" in n for n in registry.cloud(cloud).not_counted(p))


def test_pods_bill_nothing_per_pod() -> None:
    k8s = registry.cloud("kubernetes")
    p = Placement(cluster="c", cloud="kubernetes", region="ctx", instance_type="pod",
                  vcpus=2, memory_gib=4, hourly_price=0.0, ports=[8080])
    assert k8s.node_charges(p) == []
    assert any("LoadBalancer" in n for n in k8s.not_counted(p))
