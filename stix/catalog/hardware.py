"""Public hardware facts the price sources leave out: GPU memory, CPU architecture.

Price lists name a GPU but often not its memory, and no source says outright whether a
machine type is ARM (each cloud's naming rules do: `Cloud.infer_arch`).
"""

from __future__ import annotations

import re

# Memory of one accelerator, GiB, by stix's canonical name (vendor data sheets).
ACCELERATOR_MEMORY_GIB: dict[str, float] = {
    "A10": 24, "A10G": 24, "A100": 40, "A100-80GB": 80, "A40": 48, "B200": 180,
    "GB200": 186, "H100": 80, "H100-MEGA": 80, "H100-NVL": 94, "H200": 141, "K80": 12,
    "L4": 24, "L40": 48, "L40S": 48, "M60": 8, "MI300X": 192, "P100": 16, "P4": 8,
    "P40": 24, "T4": 16, "T4g": 16, "V100": 16, "V100-32GB": 32, "B300": 288,
    "RTXPRO6000": 96, "Gaudi": 32, "Inferentia": 8, "Inferentia2": 32, "Trainium": 32,
    "Trainium2": 96, "RTX4000-Ada": 20, "RTX6000-Ada": 48,
    "GH200": 96, "A6000": 48, "RTX6000": 24,
    "RTX3090": 24, "RTX4090": 24, "RTXA4000": 16, "RTXA4500": 20, "RTXA5000": 24,
    "RTXA6000": 48,
    # Cloud TPU VMs (one slice is one accelerator): the slice's HBM.
    "tpu-v2-8": 64, "tpu-v3-8": 128, "tpu-v4-8": 128, "tpu-v5litepod-1": 16,
    "tpu-v5litepod-4": 64, "tpu-v5litepod-8": 128, "tpu-v5p-8": 380, "tpu-v6e-1": 32,
    "tpu-v6e-4": 128, "tpu-v6e-8": 256,
}  # fmt: skip



# The software stack an accelerator needs, which picks its default boot image
# (`<stack>-ubuntu-22.04-<arch>` in a cloud's images.csv): NVIDIA GPUs take the "gpu"
# image; AWS Trainium/Inferentia the Neuron SDK image; others have none of their own.
ACCELERATOR_STACK: dict[str, str] = {
    "Trainium": "neuron", "Trainium2": "neuron", "Inferentia": "neuron",
    "Inferentia2": "neuron", "Gaudi": "gaudi", "MI300X": "rocm",
}  # fmt: skip

# Names SkyPilot's catalogs once gave a newer part too: they called inf2's chips
# "Inferentia" as well as inf1's (SkyPilot's own 2024 example asks Inferentia:6, which only
# an inf2.24xlarge has), current ones say "Inferentia2". A task's Inferentia:N may mean
# either; the optimizer weighs both and its plan says which it chose.
ALSO_MEANT: dict[str, tuple[str, ...]] = {"Inferentia": ("Inferentia2",)}


def accelerator_stack(name: str) -> str:
    """`gpu` (NVIDIA) unless the accelerator needs another software stack."""
    return ACCELERATOR_STACK.get(name, "gpu")


def accelerator_memory(name: str | None) -> float | None:
    return ACCELERATOR_MEMORY_GIB.get(name) if name else None


def parse_gpu_memory_mib(text: str) -> float | None:
    """Per-GPU memory from a SkyPilot/EC2 GpuInfo string ("...'SizeInMiB': 24576...")."""
    match = re.search(r"SizeInMiB['\"]?\s*:\s*(\d+(?:\.\d+)?)", text)
    return float(match.group(1)) if match else None


def infer_arch(cloud: str, instance_type: str) -> str:
    """x86_64 or arm64, from the naming rules of the cloud's ARM families."""
    from stix.clouds import registry

    return registry.cloud(cloud).infer_arch(instance_type)


def normalize_arch(text: str) -> str | None:
    """A catalog's architecture spelling → x86_64 | arm64 (None when unknown)."""
    value = text.strip().lower()
    if value in ("x86_64", "amd64", "x86", "x64", "i386,x86_64", "x86_64,i386"):
        return "x86_64"
    if value in ("arm64", "aarch64", "arm", "arm64_mac"):
        return "arm64"
    return None
