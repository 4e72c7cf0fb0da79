"""The Droplet sizes stix knows, as DigitalOcean publishes them: the size slugs of the
Droplet pricing pages and the sizes API (`GET /v2/sizes`), as of 2026-11.

Kept with the price fetcher: the sizes API gives every size's shape itself, so `TYPES` is
what the fetcher falls back on for a GPU model it cannot name, what the shipped snapshot
is checked against ("no invented rows"), and where each plan's bundled disk is recorded
(a Droplet's disk comes with its size; there is nothing to size or tier).
"""

from __future__ import annotations

from dataclasses import dataclass

from stix.clouds.base import MachineType

SOURCE = ("DigitalOcean Droplet pricing pages and the sizes API "
          "(api.digitalocean.com/v2/sizes), 2026-11")


@dataclass(frozen=True)
class Size:
    """One size slug: its shape, the GPUs it carries, its bundled disk and list price."""

    slug: str
    vcpus: int
    memory_gib: float
    disk_gb: int
    monthly: float  # USD a month (CPU sizes bill hourly up to 672 hours a month)
    hourly: float
    accelerator: str | None = None
    count: int = 0
    shared_core: bool = False


def _cpu(slug: str, vcpus: int, memory_gib: float, disk_gb: int, monthly: float,
         shared: bool = False) -> Size:
    # DigitalOcean's hourly rate for CPU sizes is the monthly price over 672 hours.
    return Size(slug, vcpus, memory_gib, disk_gb, monthly, round(monthly / 672, 5),
                shared_core=shared)


def _gpu(slug: str, vcpus: int, memory_gib: float, disk_gb: int, hourly: float,
         accelerator: str, count: int) -> Size:
    # GPU sizes bill by the hour; their monthly figure is 744 hours of it.
    return Size(slug, vcpus, memory_gib, disk_gb, round(hourly * 744, 2), hourly,
                accelerator, count)


SIZES: tuple[Size, ...] = (
    # Basic (shared CPU): regular, then premium AMD and Intel.
    _cpu("s-1vcpu-1gb", 1, 1, 25, 6, True),
    _cpu("s-1vcpu-2gb", 1, 2, 50, 12, True),
    _cpu("s-2vcpu-2gb", 2, 2, 60, 18, True),
    _cpu("s-2vcpu-4gb", 2, 4, 80, 24, True),
    _cpu("s-4vcpu-8gb", 4, 8, 160, 48, True),
    _cpu("s-8vcpu-16gb", 8, 16, 320, 96, True),
    _cpu("s-2vcpu-4gb-amd", 2, 4, 80, 28, True),
    _cpu("s-4vcpu-8gb-amd", 4, 8, 160, 56, True),
    _cpu("s-8vcpu-16gb-amd", 8, 16, 320, 112, True),
    _cpu("s-4vcpu-8gb-intel", 4, 8, 160, 56, True),
    _cpu("s-8vcpu-16gb-intel", 8, 16, 320, 112, True),
    # General Purpose (dedicated CPU, 4 GiB per vCPU).
    _cpu("g-2vcpu-8gb", 2, 8, 25, 63),
    _cpu("g-4vcpu-16gb", 4, 16, 50, 126),
    _cpu("g-8vcpu-32gb", 8, 32, 100, 252),
    _cpu("g-16vcpu-64gb", 16, 64, 200, 504),
    _cpu("g-32vcpu-128gb", 32, 128, 400, 1008),
    _cpu("g-40vcpu-160gb", 40, 160, 500, 1260),
    # CPU-Optimized (dedicated CPU, 2 GiB per vCPU).
    _cpu("c-2", 2, 4, 25, 42),
    _cpu("c-4", 4, 8, 50, 84),
    _cpu("c-8", 8, 16, 100, 168),
    _cpu("c-16", 16, 32, 200, 336),
    _cpu("c-32", 32, 64, 400, 672),
    _cpu("c-48", 48, 96, 600, 1008),
    # Memory-Optimized (dedicated CPU, 8 GiB per vCPU).
    _cpu("m-2vcpu-16gb", 2, 16, 50, 84),
    _cpu("m-4vcpu-32gb", 4, 32, 100, 168),
    _cpu("m-8vcpu-64gb", 8, 64, 200, 336),
    _cpu("m-16vcpu-128gb", 16, 128, 400, 672),
    _cpu("m-24vcpu-192gb", 24, 192, 600, 1008),
    _cpu("m-32vcpu-256gb", 32, 256, 800, 1344),
    # GPU Droplets (boot disk; the larger ones add a scratch disk).
    _gpu("gpu-4000adax1-20gb", 8, 32, 500, 0.76, "RTX4000-Ada", 1),
    _gpu("gpu-6000adax1-48gb", 8, 64, 500, 1.57, "RTX6000-Ada", 1),
    _gpu("gpu-l40sx1-48gb", 8, 64, 500, 1.57, "L40S", 1),
    _gpu("gpu-h100x1-80gb", 20, 240, 720, 3.39, "H100", 1),
    _gpu("gpu-h100x8-640gb", 160, 1920, 2046, 23.92, "H100", 8),
    _gpu("gpu-h200x1-141gb", 24, 240, 720, 3.44, "H200", 1),
    _gpu("gpu-h200x8-1128gb", 192, 1920, 2046, 27.52, "H200", 8),
    _gpu("gpu-mi300x1-192gb", 20, 240, 720, 1.99, "MI300X", 1),
    _gpu("gpu-mi300x8-1536gb", 160, 1920, 2046, 15.92, "MI300X", 8),
)
BY_SLUG: dict[str, Size] = {s.slug: s for s in SIZES}

TYPES: dict[str, MachineType] = {
    s.slug: MachineType(s.slug, s.vcpus, s.memory_gib, s.accelerator, s.count,
                        shared_core=s.shared_core)
    for s in SIZES
}

# The sizes API names a GPU model as `<vendor>_<model>`; stix's canonical names.
GPU_MODELS = {
    "nvidia_h100": "H100", "nvidia_h200": "H200", "nvidia_l40s": "L40S",
    "nvidia_rtx4000_ada": "RTX4000-Ada", "nvidia_rtx6000_ada": "RTX6000-Ada",
    "amd_mi300x": "MI300X",
}  # fmt: skip
