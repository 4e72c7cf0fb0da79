"""The task file: SkyPilot-compatible schema, values and loading."""

from stix.task.loader import load_pipeline, load_task, parse_tasks
from stix.task.model import Pipeline, Task
from stix.task.resources import Accelerators, Autostop, JobRecovery, Resources
from stix.task.storage import BucketRef, StorageMount, parse_bucket_uri
from stix.task.values import AcceleratorReq, PortRange, Quantity

__all__ = [
    "AcceleratorReq", "Accelerators", "Autostop", "BucketRef", "JobRecovery", "Pipeline",
    "PortRange", "Quantity", "Resources", "StorageMount", "Task", "load_pipeline", "load_task",
    "parse_bucket_uri", "parse_tasks",
]
