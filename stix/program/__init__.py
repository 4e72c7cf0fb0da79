"""Pulumi programs: one module per provider turning a `Placement` into resources.

The same program runs under the real engine (`python -m stix.program` via `Pulumi.yaml`, or
the Automation API inline) and under mocks for offline synthesis (`stix.stack.synth`).
A program module has one function, `build(placement, user_data_for_rank, public_key)`,
which declares the resources and returns the outputs (nodes, head address, SSH user, ...).
Provider SDKs are imported inside those modules only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from stix.errors import StixError
from stix.placement import Placement

# program name -> module; `program_name` picks one for a placement.
PROGRAMS: dict[str, str] = {
    "aws": "stix.program.aws",
    "gcp": "stix.program.gcp",
    "azure": "stix.program.azure",
    "kubernetes": "stix.program.kubernetes",
    "kubernetes-managed": "stix.program.kubernetes_managed",
}
_MANAGED = ("eks", "gke", "aks")


def program_name(placement: Placement) -> str:
    """Which program builds `placement` (Kubernetes with `extra.managed` adds a node pool)."""
    cloud = placement.cloud
    if cloud in ("kubernetes", "k8s"):
        managed = placement.extra.get("managed")
        if managed is None:
            return "kubernetes"
        if managed not in _MANAGED:
            raise StixError(f"placement {placement.cluster}: extra.managed must be one of "
                            f"{', '.join(_MANAGED)}, not {managed!r}")
        return "kubernetes-managed"
    if cloud not in PROGRAMS:
        raise StixError(
            f"cloud {cloud!r} has no stack program (stix builds stacks for "
            f"{', '.join(sorted(set(PROGRAMS) - {'kubernetes-managed'}))})",
            hint="ssh and local clusters need no stack",
        )
    return cloud


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:
    """Declare `placement`'s resources in the running Pulumi program; return its outputs."""
    module = importlib.import_module(PROGRAMS[program_name(placement)])
    outputs: dict[str, Any] = module.build(placement, user_data_for_rank, public_key)
    return outputs


def default_user_data(placement: Placement, public_key: str) -> Callable[[int], str]:
    """The node bootstrap every program gets: cloud-init user-data per rank."""
    from stix.remote.cloudinit import user_data_for_rank

    return user_data_for_rank(placement, public_key)
