"""What every cloud's program shares: names, labels, ports, network options, outputs.

Plain functions over a `Placement`; nothing here imports a Pulumi provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

from stix.clouds.base import InfraOptions
from stix.errors import StixError
from stix.placement import Placement

MANAGED_BY = "stix"
DEFAULT_VPC_CIDR = "10.42.0.0/16"
DEFAULT_SUBNET_CIDR = "10.42.0.0/20"
DEFAULT_SSH_CIDR = "0.0.0.0/0"
Opts = TypeVar("Opts", bound=InfraOptions)

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


# A Pulumi resource name is part of its URN (`...::type::name`) and of cloud resource names:
# no `::`, no blanks or control characters, nothing a shell or template would read.
_RESOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def _resource_name(placement: Placement, text: str) -> str:
    if not _RESOURCE_NAME.fullmatch(text):
        raise ProgramError(f"placement {placement.cluster!r}: {text!r} is not a usable "
                           "resource name (letters, digits, '-', '_', '.')",
                           hint="the cluster name comes from the stack file; use a valid one")
    return text


def node_name(placement: Placement, rank: int) -> str:
    """`<cluster>-<rank>`; rank 0 is the head (the same names cloud-init gives hosts)."""
    return _resource_name(placement, f"{placement.cluster}-{rank}")


def name(placement: Placement, suffix: str) -> str:
    return _resource_name(placement, f"{placement.cluster}-{suffix}")


def labels(placement: Placement) -> dict[str, str]:
    """Tags for every resource: the task's labels, then the cluster and who manages it.

    stix's own keys are written last, so no label (a task loader refuses them; a stack file
    edited by hand might not) can retag a resource into another cluster or out of the
    selectors that find the cluster's pods and instances."""
    from stix.task.labels import is_reserved

    out = {k: v for k, v in placement.labels.items() if not is_reserved(k)}
    out.update({"stix-cluster": placement.cluster, "managed-by": MANAGED_BY})
    return dict(sorted(out.items()))


def options(placement: Placement, model: type[Opts]) -> Opts:
    """The placement's infra options as the cloud's own model."""
    value = placement.extra
    if not isinstance(value, model):
        raise ProgramError(f"placement {placement.cluster}: infra options are "
                           f"{type(value).__name__}, not {model.__name__}")
    return value


def ssh_cidrs(placement: Placement) -> list[str]:
    value = getattr(placement.extra, "ssh_cidrs", None)
    return sorted(value or [DEFAULT_SSH_CIDR])


def require(placement: Placement, key: str, value: str | None, why: str) -> str:
    if not value:
        raise ProgramError(f"placement {placement.cluster}: extra.{key} is required ({why})",
                           hint=f"set stix:extra.{key} in stacks/Pulumi.{placement.cluster}.yaml")
    return value


def is_private(placement: Placement) -> bool:
    return bool(getattr(placement.extra, "private", None))


def tier(placement: Placement) -> str:
    """The task's disk tier with SkyPilot's default (`best` is the top tier)."""
    value = placement.disk_tier or "medium"
    return "ultra" if value == "best" else value


def outputs(nodes: list[dict[str, Any]], ssh_user: str, **more: Any) -> dict[str, Any]:
    """The outputs every program exports (head = the first node)."""
    head = nodes[0]
    return {"nodes": nodes, "head_ip": head.get("public_ip") or head.get("private_ip"),
            "ssh_user": ssh_user, **more}  # fmt: skip
