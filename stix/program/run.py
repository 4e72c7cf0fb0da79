"""Declaring a placement's stack: its cloud's program, with the node bootstrap every
program gets (cloud-init user-data per rank)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stix.placement import Placement

if TYPE_CHECKING:
    from stix.buckets import BucketSpec


def program_name(placement: Placement) -> str:
    """Which program builds `placement` (recorded in its resource graph)."""
    from stix.clouds import registry

    return registry.cloud(placement.cloud).program_name(placement)


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:
    """Declare `placement`'s resources in the running Pulumi program; return its outputs."""
    from stix.clouds import registry

    return registry.cloud(placement.cloud).build(placement, user_data_for_rank, public_key)


def default_user_data(placement: Placement, public_key: str) -> Callable[[int], str]:
    """The node bootstrap every program gets: cloud-init user-data per rank."""
    from stix.remote.cloudinit import user_data_for_rank

    return user_data_for_rank(placement, public_key)


def export(placement: Placement, public_key: str) -> None:
    """Build `placement` with the default bootstrap and export its outputs (inside a
    running Pulumi program: the engine's inline program and the CLI entry point)."""
    import pulumi

    outputs = build(placement, default_user_data(placement, public_key), public_key)
    for key, value in outputs.items():
        pulumi.export(key, value)


def export_bucket(spec: BucketSpec) -> None:
    """Build a persistent bucket's own stack and export its outputs."""
    import pulumi

    from stix.clouds import registry

    outputs = registry.cloud(spec.cloud).build_bucket(spec)
    for key, value in outputs.items():
        pulumi.export(key, value)
