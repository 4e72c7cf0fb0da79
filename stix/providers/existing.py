"""What the providers without infrastructure (`local`, `ssh`) add to `Provider`: they do not
create machines, they hand out existing ones to a cluster and take them back."""

from __future__ import annotations

import sqlite3
from typing import ClassVar

from stix.errors import StixError
from stix.placement import Placement
from stix.providers.base import Provider
from stix.remote.transport import NodeAddress
from stix.task import AcceleratorReq, Resources, Task


class ExistingMachines(Provider):
    provisions: ClassVar[bool] = False
    uses_catalog: ClassVar[bool] = False

    def placement(self, task: Task, cluster: str, resources: Resources) -> Placement:
        """The Placement for `task` on these machines (an error says why it cannot fit)."""
        raise NotImplementedError

    def allocate(self, conn: sqlite3.Connection, placement: Placement) -> list[NodeAddress]:
        """Nodes for a new cluster. Called inside a state transaction that also records the
        cluster, so two clusters never get the same machines."""
        raise NotImplementedError

    def release(self, nodes: list[NodeAddress]) -> None:
        """Give the machines back (local: delete node homes). Missing things are fine."""


def wanted_accelerator(resources: Resources) -> AcceleratorReq | None:
    acc = resources.accelerators
    if acc is None:
        return None
    if len(acc.options) > 1:
        raise StixError(f"accelerators: give one accelerator for existing machines, "
                        f"not alternatives ({', '.join(str(o) for o in acc.options)})")
    return acc.options[0]
