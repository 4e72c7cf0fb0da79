"""DigitalOcean Droplets: which sizes each region sells, at DigitalOcean's list prices.

DigitalOcean charges the same for a size in every region and has no spot market, so a row
is the size's list price wherever it is sold (no zones, no spot price). Availability is
the published one as of the snapshot: CPU sizes in the general-purpose regions, GPU
Droplets in the few data centers that have them (NYC2, TOR1, ATL1, and AMS3 for 8 × H100).
"""

from __future__ import annotations

from collections.abc import Iterator

from stix.catalog.snapshot import Image, Row, Shape, row
from stix.clouds.digitalocean.machines import SIZES, Size

CPU_REGIONS = ("ams3", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo3", "sgp1", "syd1", "tor1")
GPU_REGIONS: dict[str, tuple[str, ...]] = {
    "gpu-4000adax1-20gb": ("tor1",),
    "gpu-6000adax1-48gb": ("tor1",),
    "gpu-l40sx1-48gb": ("tor1",),
    "gpu-h100x1-80gb": ("atl1", "nyc2", "tor1"),
    "gpu-h100x8-640gb": ("ams3", "atl1", "nyc2", "tor1"),
    "gpu-h200x1-141gb": ("atl1",),
    "gpu-h200x8-1128gb": ("atl1",),
    "gpu-mi300x1-192gb": ("atl1",),
    "gpu-mi300x8-1536gb": ("atl1",),
}


def regions_of(size: Size) -> tuple[str, ...]:
    return GPU_REGIONS[size.slug] if size.accelerator else CPU_REGIONS


def rows() -> Iterator[Row]:
    """The snapshot's rows of this cloud."""
    for size in SIZES:
        shape = Shape(size.slug, size.vcpus, size.memory_gib, size.hourly,
                      size.accelerator or "", size.count)
        for region in regions_of(size):
            yield row(shape, region, "", size.hourly, None)


# Boot images: public image slugs, which always name the current build.
IMAGES: tuple[Image, ...] = (
    ("gpu-ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "gpu-h100x1-base",
     "NVIDIA AI/ML Ready image (driver, CUDA); the 8-GPU sizes get its NVLink build "
     "gpu-h100x8-base; default GPU image"),
    ("rocm-ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "gpu-amd-base",
     "AMD AI/ML Ready image (ROCm): default for MI300X"),
    ("ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "ubuntu-22-04-x64",
     "Canonical Ubuntu 22.04 distribution image; default CPU image"),
    ("ubuntu-24.04-x86_64", "*", "ubuntu-24.04", "ubuntu-24-04-x64",
     "Canonical Ubuntu 24.04 distribution image"),
)
