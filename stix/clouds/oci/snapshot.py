"""OCI: regions, where each shape is sold, and the price list's pay-as-you-go prices.

OCI prices a part the same in every commercial region (its "consistent global pricing"),
so a shape costs the same wherever it is sold; what differs by region is availability.
Preemptible capacity, OCI's spot, is always half the on-demand price and exists on VM
shapes only (no bare metal). OCI's availability domains have tenancy-specific names, so
rows are per region (no zone) and the stack picks the domain by number.
"""

from __future__ import annotations

from collections.abc import Iterator

from stix.catalog.snapshot import Image, Row, Shape, row
from stix.clouds.oci import machines

# USD per unit-hour, PAY_AS_YOU_GO (the OCI price list, transcribed by hand): OCPU and
# GB of memory for the flexible shapes, one GPU for the GPU shapes (host included).
PART_PRICES: dict[str, float] = {
    "B93113": 0.025, "B93114": 0.0015,  # Standard - E4: OCPU, memory
    "B97384": 0.03, "B97385": 0.002,  # Standard - E5
    "B94176": 0.04, "B94177": 0.0015,  # Standard - X9 (Standard3)
    "B93297": 0.01, "B93298": 0.0015,  # Standard - A1 (Ampere; beyond the free tier)
    "B89734": 1.275,  # GPU Standard - V2 (P100)
    "B92740": 2.95,  # GPU - E3 (V100)
    "B95909": 2.0,  # GPU - A10
    "B93544": 3.05,  # GPU - E4 (A100 40 GB)
    "B95907": 4.0,  # GPU - A100 - v2 (A100 80 GB)
    "B98415": 10.0,  # GPU - H100
    "B110519": 10.0,  # GPU - H200
    "B109479": 3.5,  # GPU - L40S
    "B109485": 6.0,  # GPU - MI300X
}  # fmt: skip
PREEMPTIBLE_FACTOR = 0.5

REGIONS = (
    "us-ashburn-1", "us-phoenix-1", "us-sanjose-1", "us-chicago-1", "ca-toronto-1",
    "sa-saopaulo-1", "eu-frankfurt-1", "eu-amsterdam-1", "uk-london-1", "eu-paris-1",
    "eu-stockholm-1", "ap-tokyo-1", "ap-osaka-1", "ap-seoul-1", "ap-singapore-1",
    "ap-mumbai-1", "ap-sydney-1",
)  # fmt: skip
_NEWER_CPU = ("us-ashburn-1", "us-phoenix-1", "us-sanjose-1", "us-chicago-1", "ca-toronto-1",
              "eu-frankfurt-1", "eu-amsterdam-1", "uk-london-1", "ap-tokyo-1", "ap-osaka-1",
              "ap-singapore-1", "ap-mumbai-1", "ap-sydney-1")  # fmt: skip
# Where each shape (family) is sold, after OCI's per-region shape availability tables.
WHERE: dict[str, tuple[str, ...]] = {
    "VM.Standard.E4.Flex": REGIONS,
    "VM.Standard.A1.Flex": REGIONS,
    "VM.Standard.E5.Flex": _NEWER_CPU,
    "VM.Standard3.Flex": _NEWER_CPU,
    "P100": ("us-ashburn-1", "us-phoenix-1", "eu-frankfurt-1", "uk-london-1"),
    "V100": ("us-ashburn-1", "us-phoenix-1", "eu-frankfurt-1", "uk-london-1", "ap-tokyo-1"),
    "A10": ("us-ashburn-1", "us-phoenix-1", "us-sanjose-1", "us-chicago-1", "ca-toronto-1",
            "sa-saopaulo-1", "eu-frankfurt-1", "eu-amsterdam-1", "uk-london-1", "ap-tokyo-1",
            "ap-osaka-1", "ap-seoul-1", "ap-mumbai-1", "ap-sydney-1"),
    "A100": ("us-ashburn-1", "us-phoenix-1", "eu-frankfurt-1", "uk-london-1", "ap-osaka-1"),
    "A100-80GB": ("us-ashburn-1", "us-chicago-1", "eu-frankfurt-1", "ap-osaka-1"),
    "H100": ("us-ashburn-1", "us-chicago-1", "eu-frankfurt-1", "uk-london-1", "ap-osaka-1"),
    "H200": ("us-ashburn-1", "us-chicago-1"),
    "L40S": ("us-ashburn-1", "us-chicago-1", "eu-frankfurt-1", "ap-osaka-1"),
    "MI300X": ("us-chicago-1",),
}  # fmt: skip


def price(instance_type: str, parts: dict[str, float]) -> float | None:
    """The shape's on-demand $/h from per-part prices (None: a part is not priced)."""
    shape, vcpus, memory = machines.split(instance_type)
    flex = machines.FLEX.get(shape)
    if flex is not None and vcpus is not None and memory is not None:
        if flex.ocpu_part not in parts or flex.memory_part not in parts:
            return None
        ocpus = vcpus / flex.vcpus_per_ocpu
        return ocpus * parts[flex.ocpu_part] + memory * parts[flex.memory_part]
    gpu = machines.GPU.get(instance_type)
    if gpu is None or gpu.gpu_part not in parts:
        return None
    return gpu.count * parts[gpu.gpu_part]


def spot(instance_type: str, on_demand: float) -> float | None:
    """The preemptible $/h (None: the shape has no preemptible capacity)."""
    return on_demand * PREEMPTIBLE_FACTOR if machines.preemptible(instance_type) else None


def regions_of(instance_type: str) -> tuple[str, ...]:
    """Where the snapshot says the shape is sold."""
    shape, _, _ = machines.split(instance_type)
    gpu = machines.GPU.get(shape)
    return WHERE[gpu.accelerator if gpu is not None else shape]


def rows() -> Iterator[Row]:
    """The snapshot's rows of this cloud."""
    for name, known in machines.TYPES.items():
        hourly = price(name, PART_PRICES)
        assert hourly is not None, name
        shape = Shape(name, known.vcpus, known.memory_gib, hourly, known.accelerator or "",
                      known.count, known.arch)
        for region in regions_of(name):
            assert region in REGIONS, region
            yield row(shape, region, "", hourly, spot(name, hourly))


# Boot images: references the program resolves per region with OCI's image list (the
# newest platform image of that OS and version compatible with the shape).
IMAGES: tuple[Image, ...] = (
    ("ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "platform:Canonical Ubuntu:22.04",
     "OCI platform image (Canonical-Ubuntu-22.04-<date>), resolved per region; default "
     "CPU image"),
    ("ubuntu-22.04-arm64", "*", "ubuntu-22.04", "platform:Canonical Ubuntu:22.04",
     "OCI platform image (Canonical-Ubuntu-22.04-aarch64-<date>) for Ampere shapes, "
     "resolved per region"),
    ("gpu-ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "platform:Canonical Ubuntu:22.04:gpu",
     "OCI platform GPU image (Canonical-Ubuntu-22.04-Gen2-GPU-<date>: NVIDIA driver and "
     "CUDA), resolved per region; default GPU image"),
)
