"""What an Azure cluster bills besides its VMs, as `stix cost-report` prices it.

The stack holds, per node, a managed OS disk (its SKU comes from the disk tier:
`program.DISK`), and unless `extra.private` a Standard static public IPv4 address, which
is billed whether the VM runs or is deallocated. The resource group, virtual network,
subnet, network security group and NIC are not billed.

Managed disks are billed by size step, not by the GB: a disk pays for the smallest step
that holds it. Prices: the East US pay-as-you-go LRS list prices published at
https://azure.microsoft.com/pricing/details/managed-disks/ and
https://azure.microsoft.com/pricing/details/ip-addresses/ (Standard static IPv4: $0.005
per hour), as stix's authors knew them in 2025 — not fetched by stix; check them there.
Every region is priced at the East US rates (other regions list their own).
"""

from __future__ import annotations

from stix.clouds.base import HOURS_PER_MONTH, Charge
from stix.clouds.common import is_private, tier
from stix.placement import Placement

# SKU → (largest GiB of the step, USD per month), smallest step first.
DISK_STEPS: dict[str, tuple[tuple[int, float], ...]] = {
    "Premium_LRS": ((4, 0.77), (8, 1.54), (16, 3.01), (32, 5.28), (64, 10.21), (128, 19.71),
                    (256, 38.01), (512, 73.22), (1024, 135.17), (2048, 259.05),
                    (4096, 495.57), (8192, 946.08), (16384, 1802.24), (32767, 3604.48)),
    "StandardSSD_LRS": ((4, 0.30), (8, 0.60), (16, 1.20), (32, 2.40), (64, 4.80),
                        (128, 9.60), (256, 19.20), (512, 38.40), (1024, 76.80),
                        (2048, 153.60), (4096, 307.20), (8192, 614.40), (16384, 1228.80),
                        (32767, 2457.60)),
    "Standard_LRS": ((32, 1.54), (64, 3.01), (128, 5.89), (256, 11.33), (512, 21.76),
                     (1024, 40.96), (2048, 77.83), (4096, 148.68), (8192, 284.57),
                     (16384, 545.39), (32767, 1044.48)),
}  # fmt: skip
PUBLIC_IPV4_HOUR = 0.005


def _sku(tier: str) -> str | None:
    from stix.clouds.azure.program import DISK

    return DISK.get(tier)


def disk_hourly(tier: str, size_gb: float) -> float | None:
    """The price of the smallest step that holds `size_gb` (None past the largest)."""
    sku = _sku(tier)
    for largest, month in DISK_STEPS.get(sku or "", ()):
        if size_gb <= largest:
            return month / HOURS_PER_MONTH
    return None


def node_charges(placement: Placement, disk: float | None) -> list[Charge]:
    t = tier(placement)
    out = [Charge(f"managed disk {placement.disk_size} GB {_sku(t) or t}", "disk", disk, disk)]
    if not is_private(placement):
        out.append(Charge("Standard static public IPv4 address", "address",
                          PUBLIC_IPV4_HOUR, PUBLIC_IPV4_HOUR))
    return out


def not_counted(placement: Placement) -> list[str]:
    if _sku(tier(placement)) in ("Standard_LRS", "StandardSSD_LRS"):
        return ["Standard disk transactions (billed per 10,000)"]
    return []
