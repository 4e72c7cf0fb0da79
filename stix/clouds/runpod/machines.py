"""The pod types stix knows on RunPod, as RunPod's GraphQL API describes them and
SkyPilot's published RunPod catalog lists them (skypilot-catalog `catalogs/v7/runpod/
vms.csv`, written from the API's `gpuTypes` and `cpuFlavors` answers): Secure Cloud GPU
pods of 1, 2, 4 or 8 GPUs and CPU pods (`cpu3c/g/m`, `cpu5c/g/m` flavors), with the
vCPUs and memory a pod of that type gets at least, and the list prices per hour.

Names follow SkyPilot's: `<n>x_<GPU>_SECURE` for GPU pods, `<flavor>-<vCPUs>-<GiB>` for
CPU pods, so a SkyPilot task naming its instance type finds it. The GPU in a name is
SkyPilot's; the accelerator a row carries is stix's canonical name (RunPod's "H100 SXM"
is an 80 GB H100, as AWS's p5 is; its RTX A6000 keeps SkyPilot's RunPod name, RTXA6000).

Community Cloud pods are not listed: their hosts may have no public IP for the SSH port.
"""

from __future__ import annotations

from dataclasses import dataclass

from stix.clouds.base import MachineType

SOURCE = ("RunPod GraphQL API (gpuTypes: securePrice, secureSpotPrice; cpuFlavors) as "
          "SkyPilot's published RunPod catalog lists it (skypilot-catalog "
          "catalogs/v7/runpod/vms.csv), 2026-11")
COUNTS = (1, 2, 4, 8)
SECURE = "SECURE"


@dataclass(frozen=True)
class Gpu:
    """One GPU type: SkyPilot's name, RunPod's GPU id, stix's name, what one GPU of a pod
    brings (vCPUs, GiB of memory), and the per-GPU list prices (USD/h)."""

    name: str  # in the instance type (SkyPilot's)
    gpu_id: str  # RunPod's gpuTypeId (its displayed model name)
    accelerator: str  # stix's canonical name
    vcpus: float
    memory_gib: float
    price: float  # securePrice
    spot: float | None  # secureSpotPrice, the interruptible bid (None: not offered)


GPUS: tuple[Gpu, ...] = (
    Gpu("A100-80GB", "NVIDIA A100 80GB PCIe", "A100-80GB", 8, 80, 1.64, 1.19),
    Gpu("A100-80GB-SXM", "NVIDIA A100-SXM4-80GB", "A100-80GB", 16, 80, 1.89, None),
    Gpu("A40", "NVIDIA A40", "A40", 9, 48, 0.44, None),
    Gpu("B200", "NVIDIA B200", "B200", 36, 180, 7.99, None),
    Gpu("H100", "NVIDIA H100 PCIe", "H100", 16, 80, 2.39, None),
    Gpu("H100-NVL", "NVIDIA H100 NVL", "H100-NVL", 16, 94, 2.79, None),
    Gpu("H100-SXM", "NVIDIA H100 80GB HBM3", "H100", 20, 80, 2.99, 2.69),
    Gpu("H200-SXM", "NVIDIA H200", "H200", 20, 141, 3.99, 3.59),
    Gpu("L4", "NVIDIA L4", "L4", 4, 24, 0.44, None),
    Gpu("L40", "NVIDIA L40", "L40", 16, 48, 1.14, 0.69),
    Gpu("L40S", "NVIDIA L40S", "L40S", 12, 62, 0.86, 0.43),
    Gpu("MI300X", "AMD Instinct MI300X OAM", "MI300X", 24, 192, 2.49, None),
    Gpu("RTX3090", "NVIDIA GeForce RTX 3090", "RTX3090", 16, 24, 0.43, None),
    Gpu("RTX4000-Ada", "NVIDIA RTX 4000 Ada Generation", "RTX4000-Ada", 9, 20, 0.32, None),
    Gpu("RTX4090", "NVIDIA GeForce RTX 4090", "RTX4090", 16, 24, 0.69, 0.34),
    Gpu("RTX6000-Ada", "NVIDIA RTX 6000 Ada Generation", "RTX6000-Ada", 14, 48, 0.77, None),
    Gpu("RTXA4000", "NVIDIA RTX A4000", "RTXA4000", 6, 16, 0.32, None),
    Gpu("RTXA4500", "NVIDIA RTX A4500", "RTXA4500", 12, 20, 0.34, 0.19),
    Gpu("RTXA5000", "NVIDIA RTX A5000", "RTXA5000", 6, 24, 0.29, None),
    Gpu("RTXA6000", "NVIDIA RTX A6000", "RTXA6000", 4, 48, 0.49, 0.33),
)  # fmt: skip

# CPU flavors: id → (GiB per vCPU, USD per vCPU-hour); sizes 2 to 32 vCPUs.
CPU_FLAVORS: dict[str, tuple[float, float]] = {
    "cpu3c": (2, 0.03), "cpu3g": (4, 0.04), "cpu3m": (8, 0.055),
    "cpu5c": (2, 0.035), "cpu5g": (4, 0.046), "cpu5m": (8, 0.065),
}  # fmt: skip
CPU_SIZES = (2, 4, 8, 16, 32)


@dataclass(frozen=True)
class PodType:
    """One instance type stix offers: its shape, price and how a pod of it is asked for."""

    name: str
    vcpus: float
    memory_gib: float
    price: float
    spot: float | None
    gpu: Gpu | None = None
    count: int = 0
    cpu_flavor: str | None = None  # the CPU pod's instanceId is the type's name


def gpu_type_name(gpu: Gpu, count: int) -> str:
    return f"{count}x_{gpu.name}_{SECURE}"


def _gpu_types() -> list[PodType]:
    return [PodType(gpu_type_name(g, n), g.vcpus * n, g.memory_gib * n, round(g.price * n, 4),
                    None if g.spot is None else round(g.spot * n, 4), g, n)
            for g in GPUS for n in COUNTS]


def _cpu_types() -> list[PodType]:
    out = []
    for flavor, (ratio, per_vcpu) in CPU_FLAVORS.items():
        for n in CPU_SIZES:
            memory = int(n * ratio)
            out.append(PodType(f"{flavor}-{n}-{memory}", n, memory, round(n * per_vcpu, 4),
                               None, cpu_flavor=flavor))
    return out


POD_TYPES: dict[str, PodType] = {t.name: t for t in (*_gpu_types(), *_cpu_types())}
GPU_BY_ID: dict[str, Gpu] = {g.gpu_id: g for g in GPUS}

TYPES: dict[str, MachineType] = {
    t.name: MachineType(t.name, t.vcpus, t.memory_gib, t.gpu.accelerator if t.gpu else None,
                        t.count)
    for t in POD_TYPES.values()
}
