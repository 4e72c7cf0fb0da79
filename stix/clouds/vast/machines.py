"""Vast's "machine types", which Vast itself does not have: every offer is one host's
GPUs, CPUs and RAM at that host's price. stix buckets offers into instance types whose
name states their shape, as SkyPilot's Vast catalog does:
`<GPUs>x-<Vast GPU name, spaces as _>-<vCPUs>-<GiB of RAM>` (`1x-RTX_4090-16-64`), with
vCPUs and RAM rounded down to a power of two. A row of that type promises at least that
shape; the host rented at apply time may have more.

GPU names: Vast's `gpu_name` (`RTX 4090`, `A100 SXM4`, `Tesla V100`) → stix's canonical
accelerator names (those of the other clouds where the GPU is the same, `RTX4090` where
only marketplaces sell it). Source: the `gpu_name` values of Vast's offer search
(docs.vast.ai, Search Offers; example values `RTX 4090`, `RTX_3090`), 2026-12.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from stix.clouds.base import MachineType

SOURCE = ("instance-type names state their shape (<GPUs>x-<Vast GPU>-<vCPUs>-<GiB>), "
          "bucketed from Vast's offer search as SkyPilot's Vast catalog does")

# Vast's names that differ from stix's canonical ones; anything else loses its spaces.
_NAMES = {
    "Tesla V100": "V100", "Tesla T4": "T4", "Tesla P100": "P100", "Tesla P40": "P40",
    "Tesla P4": "P4", "Tesla K80": "K80", "RTX A6000": "A6000", "RTX A5000": "A5000",
    "RTX A4000": "A4000", "Q RTX 6000": "RTX6000", "Q RTX 8000": "RTX8000",
    "RTX 6000Ada": "RTX6000-Ada", "RTX 4000Ada": "RTX4000-Ada", "RTX 5000Ada": "RTX5000-Ada",
    "H100 SXM": "H100", "H100 PCIE": "H100", "H100 NVL": "H100-NVL", "A100 PCIE": "A100",
    "A100 SXM4": "A100", "A100X": "A100", "RTX PRO 6000 WS": "RTXPRO6000",
    "RTX PRO 6000 S": "RTXPRO6000",
}  # fmt: skip
# GPUs sold with two memory sizes under one Vast name: the bigger one's stix name.
_BIG = {"A100": (70.0, "A100-80GB"), "V100": (24.0, "V100-32GB")}


def accelerator_name(gpu_name: str, gpu_ram_gib: float | None = None) -> str:
    """stix's name for a Vast `gpu_name` (with its per-GPU memory, where that decides)."""
    name = _NAMES.get(gpu_name.strip()) or re.sub(r"\s+", "", gpu_name.strip())
    big = _BIG.get(name)
    if big and gpu_ram_gib is not None and gpu_ram_gib >= big[0]:
        return big[1]
    return name


@dataclass(frozen=True)
class Shape:
    """What an instance-type name promises."""

    gpus: int
    gpu_name: str  # Vast's, spaces restored
    vcpus: int
    memory_gib: int

    @property
    def name(self) -> str:
        return f"{self.gpus}x-{self.gpu_name.replace(' ', '_')}-{self.vcpus}-{self.memory_gib}"


_TYPE = re.compile(r"(\d+)x-(.+)-(\d+)-(\d+)")


def parse(instance_type: str) -> Shape | None:
    found = _TYPE.fullmatch(instance_type)
    if found is None:
        return None
    count, gpu, cpus, mem = found.groups()
    return Shape(int(count), gpu.replace("_", " "), int(cpus), int(mem))


def floor_pow2(value: float) -> int:
    """The largest power of two not above `value` (at least 1): offers a core or a GiB
    apart land in one bucket."""
    return 1 if value < 2 else 2 ** math.floor(math.log2(value))


def shape_of(offer: dict[str, object]) -> Shape | None:
    """The bucket of one offer of Vast's search (None: not a whole-GPU offer stix uses)."""
    gpus, name = offer.get("num_gpus"), offer.get("gpu_name")
    cpus = offer.get("cpu_cores_effective") or offer.get("cpu_cores")
    ram = offer.get("cpu_ram")
    if not (isinstance(gpus, int) and gpus >= 1 and isinstance(name, str) and name.strip()
            and isinstance(cpus, (int, float)) and cpus >= 1
            and isinstance(ram, (int, float)) and ram >= 1024):
        return None
    return Shape(gpus, name.strip(), floor_pow2(float(cpus)), floor_pow2(ram / 1024))


def machine_type(instance_type: str, gpu_ram_gib: float | None = None) -> MachineType | None:
    shape = parse(instance_type)
    if shape is None:
        return None
    return MachineType(instance_type, shape.vcpus, shape.memory_gib,
                       accelerator_name(shape.gpu_name, gpu_ram_gib), shape.gpus)


def types_in(instance_types: list[tuple[str, float | None]]) -> dict[str, MachineType]:
    """name → shape for (instance type, GPU memory) pairs (the catalog's rows)."""
    out: dict[str, MachineType] = {}
    for name, memory in instance_types:
        found = machine_type(name, memory)
        if found is not None:
            out.setdefault(name, found)
    return out


def check_row(instance_type: str, vcpus: float, memory_gib: float, accelerator: str | None,
              count: float) -> str:
    """Why a row contradicts what its type's name promises ("" when it does not)."""
    shape = parse(instance_type)
    if shape is None:
        return f"{instance_type} is not a Vast instance type (<GPUs>x-<GPU>-<vCPUs>-<GiB>)"
    if float(shape.gpus) != float(count) or accelerator is None:
        return f"{instance_type} names {shape.gpus} GPUs, the row says {accelerator}:{count:g}"
    expected = accelerator_name(shape.gpu_name)
    if accelerator.split("-80GB")[0].split("-32GB")[0] != expected:
        return f"{instance_type} names a {shape.gpu_name}, the row says {accelerator}"
    if abs(shape.vcpus - vcpus) > 1e-6:
        return f"{instance_type} names {shape.vcpus} vCPUs, the row says {vcpus:g}"
    if abs(shape.memory_gib - memory_gib) > 1e-6:
        return f"{instance_type} names {shape.memory_gib} GiB, the row says {memory_gib:g}"
    return ""
