"""Shapes and families: the vocabulary the per-cloud fact files are written in.

The facts are the shipped catalog snapshot (2026-11), written down by hand.

Prices are on-demand list prices, USD/h, Linux, in each cloud's reference region
(AWS us-east-1, GCP us-central1, Azure eastus). Other regions are priced by a per-region
factor (CPU and GPU factors differ), which is how the public price pages relate them to
within a few percent. Spot discounts are ranges; gen.py picks a deterministic point in the
range per zone (AWS) or per region (GCP, Azure), the level at which each cloud sets them.
Run `stix catalog update` for live figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Memory per accelerator, GiB. One name, one figure: variants with other memory get
# their own canonical name (V100-32GB, A100-80GB, H100-NVL).
ACC_MEMORY: dict[str, float] = {
    "T4": 16, "P4": 8, "P100": 16, "V100": 16, "V100-32GB": 32, "A10": 24, "A10G": 24,
    "L4": 24, "L40S": 48, "A100": 40, "A100-80GB": 80, "H100": 80, "H100-NVL": 94,
    "H200": 141, "B200": 180,
}  # fmt: skip


@dataclass(frozen=True)
class Shape:
    """One instance type: its size, what it carries, and its reference-region price."""

    name: str
    vcpus: float
    memory: float
    price: float
    acc: str = ""
    count: float = 0
    arch: str = "x86_64"


@dataclass(frozen=True)
class Family:
    """Shapes sold together in the same places, with one spot discount range.

    `where` maps region -> zone suffixes ("abc"); None means every region/zone of the
    cloud. `spot` is (min, max) fraction off on-demand; None means no spot market.
    `gpu` selects the GPU regional factor instead of the CPU one.
    """

    shapes: tuple[Shape, ...]
    spot: tuple[float, float] | None
    where: dict[str, str] | None = None
    gpu: bool = False
    no_spot_regions: frozenset[str] = field(default_factory=frozenset)


def sized(prefix: str, sizes: dict[str, float], mem_per_vcpu: float, per_vcpu: float,
          arch: str = "x86_64", fmt: str = "{prefix}.{size}") -> tuple[Shape, ...]:
    """A CPU family priced linearly per vCPU, as the clouds price within a family."""
    return tuple(
        Shape(fmt.format(prefix=prefix, size=size), n, n * mem_per_vcpu, n * per_vcpu,
              arch=arch)
        for size, n in sizes.items()
    )




@dataclass(frozen=True)
class Attach:
    """A GPU that attaches to N1 hosts (GCP): one row per (host, count) pairing.

    `hosts` maps GPU count -> the N1 machine types that make a sensible pairing (within
    GCP's vCPU/memory limits for that count). The row is priced host + count x `price`.
    """

    acc: str
    price: float
    spot: tuple[float, float]
    hosts: dict[int, tuple[str, ...]]
    where: dict[str, str]
