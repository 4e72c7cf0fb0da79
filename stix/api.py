"""stix's public Python API: what the CLI calls, and what pipelines may call directly."""

from __future__ import annotations

from stix.errors import NotFoundError, StixError, TaskError, UsageError
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
    "AcceleratorReq", "Accelerators", "NotFoundError", "Pipeline", "Resources", "StixError",
    "StorageMount", "Task", "TaskError", "UsageError", "load_pipeline", "load_task",
    "parse_tasks", "task_schema",
]


def task_schema() -> dict[str, object]:
    """JSON schema of the task file, for editors (generated from the models, never by hand)."""
    return Task.model_json_schema(mode="validation")
