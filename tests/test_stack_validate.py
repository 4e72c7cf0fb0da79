"""Placement checks against the catalog (mocks validate nothing)."""

from __future__ import annotations

import pytest
from stack_support import placement

from stix.catalog import Catalog, Offer
from stix.stack.validate import PlacementError, check_placement


def offer(instance_type: str, region: str, zone: str | None, acc: str | None = None,
          count: float = 0, spot: float | None = 0.5) -> Offer:
    return Offer("aws", instance_type, 8, 32, acc, count, None, region, zone, 1.0, spot)


CATALOG = Catalog([
    offer("g5.xlarge", "us-east-1", "us-east-1a", "A10G", 1),
    offer("m6i.large", "us-east-1", "us-east-1a"),
    offer("p5.48xlarge", "us-east-1", "us-east-1a", "H100", 8, spot=None),
])


def test_a_sold_placement_passes() -> None:
    check_placement(placement("aws", "g5.xlarge", region="us-east-1", zone="us-east-1a",
                              gpu=("A10G", 1), use_spot=True), CATALOG)


@pytest.mark.parametrize("kwargs, message", [
    ({"instance_type": "x9.huge"}, "sells no instance type 'x9.huge'"),
    ({"region": "eu-west-1"}, "not sold in aws eu-west-1"),
    ({"zone": "us-east-1f"}, "not sold in zone us-east-1f"),
    ({"gpu": ("A100", 1)}, "comes with A10G:1, not A100:1"),
    ({"gpu": ("A10G", 4)}, "comes with A10G:1, not A10G:4"),
    ({"gpu": None}, "comes with A10G:1, not no GPU"),
])
def test_mismatches_are_named(kwargs: dict, message: str) -> None:
    fields = {"instance_type": "g5.xlarge", "region": "us-east-1", "zone": "us-east-1a",
              "gpu": ("A10G", 1)} | kwargs
    itype = fields.pop("instance_type")
    with pytest.raises(PlacementError, match=message):
        check_placement(placement("aws", itype, **fields), CATALOG)


def test_spot_must_be_offered() -> None:
    with pytest.raises(PlacementError, match="no spot market"):
        check_placement(placement("aws", "p5.48xlarge", region="us-east-1", gpu=("H100", 8),
                                  use_spot=True), CATALOG)


def test_kubernetes_contexts_are_not_catalog_checked() -> None:
    check_placement(placement("kubernetes", "anything", region="ctx"), CATALOG)


def test_the_shipped_catalog_knows_real_types() -> None:
    check_placement(placement("gcp", "a2-highgpu-1g", region="us-central1",
                              zone="us-central1-a", gpu=("A100", 1)))
    with pytest.raises(PlacementError):
        check_placement(placement("gcp", "a2-highgpu-1g", region="us-central1",
                                  zone="us-central1-a", gpu=("T4", 1)))
