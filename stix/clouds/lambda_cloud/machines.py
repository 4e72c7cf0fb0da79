"""Lambda's instance types as its API publishes them (`GET /instance-types`: each type's
vCPUs, memory, GPUs and price), kept with the fetcher: the shapes and on-demand prices
(USD/h, the same in every region) the shipped snapshot is written from. Written down by
hand from copies of that answer in public repositories (May 2026), not read by stix's
fetcher, so the snapshot calls them estimated. Lambda sells no spot instances."""

from __future__ import annotations

from stix.clouds.base import MachineType

# name, vCPUs, GiB, accelerator, count, arch, USD/h (the API's price_cents_per_hour / 100)
_TABLE: tuple[tuple[str, float, float, str, float, str, float], ...] = (
    ("cpu_4x_general", 4, 16, "", 0, "x86_64", 0.20),
    ("gpu_1x_rtx6000", 14, 46, "RTX6000", 1, "x86_64", 0.69),
    ("gpu_1x_a10", 30, 200, "A10", 1, "x86_64", 1.29),
    ("gpu_1x_a6000", 14, 100, "A6000", 1, "x86_64", 1.09),
    ("gpu_2x_a6000", 28, 200, "A6000", 2, "x86_64", 2.18),
    ("gpu_4x_a6000", 56, 400, "A6000", 4, "x86_64", 4.36),
    ("gpu_1x_a100", 30, 200, "A100", 1, "x86_64", 1.99),
    ("gpu_1x_a100_sxm4", 30, 200, "A100", 1, "x86_64", 1.99),
    ("gpu_2x_a100", 60, 400, "A100", 2, "x86_64", 3.98),
    ("gpu_4x_a100", 120, 800, "A100", 4, "x86_64", 7.96),
    ("gpu_8x_a100", 124, 1800, "A100", 8, "x86_64", 15.92),
    ("gpu_8x_a100_80gb_sxm4", 240, 1800, "A100-80GB", 8, "x86_64", 22.32),
    ("gpu_1x_gh200", 64, 432, "GH200", 1, "arm64", 2.29),
    ("gpu_1x_h100_pcie", 26, 200, "H100", 1, "x86_64", 3.29),
    ("gpu_1x_h100_sxm5", 26, 225, "H100", 1, "x86_64", 4.29),
    ("gpu_2x_h100_sxm5", 52, 450, "H100", 2, "x86_64", 8.38),
    ("gpu_4x_h100_sxm5", 104, 900, "H100", 4, "x86_64", 16.36),
    ("gpu_8x_h100_sxm5", 208, 1800, "H100", 8, "x86_64", 31.92),
    ("gpu_1x_b200_sxm6", 26, 360, "B200", 1, "x86_64", 6.99),
    ("gpu_2x_b200_sxm6", 52, 720, "B200", 2, "x86_64", 13.78),
    ("gpu_8x_b200_sxm6", 208, 2900, "B200", 8, "x86_64", 53.52),
    ("gpu_8x_v100", 92, 448, "V100", 8, "x86_64", 6.32),
)  # fmt: skip

TYPES: dict[str, MachineType] = {
    name: MachineType(name, vcpus, memory, acc or None, count, arch)
    for name, vcpus, memory, acc, count, arch, _ in _TABLE
}
PRICES: dict[str, float] = {row[0]: row[6] for row in _TABLE}


def infer_arch(instance_type: str) -> str:
    """Lambda's Grace Hopper types (`gh200`) are arm64; the others x86_64."""
    known = TYPES.get(instance_type)
    if known is not None:
        return known.arch
    return "arm64" if "gh200" in instance_type or "gb200" in instance_type else "x86_64"
