"""What a GCP cluster bills besides its instances, as `stix cost-report` prices it.

The stack holds, per node (a TPU VM: only the address; its price covers its VM), a
persistent boot disk (its type comes from the disk tier:
`program.DISK`) and, unless `extra.private`, an ephemeral external IPv4 address. The
network, subnetwork, firewall rules and service account are not billed.

Prices: the us-central1 list prices published at
https://cloud.google.com/compute/disks-image-pricing and
https://cloud.google.com/vpc/network-pricing (external IPv4 in use: $0.005 per hour on a
standard VM, $0.0025 on a spot VM, since 2024-02-01), as stix's authors knew them in 2025
— not fetched by stix; check them there. Every region is priced at the us-central1 rates
(other regions list their own, mostly higher).
"""

from __future__ import annotations

from stix.clouds.base import Charge
from stix.clouds.common import is_private, tier
from stix.placement import Placement

PD_GB_MONTH = {"pd-standard": 0.04, "pd-balanced": 0.10, "pd-ssd": 0.17, "pd-extreme": 0.125}
EXTERNAL_IPV4_HOUR = 0.005
EXTERNAL_IPV4_SPOT_HOUR = 0.0025


def _disk_type(tier: str) -> str | None:
    from stix.clouds.gcp.program import DISK

    return DISK.get(tier)


def disk_price_gb_month(tier: str) -> float | None:
    kind = _disk_type(tier)
    return None if kind is None else PD_GB_MONTH.get(kind)


def node_charges(placement: Placement, disk: float | None) -> list[Charge]:
    """The boot disk (billed running and stopped) and the ephemeral external address,
    billed while the instance runs: a stopped instance gives it back (the next start gets
    a new one)."""
    if _is_tpu(placement):
        # The TPU's price covers its VM; stix sets no boot disk on it (GCP's default).
        if is_private(placement):
            return []
        hourly = EXTERNAL_IPV4_SPOT_HOUR if placement.use_spot else EXTERNAL_IPV4_HOUR
        return [Charge("external IPv4 address", "address", hourly, 0.0)]
    t = tier(placement)
    out = [Charge(f"persistent disk {placement.disk_size} GB {_disk_type(t) or t}", "disk",
                  disk, disk)]
    if not is_private(placement):
        hourly = EXTERNAL_IPV4_SPOT_HOUR if placement.use_spot else EXTERNAL_IPV4_HOUR
        out.append(Charge("external IPv4 address", "address", hourly, 0.0))
    return out


def _is_tpu(placement: Placement) -> bool:
    from stix.clouds.gcp.tpu import is_tpu

    return placement.accelerator is not None and is_tpu(placement.accelerator.name)


def not_counted(placement: Placement) -> list[str]:
    if _is_tpu(placement):
        return ["the TPU VM's boot disk, where GCP bills it apart from the TPU"]
    if _disk_type(tier(placement)) == "pd-extreme":
        return ["pd-extreme provisioned IOPS (capacity is counted)"]
    return []
