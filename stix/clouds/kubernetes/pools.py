"""How a node pool added to a managed cluster is marked, so only its task's pods land
there: every pool node carries the label and the taint `stix-pool=<cluster>`."""

from __future__ import annotations

from stix.placement import Placement

POOL_LABEL = "stix-pool"


def pool_name(p: Placement, limit: int = 40) -> str:
    return f"stix-{p.cluster}"[:limit].rstrip("-")
