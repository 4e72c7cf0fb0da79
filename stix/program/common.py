"""What every provider program shares: names, labels, ports, disk tiers, network options.

Plain functions over a `Placement`; nothing here imports a Pulumi provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stix.errors import StixError
from stix.placement import Placement

MANAGED_BY = "stix"
DEFAULT_VPC_CIDR = "10.42.0.0/16"
DEFAULT_SUBNET_CIDR = "10.42.0.0/20"
DEFAULT_SSH_CIDR = "0.0.0.0/0"

# Placement.extra keys the programs read (infra options, not workload): they live in the
# stack config and `stix plan` keeps them when it rewrites a stack.
INFRA_KEYS = (
    "ssh_cidrs",       # list of CIDRs allowed to reach SSH and the task's ports
    "vpc_cidr",        # CIDR of a stack-owned network
    "subnet_cidr",     # CIDR of a stack-owned subnet
    "vpc_id",          # AWS: use this VPC instead of creating one (needs subnet_id)
    "subnet_id",       # AWS: existing subnet; GCP: existing subnetwork self link
    "network",         # GCP: existing network self link / name
    "private",         # no public addresses (reach nodes over VPN/bastion)
    "project",         # GCP project
    "resource_group",  # Azure: existing resource group
    "context",         # Kubernetes: kubeconfig context
    "namespace",       # Kubernetes: namespace (default: the cluster name)
    "managed",         # Kubernetes: eks | gke | aks (add a GPU node pool to that cluster)
    "cluster_name",    # Kubernetes managed: the EKS/GKE/AKS cluster to add the pool to
    "subnet_ids",      # EKS: subnets of the node group
    "node_role_arn",   # EKS: existing node role (else the stack creates one)
    "k8s_image",       # Kubernetes: container image of the node pods
    "ports_service_type",  # Kubernetes: LoadBalancer (default) | NodePort | ClusterIP
)  # fmt: skip


class ProgramError(StixError):
    """A placement a program cannot build as asked (missing option, unsupported combo)."""


@dataclass(frozen=True)
class PortRange:
    low: int
    high: int

    @property
    def text(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


def port_ranges(placement: Placement) -> list[PortRange]:
    """The task's ports as sorted, merged ranges (ints or "a-b" strings in the placement)."""
    ranges: list[tuple[int, int]] = []
    for item in placement.ports:
        text = str(item).strip()
        low_s, sep, high_s = text.partition("-")
        try:
            low, high = int(low_s), int(high_s) if sep else int(low_s)
        except ValueError:
            raise ProgramError(f"placement {placement.cluster}: bad port {item!r}") from None
        if not (1 <= low <= high <= 65535):
            raise ProgramError(f"placement {placement.cluster}: port {item!r} out of range")
        ranges.append((low, high))
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
        else:
            merged.append((low, high))
    return [PortRange(lo, hi) for lo, hi in merged]


def node_name(placement: Placement, rank: int) -> str:
    """`<cluster>-<rank>`; rank 0 is the head (the same names cloud-init gives hosts)."""
    return f"{placement.cluster}-{rank}"


def name(placement: Placement, suffix: str) -> str:
    return f"{placement.cluster}-{suffix}"


def labels(placement: Placement) -> dict[str, str]:
    """Tags for every resource: the cluster, who manages it, and the task's labels."""
    out = {"stix-cluster": placement.cluster, "managed-by": MANAGED_BY}
    out.update(placement.labels)
    return dict(sorted(out.items()))


_GCP_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


def gcp_labels(placement: Placement) -> dict[str, str]:
    """GCP label rules: lowercase letters, digits, '_' and '-', at most 63 characters."""
    out = {}
    for key, value in labels(placement).items():
        k = _GCP_LABEL_BAD.sub("_", key.lower())[:63]
        if not k or not k[0].isalpha():
            k = ("l" + k)[:63]
        out[k] = _GCP_LABEL_BAD.sub("_", value.lower())[:63]
    return out


def ssh_cidrs(placement: Placement) -> list[str]:
    value = placement.extra.get("ssh_cidrs", [DEFAULT_SSH_CIDR])
    cidrs = [value] if isinstance(value, str) else list(value)
    for cidr in cidrs:
        if not re.fullmatch(r"[0-9a-fA-F:.]+/\d{1,3}", str(cidr)):
            raise ProgramError(f"placement {placement.cluster}: ssh_cidrs: {cidr!r} is not a CIDR")
    return sorted(str(c) for c in cidrs)


def extra_str(placement: Placement, key: str, default: str | None = None) -> str | None:
    value = placement.extra.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ProgramError(f"placement {placement.cluster}: extra.{key} must be a string")
    return value


def require(placement: Placement, key: str, why: str) -> str:
    value = extra_str(placement, key)
    if not value:
        raise ProgramError(f"placement {placement.cluster}: extra.{key} is required ({why})",
                           hint=f"set stix:extra.{key} in stacks/Pulumi.{placement.cluster}.yaml")
    return value


def is_private(placement: Placement) -> bool:
    return bool(placement.extra.get("private", False))


def tier(placement: Placement) -> str:
    """The task's disk tier with SkyPilot's default (`best` is the top tier)."""
    value = placement.disk_tier or "medium"
    return "ultra" if value == "best" else value


# (volume type, iops, throughput MB/s); iops/throughput None = the type's default
AWS_DISK = {
    "low": ("gp3", None, None),
    "medium": ("gp3", 3000, 250),
    "high": ("gp3", 7000, 750),
    "ultra": ("io2", 20000, None),
}
GCP_DISK = {"low": "pd-standard", "medium": "pd-balanced", "high": "pd-ssd", "ultra": "pd-extreme"}
AZURE_DISK = {"low": "Standard_LRS", "medium": "StandardSSD_LRS", "high": "Premium_LRS",
              "ultra": "Premium_LRS"}  # fmt: skip


def user_data_for(placement: Placement, user_data_for_rank: Any) -> list[str]:
    return [user_data_for_rank(rank) for rank in range(placement.num_nodes)]


def outputs(nodes: list[dict[str, Any]], ssh_user: str, **more: Any) -> dict[str, Any]:
    """The outputs every program exports (head = the first node)."""
    head = nodes[0]
    return {"nodes": nodes, "head_ip": head.get("public_ip") or head.get("private_ip"),
            "ssh_user": ssh_user, **more}  # fmt: skip
