"""What an AWS cluster bills besides its instances, as `stix cost-report` prices it.

The stack holds, per node, an EBS root volume (its type, IOPS and throughput come from the
disk tier: `program.DISK`) and, unless `extra.private`, an auto-assigned public IPv4
address. The VPC, subnet, internet gateway, route table, security group, key pair,
placement group and IAM role are not billed.

Prices: the us-east-1 on-demand list prices published at https://aws.amazon.com/ebs/pricing/
and https://aws.amazon.com/vpc/pricing/ (public IPv4: $0.005 per address-hour since
2024-02-01), as stix's authors knew them in 2025 — not fetched by stix; check them there.
Every region is priced at the us-east-1 rates (other regions list their own, mostly higher).
"""

from __future__ import annotations

from stix.clouds.base import HOURS_PER_MONTH, Charge
from stix.clouds.common import is_private, tier
from stix.placement import Placement

EBS_GB_MONTH = {"gp3": 0.08, "gp2": 0.10, "io1": 0.125, "io2": 0.125, "st1": 0.045,
                "sc1": 0.015}  # fmt: skip
GP3_FREE_IOPS, GP3_IOPS_MONTH = 3000, 0.005  # per provisioned IOPS-month above 3,000
GP3_FREE_MBPS, GP3_MBPS_MONTH = 125, 0.04  # per provisioned MB/s-month above 125
# io2 provisioned IOPS, per IOPS-month, in tiers: (up to this many IOPS, price).
IO2_IOPS_MONTH = ((32_000, 0.065), (64_000, 0.0455), (256_000, 0.032))
PUBLIC_IPV4_HOUR = 0.005


def _volume(tier: str) -> tuple[str, int | None, int | None] | None:
    from stix.clouds.aws.program import DISK

    return DISK.get(tier)


def disk_price_gb_month(tier: str) -> float | None:
    volume = _volume(tier)
    return None if volume is None else EBS_GB_MONTH.get(volume[0])


def _io2_iops_month(iops: int) -> float:
    total, low = 0.0, 0
    for high, price in IO2_IOPS_MONTH:
        total += max(0, min(iops, high) - low) * price
        low = high
    return total


def disk_hourly(tier: str, size_gb: float) -> float | None:
    """Capacity plus the provisioned IOPS and throughput the tier asks for."""
    volume = _volume(tier)
    rate = None if volume is None else EBS_GB_MONTH.get(volume[0])
    if volume is None or rate is None:
        return None
    kind, iops, mbps = volume
    month = rate * size_gb
    if kind == "gp3":
        month += max(0, (iops or GP3_FREE_IOPS) - GP3_FREE_IOPS) * GP3_IOPS_MONTH
        month += max(0, (mbps or GP3_FREE_MBPS) - GP3_FREE_MBPS) * GP3_MBPS_MONTH
    elif kind == "io2":
        month += _io2_iops_month(iops or 0)
    return month / HOURS_PER_MONTH


def node_charges(placement: Placement, disk: float | None) -> list[Charge]:
    """The root volume (billed running and stopped), and the auto-assigned public IPv4
    address, billed while the instance runs: AWS releases it when the instance stops (the
    next start gets a new one)."""
    t = tier(placement)
    volume = _volume(t)
    label = t
    if volume is not None:
        kind, iops, mbps = volume
        label = kind + (f" {iops} IOPS" if iops else "") + (f" {mbps} MB/s" if mbps else "")
    out = [Charge(f"EBS {placement.disk_size} GB {label}", "disk", disk, disk)]
    if not is_private(placement):
        out.append(Charge("public IPv4 address", "address", PUBLIC_IPV4_HOUR, 0.0))
    return out
