"""The machine types stix knows on Nebius, as Nebius publishes them: a type is a
*platform* (the host hardware: `gpu-h100-sxm`, `cpu-d3`) and one of its *presets* (the
size: `8gpu-128vcpu-1600gb`), written `<platform>_<preset>` as SkyPilot writes them, so
SkyPilot task files that name an instance type work unchanged.

Source: Nebius's compute platform list and its billing calculator as SkyPilot's
published Nebius catalog records them (`catalogs/v7/nebius/vms.csv` of the
skypilot-catalog repository), and Nebius's compute pricing page (H100 $2.95 and H200
$3.50 per GPU-hour on demand), as of 2026-11. Per-GPU memory is the hardware's (the
SkyPilot file repeats the VM's RAM there).
"""

from __future__ import annotations

from dataclasses import dataclass

from stix.clouds.base import MachineType

SOURCE = ("Nebius compute platforms and billing calculator, as SkyPilot's Nebius catalog "
          "(skypilot-catalog catalogs/v7/nebius/vms.csv) records them; Nebius compute "
          "pricing, 2026-11")
SEP = "_"  # between platform and preset


@dataclass(frozen=True)
class Preset:
    """One platform preset: its shape, its GPUs and its hourly list prices."""

    platform: str
    preset: str
    vcpus: int
    memory_gib: float
    price: float  # USD/h on demand
    spot: float | None = None  # USD/h preemptible (None: no preemptible price published)
    accelerator: str | None = None
    count: int = 0

    @property
    def name(self) -> str:
        return f"{self.platform}{SEP}{self.preset}"


def split(instance_type: str) -> tuple[str, str]:
    """(platform, preset) of `<platform>_<preset>`; ValueError for anything else."""
    platform, sep, preset = instance_type.partition(SEP)
    if not (sep and platform and preset):
        raise ValueError(f"{instance_type!r} is not <platform>{SEP}<preset>")
    return platform, preset


# Nebius prices CPU platforms per vCPU with 4 GiB RAM each: $0.0248 per vCPU-hour.
_CPU_RATE = 0.0248


def _cpu(platform: str, *vcpus: int) -> tuple[Preset, ...]:
    return tuple(Preset(platform, f"{n}vcpu-{4 * n}gb", n, 4.0 * n, round(n * _CPU_RATE, 4))
                 for n in vcpus)


CPU_D3 = _cpu("cpu-d3", 4, 8, 16, 32, 48, 64, 96, 128, 160, 192, 224, 256)  # AMD EPYC
CPU_E2 = _cpu("cpu-e2", 2, 4, 8, 16, 32, 48, 64, 80)  # Intel Ice Lake
H100 = (Preset("gpu-h100-sxm", "1gpu-16vcpu-200gb", 16, 200, 2.95, 1.25, "H100", 1),
        Preset("gpu-h100-sxm", "8gpu-128vcpu-1600gb", 128, 1600, 23.60, 10.00, "H100", 8))
H200 = (Preset("gpu-h200-sxm", "1gpu-16vcpu-200gb", 16, 200, 3.50, 1.45, "H200", 1),
        Preset("gpu-h200-sxm", "8gpu-128vcpu-1600gb", 128, 1600, 28.00, 11.60, "H200", 8))
B200 = (Preset("gpu-b200-sxm", "8gpu-160vcpu-1792gb", 160, 1792, 44.00, None, "B200", 8),)
L40S_A = (  # L40S with Intel hosts
    Preset("gpu-l40s-a", "1gpu-8vcpu-32gb", 8, 32, 1.5484, None, "L40S", 1),
    Preset("gpu-l40s-a", "1gpu-16vcpu-64gb", 16, 64, 1.7468, None, "L40S", 1),
    Preset("gpu-l40s-a", "1gpu-24vcpu-96gb", 24, 96, 1.9452, None, "L40S", 1),
    Preset("gpu-l40s-a", "1gpu-32vcpu-128gb", 32, 128, 2.1436, None, "L40S", 1),
    Preset("gpu-l40s-a", "1gpu-40vcpu-160gb", 40, 160, 2.342, None, "L40S", 1),
)
L40S_D = (  # L40S with AMD hosts
    Preset("gpu-l40s-d", "1gpu-16vcpu-96gb", 16, 96, 1.8172, None, "L40S", 1),
    Preset("gpu-l40s-d", "1gpu-32vcpu-192gb", 32, 192, 2.2844, None, "L40S", 1),
    Preset("gpu-l40s-d", "1gpu-48vcpu-288gb", 48, 288, 2.7516, None, "L40S", 1),
    Preset("gpu-l40s-d", "2gpu-64vcpu-384gb", 64, 384, 4.5688, None, "L40S", 2),
    Preset("gpu-l40s-d", "2gpu-96vcpu-576gb", 96, 576, 5.5032, None, "L40S", 2),
    Preset("gpu-l40s-d", "4gpu-128vcpu-768gb", 128, 768, 9.1376, None, "L40S", 4),
    Preset("gpu-l40s-d", "4gpu-192vcpu-1152gb", 192, 1152, 11.0064, None, "L40S", 4),
)
PRESETS: tuple[Preset, ...] = (*CPU_D3, *CPU_E2, *H100, *H200, *B200, *L40S_A, *L40S_D)
BY_NAME = {p.name: p for p in PRESETS}
# Platform → the accelerator its GPUs are (the fetcher names a platform's GPUs by this).
PLATFORM_GPUS = {"gpu-h100-sxm": "H100", "gpu-h200-sxm": "H200", "gpu-b200-sxm": "B200",
                 "gpu-l40s-a": "L40S", "gpu-l40s-d": "L40S"}

TYPES: dict[str, MachineType] = {
    p.name: MachineType(p.name, p.vcpus, p.memory_gib, p.accelerator, p.count)
    for p in PRESETS
}
