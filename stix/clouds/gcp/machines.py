"""The Compute Engine machine types stix knows, as Google publishes them ("Machine
families resource and comparison guide", the per-family pages and "GPU machine types",
as of 2026-05). Memory is in GB as GCP states it (stix reads GCP's GB as GiB).

Kept with the price fetcher: the billing catalog prices a vCPU-hour and a GB-hour per
family and region but lists no machine types, so the fetcher prices these shapes; the
snapshot's types are checked against `TYPES`.
"""

from __future__ import annotations

from stix.clouds.base import MachineType

SOURCE = ("Compute Engine machine family pages (cloud.google.com/compute/docs/machine-resource), "
          "2026-05")

# family-kind → (GB per vCPU, vCPU sizes, arch); exceptions below.
_FAMILIES: dict[str, tuple[float, tuple[int, ...], str]] = {
    "n1-standard": (3.75, (1, 2, 4, 8, 16, 32, 64, 96), "x86_64"),
    "n1-highmem": (6.5, (2, 4, 8, 16, 32, 64, 96), "x86_64"),
    "n1-highcpu": (0.9, (2, 4, 8, 16, 32, 64, 96), "x86_64"),
    "n2-standard": (4, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128), "x86_64"),
    "n2-highmem": (8, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128), "x86_64"),
    "n2-highcpu": (1, (2, 4, 8, 16, 32, 48, 64, 80, 96), "x86_64"),
    "n2d-standard": (4, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224), "x86_64"),
    "n2d-highmem": (8, (2, 4, 8, 16, 32, 48, 64, 80, 96), "x86_64"),
    "n2d-highcpu": (1, (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224), "x86_64"),
    "n4-standard": (4, (2, 4, 8, 16, 32, 48, 64, 80), "x86_64"),
    "n4-highmem": (8, (2, 4, 8, 16, 32, 48, 64, 80), "x86_64"),
    "n4-highcpu": (2, (2, 4, 8, 16, 32, 48, 64, 80), "x86_64"),
    "e2-standard": (4, (2, 4, 8, 16, 32), "x86_64"),
    "e2-highmem": (8, (2, 4, 8, 16), "x86_64"),
    "e2-highcpu": (1, (2, 4, 8, 16, 32), "x86_64"),
    "c2-standard": (4, (4, 8, 16, 30, 60), "x86_64"),
    "c2d-standard": (4, (2, 4, 8, 16, 32, 56, 112), "x86_64"),
    "c2d-highcpu": (2, (2, 4, 8, 16, 32, 56, 112), "x86_64"),
    "c2d-highmem": (8, (2, 4, 8, 16, 32, 56, 112), "x86_64"),
    "c3-standard": (4, (4, 8, 22, 44, 88, 176), "x86_64"),
    "c3-highcpu": (2, (4, 8, 22, 44, 88, 176), "x86_64"),
    "c3-highmem": (8, (4, 8, 22, 44, 88, 176), "x86_64"),
    "c3d-standard": (4, (4, 8, 16, 30, 60, 90, 180, 360), "x86_64"),
    "c3d-highcpu": (2, (4, 8, 16, 30, 60, 90, 180, 360), "x86_64"),
    "c3d-highmem": (8, (4, 8, 16, 30, 60, 90, 180, 360), "x86_64"),
    "c4-standard": (3.75, (2, 4, 8, 16, 32, 48, 96, 144, 192, 288), "x86_64"),
    "c4-highcpu": (2, (2, 4, 8, 16, 32, 48, 96, 144, 192, 288), "x86_64"),
    "c4-highmem": (7.75, (2, 4, 8, 16, 32, 48, 96, 144, 192, 288), "x86_64"),
    "c4a-standard": (4, (1, 2, 4, 8, 16, 32, 48, 64, 72), "arm64"),
    "c4a-highcpu": (2, (1, 2, 4, 8, 16, 32, 48, 64, 72), "arm64"),
    "c4a-highmem": (8, (1, 2, 4, 8, 16, 32, 48, 64, 72), "arm64"),
    "t2a-standard": (4, (1, 2, 4, 8, 16, 32, 48), "arm64"),
    "t2d-standard": (4, (1, 2, 4, 8, 16, 32, 48, 60), "x86_64"),
}
_EXCEPTIONS = {"n2-highmem-96": 768, "n2-highmem-128": 864, "n2d-highmem-96": 768}
_MEMORY = {"m1-ultramem-40": (40, 961), "m1-ultramem-80": (80, 1922),
           "m1-ultramem-160": (160, 3844), "m1-megamem-96": (96, 1433.6),
           "m3-ultramem-32": (32, 976), "m3-ultramem-64": (64, 1952),
           "m3-ultramem-128": (128, 3904), "m3-megamem-64": (64, 976),
           "m3-megamem-128": (128, 1952)}  # fmt: skip
# Shared-core: (vCPUs, GB); a fraction of a core, bursting.
_SHARED = {"e2-micro": (2, 1), "e2-small": (2, 2), "e2-medium": (2, 4), "f1-micro": (1, 0.6),
           "g1-small": (1, 1.7)}  # fmt: skip
# Machine types that come with their GPUs: type → (vCPUs, GB, accelerator, count).
ACCELERATED: dict[str, tuple[float, float, str, float]] = {
    "a2-highgpu-1g": (12, 85, "A100", 1), "a2-highgpu-2g": (24, 170, "A100", 2),
    "a2-highgpu-4g": (48, 340, "A100", 4), "a2-highgpu-8g": (96, 680, "A100", 8),
    "a2-megagpu-16g": (96, 1360, "A100", 16),
    "a2-ultragpu-1g": (12, 170, "A100-80GB", 1), "a2-ultragpu-2g": (24, 340, "A100-80GB", 2),
    "a2-ultragpu-4g": (48, 680, "A100-80GB", 4), "a2-ultragpu-8g": (96, 1360, "A100-80GB", 8),
    "a3-highgpu-1g": (26, 234, "H100", 1), "a3-highgpu-2g": (52, 468, "H100", 2),
    "a3-highgpu-4g": (104, 936, "H100", 4), "a3-highgpu-8g": (208, 1872, "H100", 8),
    "a3-edgegpu-8g": (208, 1872, "H100", 8), "a3-megagpu-8g": (208, 1872, "H100-MEGA", 8),
    "a3-ultragpu-8g": (224, 2952, "H200", 8), "a4-highgpu-8g": (224, 3968, "B200", 8),
    "g2-standard-4": (4, 16, "L4", 1), "g2-standard-8": (8, 32, "L4", 1),
    "g2-standard-12": (12, 48, "L4", 1), "g2-standard-16": (16, 64, "L4", 1),
    "g2-standard-32": (32, 128, "L4", 1), "g2-standard-24": (24, 96, "L4", 2),
    "g2-standard-48": (48, 192, "L4", 4), "g2-standard-96": (96, 384, "L4", 8),
    "g4-standard-48": (48, 180, "RTXPRO6000", 1), "g4-standard-96": (96, 360, "RTXPRO6000", 2),
    "g4-standard-192": (192, 720, "RTXPRO6000", 4),
    "g4-standard-384": (384, 1440, "RTXPRO6000", 8),
}  # fmt: skip


def _build() -> dict[str, MachineType]:
    out: dict[str, MachineType] = {}
    for prefix, (ratio, sizes, arch) in _FAMILIES.items():
        for n in sizes:
            name = f"{prefix}-{n}"
            mem = float(_EXCEPTIONS.get(name, round(n * ratio, 2)))
            out[name] = MachineType(name, n, mem, arch=arch)
    for name, (n, size) in _MEMORY.items():
        out[name] = MachineType(name, n, size)
    for name, (n, size) in _SHARED.items():
        out[name] = MachineType(name, n, size, shared_core=True)
    for name, (vcpus, size, acc, count) in ACCELERATED.items():
        out[name] = MachineType(name, vcpus, size, acc, count)
    return out


TYPES = _build()
