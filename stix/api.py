"""stix's public Python API: what the CLI calls, and what pipelines may call directly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stix.cluster_ops import UpResult, down, status, up
from stix.errors import NotFoundError, StixError, TaskError, UsageError
from stix.job_ops import ExecResult, autostop, cancel, exec_task, logs, queue, ssh_command
from stix.task import (
    AcceleratorReq,
    Accelerators,
    Pipeline,
    Resources,
    StorageMount,
    Task,
    load_pipeline,
    load_task,
    parse_tasks,
)

__all__ = [
    "AcceleratorReq", "Accelerators", "ExecResult", "NotFoundError", "Pipeline", "Resources",
    "StixError", "StorageMount", "Task", "TaskError", "UpResult", "UsageError", "autostop",
    "cancel", "down", "exec_task", "load_pipeline", "load_task", "logs", "parse_tasks", "queue",
    "ssh_command", "status", "task_schema", "up",
]

# Planning: imported on first use, so that `import stix.api` never loads the catalog.
_LAZY = {
    "NothingFitsError": "stix.optimizer", "OptimizeResult": "stix.optimizer",
    "optimize": "stix.optimizer", "with_overrides": "stix.optimizer.overrides",
    "plan_clouds": "stix.optimizer.clouds", "credential_report": "stix.optimizer.clouds",
    "load_catalog": "stix.catalog",
    "import_skypilot": "stix.catalog.skypilot", "update_catalog": "stix.catalog.fetch",
    "gpu_summary": "stix.catalog.gpus", "gpu_offers": "stix.catalog.gpus",
    "catalog_summary": "stix.catalog.summary",
    "ensure_key_pair": "stix.keys", "public_key_text": "stix.keys",
    "render_user_data": "stix.remote.cloudinit",
    "plan_task_file": "stix.stack.plan", "plan_placement": "stix.stack.plan",
    "synthesize": "stix.stack.synth", "diff_graphs": "stix.stack.diff",
    "find_project": "stix.stack.project", "init_project": "stix.stack.project",
    "check_placement": "stix.stack.validate",
}  # fmt: skip
__all__ += sorted(_LAZY)

if TYPE_CHECKING:  # the same names, for type checkers ("as" marks them re-exported)
    from stix.catalog import load_catalog as load_catalog
    from stix.catalog.fetch import update_catalog as update_catalog
    from stix.catalog.gpus import gpu_offers as gpu_offers
    from stix.catalog.gpus import gpu_summary as gpu_summary
    from stix.catalog.skypilot import import_skypilot as import_skypilot
    from stix.catalog.summary import catalog_summary as catalog_summary
    from stix.keys import ensure_key_pair as ensure_key_pair
    from stix.keys import public_key_text as public_key_text
    from stix.optimizer import NothingFitsError as NothingFitsError
    from stix.optimizer import OptimizeResult as OptimizeResult
    from stix.optimizer import optimize as optimize
    from stix.optimizer.clouds import credential_report as credential_report
    from stix.optimizer.clouds import plan_clouds as plan_clouds
    from stix.optimizer.overrides import with_overrides as with_overrides
    from stix.remote.cloudinit import render_user_data as render_user_data
    from stix.stack.diff import diff_graphs as diff_graphs
    from stix.stack.plan import plan_placement as plan_placement
    from stix.stack.plan import plan_task_file as plan_task_file
    from stix.stack.project import find_project as find_project
    from stix.stack.project import init_project as init_project
    from stix.stack.synth import synthesize as synthesize
    from stix.stack.validate import check_placement as check_placement


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stix.api' has no attribute {name!r}")


def task_schema() -> dict[str, object]:
    """JSON schema of the task file, for editors (generated from the models, never by hand)."""
    return Task.model_json_schema(mode="validation")
