"""The Azure VM sizes stix knows, as Microsoft publishes them (the "Sizes for virtual
machines in Azure" pages per series, as of 2026-05).

Kept with the price fetcher: the Retail Prices API prices sizes by name and says nothing
of their vCPUs, memory or GPUs, so the fetcher takes them from `TYPES` (a size missing
here is skipped and counted, never guessed); the snapshot's sizes are checked against it.
"""

from __future__ import annotations

from stix.clouds.base import MachineType

SOURCE = "Azure VM size series pages (learn.microsoft.com/azure/virtual-machines/sizes), 2026-05"

# Name pattern → (GiB per vCPU, vCPU sizes, arch).
_SERIES: dict[str, tuple[float, tuple[int, ...], str]] = {
    "Standard_D{n}s_v5": (4, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_D{n}ds_v5": (4, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_D{n}as_v5": (4, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_D{n}ads_v5": (4, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_D{n}ls_v5": (2, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_D{n}ps_v5": (4, (2, 4, 8, 16, 32, 48), "arm64"),
    "Standard_D{n}pls_v5": (2, (2, 4, 8, 16, 32, 48), "arm64"),
    "Standard_E{n}s_v5": (8, (2, 4, 8, 16, 20, 32, 48, 64), "x86_64"),
    "Standard_E{n}ds_v5": (8, (2, 4, 8, 16, 20, 32, 48, 64), "x86_64"),
    "Standard_E{n}as_v5": (8, (2, 4, 8, 16, 20, 32, 48, 64), "x86_64"),
    "Standard_E{n}ps_v5": (8, (2, 4, 8, 16, 20, 32), "arm64"),
    "Standard_F{n}s_v2": (2, (2, 4, 8, 16, 32, 48, 64, 72), "x86_64"),
    # v6: Intel (Dsv6/Esv6/Dlsv6), AMD (Dasv6/Easv6, Fasv6/Falsv6/Famsv6), Cobalt 100 arm64
    # (Dpsv6/Epsv6); the sizes common to each series' table.
    "Standard_D{n}s_v6": (4, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_D{n}ls_v6": (2, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_E{n}s_v6": (8, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_D{n}as_v6": (4, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_E{n}as_v6": (8, (2, 4, 8, 16, 32, 48, 64, 96), "x86_64"),
    "Standard_F{n}as_v6": (4, (2, 4, 8, 16, 32, 48, 64), "x86_64"),
    "Standard_F{n}als_v6": (2, (2, 4, 8, 16, 32, 48, 64), "x86_64"),
    "Standard_F{n}ams_v6": (8, (2, 4, 8, 16, 32, 48, 64), "x86_64"),
    "Standard_D{n}ps_v6": (4, (2, 4, 8, 16, 32, 48, 64, 96), "arm64"),
    "Standard_E{n}ps_v6": (8, (2, 4, 8, 16, 32, 48, 64, 96), "arm64"),
}
_ODD = {"Standard_D64ps_v5": (64, 208, "arm64"), "Standard_D64pls_v5": (64, 128, "arm64"),
        "Standard_E96s_v5": (96, 672, "x86_64"), "Standard_E96ds_v5": (96, 672, "x86_64"),
        "Standard_E96as_v5": (96, 672, "x86_64")}
# Burstable B-series v2 (CPU credits): name pattern → (GiB per vCPU, sizes, arch).
_BURSTABLE: dict[str, tuple[float, tuple[int, ...], str]] = {
    "Standard_B{n}s_v2": (4, (2, 4, 8, 16, 32), "x86_64"),
    "Standard_B{n}as_v2": (4, (2, 4, 8, 16, 32), "x86_64"),
    "Standard_B{n}als_v2": (2, (2, 4, 8, 16, 32), "x86_64"),
    "Standard_B{n}ls_v2": (2, (2, 4, 8, 16, 32), "x86_64"),
    "Standard_B{n}ps_v2": (4, (2, 4, 8, 16), "arm64"),
    "Standard_B{n}pls_v2": (2, (2, 4, 8, 16), "arm64"),
}
# GPU sizes: name → (vCPUs, GiB, accelerator, count); NVadsA10_v5 sells GPU fractions.
ACCELERATED: dict[str, tuple[float, float, str, float]] = {
    "Standard_NC4as_T4_v3": (4, 28, "T4", 1), "Standard_NC8as_T4_v3": (8, 56, "T4", 1),
    "Standard_NC16as_T4_v3": (16, 110, "T4", 1), "Standard_NC64as_T4_v3": (64, 440, "T4", 4),
    "Standard_NV6ads_A10_v5": (6, 55, "A10", 0.167),
    "Standard_NV12ads_A10_v5": (12, 110, "A10", 0.333),
    "Standard_NV18ads_A10_v5": (18, 220, "A10", 0.5),
    "Standard_NV36ads_A10_v5": (36, 440, "A10", 1),
    "Standard_NV36adms_A10_v5": (36, 880, "A10", 1),
    "Standard_NV72ads_A10_v5": (72, 880, "A10", 2),
    "Standard_NC6s_v3": (6, 112, "V100", 1), "Standard_NC12s_v3": (12, 224, "V100", 2),
    "Standard_NC24s_v3": (24, 448, "V100", 4), "Standard_NC24rs_v3": (24, 448, "V100", 4),
    "Standard_NC24ads_A100_v4": (24, 220, "A100-80GB", 1),
    "Standard_NC48ads_A100_v4": (48, 440, "A100-80GB", 2),
    "Standard_NC96ads_A100_v4": (96, 880, "A100-80GB", 4),
    "Standard_ND96asr_v4": (96, 900, "A100", 8),
    "Standard_ND96amsr_A100_v4": (96, 1900, "A100-80GB", 8),
    "Standard_ND96isr_H100_v5": (96, 1900, "H100", 8),
    "Standard_ND96isr_H200_v5": (96, 1850, "H200", 8),
    "Standard_ND96isr_MI300X_v5": (96, 1850, "MI300X", 8),
    "Standard_NC40ads_H100_v5": (40, 320, "H100-NVL", 1),
    "Standard_NC80adis_H100_v5": (80, 640, "H100-NVL", 2),
}  # fmt: skip


def _build() -> dict[str, MachineType]:
    out: dict[str, MachineType] = {}
    for table, shared in ((_SERIES, False), (_BURSTABLE, True)):
        for pattern, (ratio, sizes, arch) in table.items():
            for n in sizes:
                name = pattern.format(n=n)
                out[name] = MachineType(name, n, float(n * ratio), arch=arch,
                                        shared_core=shared)
    for name, (n, mem, arch) in _ODD.items():
        out[name] = MachineType(name, n, mem, arch=arch)
    for name, (vcpus, size, acc, count) in ACCELERATED.items():
        out[name] = MachineType(name, vcpus, size, acc, count)
    return out


TYPES = _build()
