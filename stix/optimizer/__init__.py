"""The optimizer: a task → ranked feasible placements over the enabled clouds."""

from stix.optimizer.explain import NothingFitsError
from stix.optimizer.rank import GPU_SPEED
from stix.optimizer.result import OptimizeResult, Rejection
from stix.optimizer.search import optimize
from stix.optimizer.wants import DEFAULT_CPUS, DEFAULT_MEMORY

__all__ = [
    "DEFAULT_CPUS", "DEFAULT_MEMORY", "GPU_SPEED", "NothingFitsError", "OptimizeResult",
    "Rejection", "optimize",
]  # fmt: skip
