"""The facts behind the shipped `catalog_data/lambda/` snapshot: every type of the
published list (`machines.py`) in each region below, at its list price (Lambda prices a
type the same everywhere). Which types have capacity in which region changes by the hour
(the API's `regions_with_capacity_available`); a launch without capacity fails over."""

from __future__ import annotations

from stix.catalog.snapshot import Image, Row, Shape, row
from stix.clouds.lambda_cloud.machines import PRICES, TYPES

REGIONS = ("asia-northeast-1", "europe-central-1", "us-east-1", "us-east-2", "us-midwest-1",
           "us-south-1", "us-west-1", "us-west-2", "us-west-3")

IMAGES: tuple[Image, ...] = tuple(
    (f"{prefix}ubuntu-22.04-{arch}", "*", "ubuntu-22.04", "lambda-default",
     "Lambda's default image (Ubuntu with Lambda Stack: NVIDIA driver, CUDA, PyTorch); "
     "the launch names no image")
    for prefix in ("", "gpu-") for arch in ("x86_64", "arm64"))


def rows() -> list[Row]:
    out: list[Row] = []
    for name, t in TYPES.items():
        shape = Shape(name, t.vcpus, t.memory_gib, PRICES[name], t.accelerator or "",
                      t.count, t.arch)
        out.extend(row(shape, region, "", PRICES[name], None) for region in REGIONS)
    return out
