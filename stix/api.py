"""stix's public Python API: what the CLI calls, and what pipelines may call directly."""

from __future__ import annotations

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


def task_schema() -> dict[str, object]:
    """JSON schema of the task file, for editors (generated from the models, never by hand)."""
    return Task.model_json_schema(mode="validation")
