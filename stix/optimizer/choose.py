"""The one way a task becomes placements for a stack, shared by `stix plan` and `stix up`:
command-line overrides applied, every catalog cloud considered unless `clouds` narrows it
(so a laptop and CI arrive at the same stack), ranked by `target`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stix.catalog import Catalog
    from stix.optimizer.rank import Target
    from stix.optimizer.result import OptimizeResult
    from stix.task import Task


def choose(task: Task, *, catalog: Catalog | None = None, clouds: Iterable[str] | None = None,
           cluster: str | None = None, target: Target = "cost",
           overrides: dict[str, Any] | None = None, candidates: int = 50,
           per_region: bool = False) -> OptimizeResult:
    """Ranked placements for `task` (the first is chosen; the rest are failover options);
    `per_region` adds the best of every cloud/region (a pipeline moving data needs it)."""
    from stix.optimizer.overrides import with_overrides
    from stix.optimizer.search import optimize

    task = with_overrides(task, **(overrides or {}))
    return optimize(task, catalog, clouds, target=target, cluster=cluster,
                    candidates=candidates, per_region=per_region)
