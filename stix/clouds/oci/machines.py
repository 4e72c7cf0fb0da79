"""The OCI compute shapes stix knows, as Oracle publishes them ("Compute Shapes" in the
OCI documentation, and the price list's part numbers, as of 2026-11).

Kept with the price fetcher: OCI's price list prices parts (an OCPU-hour, a GB-hour of
memory, a GPU-hour), not shapes, and says nothing of a shape's OCPUs, memory or GPUs, so
the fetcher prices each shape here from its parts. A flexible shape has no fixed size:
stix lists a few sizes of each under SkyPilot's spelling, `<shape>$_<vCPUs>_<GiB>`
(`VM.Standard.E4.Flex$_8_32`), and the program asks OCI for that many OCPUs and that
much memory. One OCPU is two vCPUs on x86 shapes and one on Ampere A1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stix.clouds.base import MachineType

SOURCE = ("OCI documentation, Compute Shapes (docs.oracle.com/iaas/Content/Compute/"
          "References/computeshapes.htm) and the OCI price list's part numbers, 2026-11")
SIZE_SEPARATOR = "$_"


@dataclass(frozen=True)
class Flex:
    """A flexible VM shape: its limits and the price list parts that bill it."""

    arch: str
    vcpus_per_ocpu: int
    max_ocpus: int
    max_memory_gb: float
    ocpu_part: str
    memory_part: str
    # The sizes stix lists: vCPUs, and GiB per vCPU for each.
    vcpus: tuple[int, ...]
    gib_per_vcpu: tuple[int, ...]


@dataclass(frozen=True)
class Fixed:
    """A shape with its GPUs built in, billed per GPU-hour (OCPUs and memory included)."""

    ocpus: int
    memory_gb: float
    accelerator: str
    count: int
    gpu_part: str


FLEX: dict[str, Flex] = {
    "VM.Standard.E4.Flex": Flex("x86_64", 2, 64, 1024, "B93113", "B93114",
                                (2, 4, 8, 16, 32, 64, 128), (2, 4, 8)),
    "VM.Standard.E5.Flex": Flex("x86_64", 2, 94, 1049, "B97384", "B97385",
                                (2, 4, 8, 16, 32, 64, 128), (2, 4, 8)),
    "VM.Standard3.Flex": Flex("x86_64", 2, 32, 512, "B94176", "B94177",
                              (2, 4, 8, 16, 32, 64), (4, 8)),
    "VM.Standard.A1.Flex": Flex("arm64", 1, 80, 512, "B93297", "B93298",
                                (1, 2, 4, 8, 16, 32, 64), (2, 4, 6)),
}

# Shape → (OCPUs, GiB, accelerator, count, the part billing one GPU-hour).
GPU: dict[str, Fixed] = {
    "VM.GPU2.1": Fixed(12, 72, "P100", 1, "B89734"),
    "BM.GPU2.2": Fixed(28, 192, "P100", 2, "B89734"),
    "VM.GPU3.1": Fixed(6, 90, "V100", 1, "B92740"),
    "VM.GPU3.2": Fixed(12, 180, "V100", 2, "B92740"),
    "VM.GPU3.4": Fixed(24, 360, "V100", 4, "B92740"),
    "BM.GPU3.8": Fixed(52, 768, "V100", 8, "B92740"),
    "VM.GPU.A10.1": Fixed(15, 240, "A10", 1, "B95909"),
    "VM.GPU.A10.2": Fixed(30, 480, "A10", 2, "B95909"),
    "BM.GPU.A10.4": Fixed(64, 1024, "A10", 4, "B95909"),
    "BM.GPU4.8": Fixed(64, 2048, "A100", 8, "B93544"),
    "BM.GPU.A100-v2.8": Fixed(128, 2048, "A100-80GB", 8, "B95907"),
    "BM.GPU.H100.8": Fixed(112, 2048, "H100", 8, "B98415"),
    "BM.GPU.H200.8": Fixed(112, 3072, "H200", 8, "B110519"),
    "BM.GPU.L40S-NC.4": Fixed(112, 1024, "L40S", 4, "B109479"),
    "BM.GPU.MI300X.8": Fixed(112, 2048, "MI300X", 8, "B109485"),
}

_SIZED = re.compile(r"(?P<shape>.+)\$_(?P<vcpus>\d+)_(?P<memory>\d+(?:\.\d+)?)")


def split(instance_type: str) -> tuple[str, float | None, float | None]:
    """(shape, vCPUs, GiB) of a stix/SkyPilot instance type; sizes None for fixed shapes."""
    m = _SIZED.fullmatch(instance_type)
    if m is None:
        return instance_type, None, None
    return m["shape"], float(m["vcpus"]), float(m["memory"])


def sized(shape: str, vcpus: float, memory_gib: float) -> str:
    return f"{shape}{SIZE_SEPARATOR}{vcpus:g}_{memory_gib:g}"


def ocpus(instance_type: str) -> tuple[float, float] | None:
    """(OCPUs, GiB) to ask OCI for a flexible size (None: a fixed shape)."""
    shape, vcpus, memory = split(instance_type)
    flex = FLEX.get(shape)
    if flex is None or vcpus is None or memory is None:
        return None
    return vcpus / flex.vcpus_per_ocpu, memory


def flex_problem(instance_type: str) -> str:
    """Why a flexible size is not one OCI can launch ("" when it can)."""
    shape, vcpus, memory = split(instance_type)
    flex = FLEX.get(shape)
    if flex is None or vcpus is None or memory is None:
        return ""
    count = vcpus / flex.vcpus_per_ocpu
    if count != int(count) or not 1 <= count <= flex.max_ocpus:
        return f"{shape} takes 1 to {flex.max_ocpus} whole OCPUs, not {count:g}"
    if not max(1.0, count) <= memory <= min(64 * count, flex.max_memory_gb):
        return (f"{shape} takes 1 to 64 GB per OCPU, at most {flex.max_memory_gb:g} GB: "
                f"{memory:g} GB for {count:g} OCPUs is outside that")
    return ""


def is_bare_metal(instance_type: str) -> bool:
    return instance_type.startswith("BM.")


def preemptible(instance_type: str) -> bool:
    """OCI offers preemptible capacity on VM shapes only (no bare metal, no burstable)."""
    return not is_bare_metal(instance_type)


def billed_when_stopped(instance_type: str) -> bool:
    """OCI bills a stopped instance of a GPU shape in full (its GPUs stay reserved), except
    the VM.GPU.A10 series; standard and optimized VMs stop billing when stopped."""
    return instance_type in GPU and not instance_type.startswith("VM.GPU.A10.")


def _types() -> dict[str, MachineType]:
    out: dict[str, MachineType] = {}
    for shape, flex in FLEX.items():
        for vcpus in flex.vcpus:
            for ratio in flex.gib_per_vcpu:
                name = sized(shape, vcpus, vcpus * ratio)
                if not flex_problem(name):
                    out[name] = MachineType(name, vcpus, vcpus * ratio, arch=flex.arch)
    for shape, gpu in GPU.items():
        out[shape] = MachineType(shape, gpu.ocpus * 2, gpu.memory_gb, gpu.accelerator,
                                 gpu.count)
    return out


TYPES: dict[str, MachineType] = _types()
