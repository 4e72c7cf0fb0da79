"""Nebius: which presets each region sells, at Nebius's list prices (the facts are in
`stix.clouds.nebius.machines`).

Nebius prices a preset the same in every region that sells it and has no zones, so a row
is the preset's list price in its region. Preemptible prices are published for the H100
and H200 platforms only; the other platforms' rows have no spot price. Availability is
the published one: eu-north1 sells the CPU platforms, H100, H200 and L40S; eu-west1 the
AMD CPU platform and H200; us-central1 the AMD CPU platform, H200 and B200.
"""

from __future__ import annotations

from collections.abc import Iterator

from stix.catalog.snapshot import Image, Row, Shape, row
from stix.clouds.nebius import machines as m

_D3_EU_NORTH = {p.name for p in m.CPU_D3 if p.vcpus <= 128}
REGIONS: dict[str, tuple[m.Preset, ...]] = {
    "eu-north1": (*(p for p in m.CPU_D3 if p.name in _D3_EU_NORTH), *m.CPU_E2, *m.H100,
                  *m.H200, *m.L40S_A, *m.L40S_D),
    "eu-west1": (*m.CPU_D3, *m.H200),
    "us-central1": (*m.CPU_D3, *m.H200, *m.B200),
}


def rows() -> Iterator[Row]:
    """The snapshot's rows of this cloud."""
    for region, presets in REGIONS.items():
        for p in presets:
            shape = Shape(p.name, p.vcpus, p.memory_gib, p.price, p.accelerator or "", p.count)
            yield row(shape, region, "", p.price, p.spot)


# Boot images: Nebius's public image families (each names the family's newest image in
# the region's public-images project). The CUDA family carries the NVIDIA driver.
IMAGES: tuple[Image, ...] = (
    ("gpu-ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "ubuntu22.04-cuda12",
     "Nebius image family: Ubuntu 22.04 with the NVIDIA driver and CUDA 12 (boot disks of "
     "at least 50 GiB); default GPU image"),
    ("gpu-ubuntu-24.04-x86_64", "*", "ubuntu-24.04", "ubuntu24.04-cuda12",
     "Nebius image family: Ubuntu 24.04 with the NVIDIA driver and CUDA 12"),
    ("ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "ubuntu22.04-driverless",
     "Nebius image family: Ubuntu 22.04 without GPU drivers; default CPU image"),
    ("ubuntu-24.04-x86_64", "*", "ubuntu-24.04", "ubuntu24.04-driverless",
     "Nebius image family: Ubuntu 24.04 without GPU drivers"),
)
