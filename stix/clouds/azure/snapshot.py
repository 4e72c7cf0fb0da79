"""Azure VMs: regions, VM series and eastus pay-as-you-go list prices.

Azure prices per region (no zone column): a row's zone is empty.
"""

from __future__ import annotations

from collections.abc import Iterator

from stix.catalog.snapshot import Family, Image, Row, Shape, discount, places, row, sized

AZURE_REGIONS = (
    "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westus",
    "westus2", "westus3", "westeurope", "northeurope", "uksouth", "francecentral",
    "germanywestcentral", "swedencentral", "switzerlandnorth", "japaneast", "koreacentral",
    "southeastasia", "eastasia", "centralindia", "australiaeast",
)  # fmt: skip
# (CPU factor, GPU factor) relative to eastus.
AZURE_FACTORS = {
    "eastus": (1.0, 1.0), "eastus2": (1.0, 1.0), "centralus": (1.05, 1.05),
    "northcentralus": (1.0, 1.0), "southcentralus": (1.0, 1.0), "westus": (1.1, 1.12),
    "westus2": (1.0, 1.0), "westus3": (1.0, 1.0), "westeurope": (1.13, 1.12),
    "northeurope": (1.07, 1.08), "uksouth": (1.12, 1.14), "francecentral": (1.13, 1.14),
    "germanywestcentral": (1.15, 1.16), "swedencentral": (1.07, 1.06),
    "switzerlandnorth": (1.25, 1.26), "japaneast": (1.25, 1.28), "koreacentral": (1.2, 1.22),
    "southeastasia": (1.2, 1.24), "eastasia": (1.3, 1.33), "centralindia": (1.1, 1.12),
    "australiaeast": (1.25, 1.28),
}  # fmt: skip


def regions(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "")


_GP = {str(n): n for n in (2, 4, 8, 16, 32, 48, 64, 96)}
_F = {str(n): n for n in (2, 4, 8, 16, 32, 48, 64, 72)}
_E = {str(n): n for n in (2, 4, 8, 16, 32, 48, 64)}
_ARM = {str(n): n for n in (2, 4, 8, 16, 32, 48)}
_ARM_WHERE = regions(
    "eastus", "eastus2", "centralus", "westus2", "westus3", "westeurope", "northeurope",
    "uksouth", "francecentral", "germanywestcentral", "swedencentral", "japaneast",
    "southeastasia", "centralindia", "australiaeast",
)

AZURE: tuple[Family, ...] = (
    Family(sized("D", _GP, 4, 0.048, fmt="Standard_{prefix}{size}s_v5"), spot=(0.7, 0.88)),
    Family(sized("D", _GP, 4, 0.043, fmt="Standard_{prefix}{size}as_v5"), spot=(0.7, 0.88)),
    Family(sized("F", _F, 2, 0.0423, fmt="Standard_{prefix}{size}s_v2"), spot=(0.7, 0.88)),
    # E96s_v5 and D64ps_v5 break their series' memory ratio: listed as sold.
    Family((*sized("E", _E, 8, 0.063, fmt="Standard_{prefix}{size}s_v5"),
            Shape("Standard_E96s_v5", 96, 672, 96 * 0.063)), spot=(0.7, 0.88)),
    Family((*sized("D", _ARM, 4, 0.0385, "arm64", fmt="Standard_{prefix}{size}ps_v5"),
            Shape("Standard_D64ps_v5", 64, 208, 64 * 0.0385, arch="arm64")),
           spot=(0.7, 0.85), where=_ARM_WHERE),
    # NCasT4_v3: NVIDIA T4.
    Family((
        Shape("Standard_NC4as_T4_v3", 4, 28, 0.526, "T4", 1),
        Shape("Standard_NC8as_T4_v3", 8, 56, 0.752, "T4", 1),
        Shape("Standard_NC16as_T4_v3", 16, 110, 1.204, "T4", 1),
        Shape("Standard_NC64as_T4_v3", 64, 440, 4.352, "T4", 4),
    ), spot=(0.6, 0.8), gpu=True, where=regions(
        "eastus", "eastus2", "southcentralus", "westus2", "westus3", "westeurope",
        "northeurope", "uksouth", "francecentral", "japaneast", "koreacentral",
        "southeastasia", "centralindia", "australiaeast")),
    # NVadsA10_v5: NVIDIA A10, sold in fractions of one GPU (1/6, 1/3, 1/2).
    Family((
        Shape("Standard_NV6ads_A10_v5", 6, 55, 0.454, "A10", 0.167),
        Shape("Standard_NV12ads_A10_v5", 12, 110, 0.908, "A10", 0.333),
        Shape("Standard_NV18ads_A10_v5", 18, 220, 1.6, "A10", 0.5),
        Shape("Standard_NV36ads_A10_v5", 36, 440, 3.2, "A10", 1),
        Shape("Standard_NV36adms_A10_v5", 36, 880, 4.52, "A10", 1),
        Shape("Standard_NV72ads_A10_v5", 72, 880, 6.52, "A10", 2),
    ), spot=(0.55, 0.75), gpu=True, where=regions(
        "eastus", "eastus2", "southcentralus", "westus2", "westus3", "westeurope",
        "northeurope", "uksouth", "swedencentral", "japaneast", "southeastasia",
        "centralindia")),
    # No NCv3 (V100 16 GB): Azure retired NC24rs_v3 on 31 Mar 2025 and NC6s_v3, NC12s_v3
    # and NC24s_v3 on 30 Sep 2025 (`AzureCloud.retired`).
    # NC A100 v4: NVIDIA A100 80 GB PCIe.
    Family((
        Shape("Standard_NC24ads_A100_v4", 24, 220, 3.673, "A100-80GB", 1),
        Shape("Standard_NC48ads_A100_v4", 48, 440, 7.346, "A100-80GB", 2),
        Shape("Standard_NC96ads_A100_v4", 96, 880, 14.692, "A100-80GB", 4),
    ), spot=(0.5, 0.7), gpu=True, where=regions(
        "eastus", "eastus2", "southcentralus", "westus2", "westus3", "westeurope",
        "northeurope", "swedencentral", "uksouth", "japaneast", "koreacentral",
        "southeastasia")),
    # ND A100 v4 (40 GB SXM) and NDm A100 v4 (80 GB SXM).
    Family((Shape("Standard_ND96asr_v4", 96, 900, 27.197, "A100", 8),), spot=(0.55, 0.7),
           gpu=True, where=regions("eastus", "westus2", "southcentralus", "westeurope",
                                   "uksouth", "japaneast")),
    Family((Shape("Standard_ND96amsr_A100_v4", 96, 1900, 32.77, "A100-80GB", 8),),
           spot=(0.5, 0.65), gpu=True,
           where=regions("eastus", "southcentralus", "westus2", "westeurope", "japaneast")),
    # ND H100 v5 and ND H200 v5.
    Family((Shape("Standard_ND96isr_H100_v5", 96, 1900, 98.32, "H100", 8),), spot=(0.4, 0.6),
           gpu=True, where=regions("eastus", "eastus2", "southcentralus", "westus3",
                                   "westeurope", "swedencentral", "uksouth", "japaneast")),
    Family((Shape("Standard_ND96isr_H200_v5", 96, 1850, 110.24, "H200", 8),), spot=(0.4, 0.6),
           gpu=True, where=regions("eastus2", "westus3", "swedencentral", "uksouth",
                                   "japaneast")),
    # NCads H100 v5: NVIDIA H100 NVL (94 GB), its own name.
    Family((
        Shape("Standard_NC40ads_H100_v5", 40, 320, 6.98, "H100-NVL", 1),
        Shape("Standard_NC80adis_H100_v5", 80, 640, 13.96, "H100-NVL", 2),
    ), spot=(0.4, 0.6), gpu=True, where=regions(
        "eastus", "eastus2", "southcentralus", "westus3", "westeurope", "swedencentral",
        "uksouth", "japaneast", "southeastasia")),
)


def rows() -> Iterator[Row]:
    """The snapshot's rows of this cloud."""
    everywhere = dict.fromkeys(AZURE_REGIONS, "")
    for fam in AZURE:
        for region, _ in places(fam, everywhere):
            assert region in everywhere, region
            factor = AZURE_FACTORS[region][1 if fam.gpu else 0]
            for shape in fam.shapes:
                price = shape.price * factor
                spot = None
                if fam.spot and region not in fam.no_spot_regions:
                    spot = price * (1 - discount(fam.spot, "azure", shape.name, region))
                yield row(shape, region, "", price, spot)


# Boot images (see catalog_data/README.md): references that resolve at deploy time.
_HPC_NOTE = ("Azure Ubuntu-HPC image (microsoft-dsvm): NVIDIA driver, CUDA, InfiniBand; "
             "NVadsA10_v5 needs the GRID driver (NvidiaGpuDriverLinux extension)")  # fmt: skip
IMAGES: tuple[Image, ...] = (
    ("ubuntu-22.04-x86_64", "*", "ubuntu-22.04",
     "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest",
     "Marketplace URN (Hyper-V gen2); default CPU image"),
    ("ubuntu-22.04-arm64", "*", "ubuntu-22.04",
     "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-arm64:latest",
     "Marketplace URN; default for Dpsv5"),
    ("ubuntu-24.04-x86_64", "*", "ubuntu-24.04", "Canonical:ubuntu-24_04-lts:server:latest",
     "Marketplace URN (gen2)"),
    ("ubuntu-24.04-arm64", "*", "ubuntu-24.04",
     "Canonical:ubuntu-24_04-lts:server-arm64:latest", "Marketplace URN"),
    ("gpu-ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "microsoft-dsvm:ubuntu-hpc:2204:latest",
     _HPC_NOTE + "; default GPU image"),
    ("gpu-ubuntu-24.04-x86_64", "*", "ubuntu-24.04", "microsoft-dsvm:ubuntu-hpc:2404:latest",
     _HPC_NOTE),
    ("rocm-ubuntu-22.04-x86_64", "*", "ubuntu-22.04", "microsoft-dsvm:ubuntu-hpc:2204-rocm:latest",
     "Azure Ubuntu-HPC image with AMD ROCm: default for ND MI300X v5"),
)
