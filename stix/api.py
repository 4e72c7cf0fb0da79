"""stix's public Python API: what the CLI calls, and what pipelines may call directly.

Every name is imported on first use, so `from stix import api` costs nothing and each
command pays only for what it touches (`stix status` never loads the catalog, the task
models or an SSH library).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    # Task files
    "AcceleratorReq": "stix.task", "Accelerators": "stix.task", "Pipeline": "stix.task",
    "Resources": "stix.task", "StorageMount": "stix.task", "Task": "stix.task",
    "load_pipeline": "stix.task", "load_task": "stix.task", "parse_tasks": "stix.task",
    "task_notes": "stix.task.notes", "group_notes": "stix.task.jobgroup",
    # Errors
    "NotFoundError": "stix.errors", "StixError": "stix.errors", "TaskError": "stix.errors",
    "UsageError": "stix.errors", "ClusterBusyError": "stix.errors",
    # Planning
    "NothingFitsError": "stix.optimizer", "OptimizeResult": "stix.optimizer",
    "optimize": "stix.sdk", "with_overrides": "stix.optimizer.overrides",
    "plan_clouds": "stix.optimizer.clouds", "credential_report": "stix.optimizer.clouds",
    "load_catalog": "stix.catalog",
    "import_skypilot": "stix.catalog.skypilot", "update_catalog": "stix.catalog.update",
    "gpu_summary": "stix.catalog.gpus", "gpu_offers": "stix.catalog.gpus",
    "catalog_summary": "stix.catalog.summary",
    # Stacks
    "plan_task_file": "stix.stack.plan", "plan_placement": "stix.stack.plan",
    "synthesize": "stix.stack.synth", "diff_graphs": "stix.stack.diff",
    "find_project": "stix.stack.project", "init_project": "stix.stack.project",
    "check_placement": "stix.stack.validate",
    # Nodes and keys
    "ensure_key_pair": "stix.keys", "public_key_text": "stix.keys",
    "render_user_data": "stix.remote.cloudinit",
    # Clusters and jobs
    "UpResult": "stix.cluster.lifecycle", "up": "stix.cluster.lifecycle",
    "up_pipeline": "stix.cluster.lifecycle", "PipelineResult": "stix.cluster.lifecycle",
    "pipeline_clusters": "stix.cluster.lifecycle",
    "up_group": "stix.cluster.jobgroup", "GroupResult": "stix.cluster.jobgroup",
    "down": "stix.cluster.lifecycle", "status": "stix.cluster.lifecycle",
    "ClusterRecord": "stix.state", "ClusterStatus": "stix.state",
    "ExecResult": "stix.cluster.jobs", "autostop": "stix.cluster.jobs",
    "cancel": "stix.cluster.jobs", "exec_task": "stix.cluster.jobs", "logs": "stix.cluster.jobs",
    "queue": "stix.cluster.jobs", "ssh_command": "stix.cluster.jobs",
    "storage_ls": "stix.cluster.storage", "storage_delete": "stix.cluster.storage",
    "stop": "stix.cluster.power", "start": "stix.cluster.power",
    "reconcile": "stix.cluster.reconcile", "autostop_left": "stix.cluster.jobs",
    # Managed jobs (the stix server)
    "jobs_launch": "stix.managed", "jobs_queue": "stix.managed", "jobs_logs": "stix.managed",
    "jobs_cancel": "stix.managed", "jobs_ids": "stix.managed", "JobSpec": "stix.server.models",
    "JobView": "stix.server.models",
    "PowerResult": "stix.cluster.power",
    # Services (the stix server's serve controller)
    "serve_up": "stix.serve.client", "serve_update": "stix.serve.client",
    "serve_status": "stix.serve.client", "serve_down": "stix.serve.client",
    "serve_logs": "stix.serve.client", "serve_wait_ready": "stix.serve.client",
    "ServiceView": "stix.serve.models",
    # SkyPilot's SDK shapes (`import stix as sky`)
    "launch": "stix.sdk", "exec": "stix.sdk", "tail_logs": "stix.sdk",
    "job_status": "stix.sdk", "get": "stix.sdk", "stream_and_get": "stix.sdk",
    "Dag": "stix.sdk", "Request": "stix.sdk", "OptimizeTarget": "stix.sdk",
    "Storage": "stix.sdk_storage", "StorageMode": "stix.sdk_storage",
    "StoreType": "stix.sdk_storage",
    # Costs
    "cost_report": "stix.cost", "over_budget": "stix.budget", "check_budget": "stix.budget",
    # Engines
    "preview": "stix.cluster.stacks", "refresh": "stix.cluster.stacks",
    "destroy": "stix.cluster.stacks",
    "get_engine": "stix.engine",
    # Leftovers
    "OrphanReport": "stix.cluster.orphans", "find_orphans": "stix.cluster.orphans",
    "delete_orphans": "stix.cluster.orphans",
}

__all__ = sorted([*_LAZY, "task_schema"])

if TYPE_CHECKING:  # the same names, for type checkers ("as" marks them re-exported)
    from stix.budget import over_budget as over_budget
    from stix.catalog import load_catalog as load_catalog
    from stix.catalog.gpus import gpu_offers as gpu_offers
    from stix.catalog.gpus import gpu_summary as gpu_summary
    from stix.catalog.skypilot import import_skypilot as import_skypilot
    from stix.catalog.summary import catalog_summary as catalog_summary
    from stix.catalog.update import update_catalog as update_catalog
    from stix.cluster.jobgroup import GroupResult as GroupResult
    from stix.cluster.jobgroup import up_group as up_group
    from stix.cluster.jobs import ExecResult as ExecResult
    from stix.cluster.jobs import autostop as autostop
    from stix.cluster.jobs import cancel as cancel
    from stix.cluster.jobs import exec_task as exec_task
    from stix.cluster.jobs import logs as logs
    from stix.cluster.jobs import queue as queue
    from stix.cluster.jobs import ssh_command as ssh_command
    from stix.cluster.lifecycle import PipelineResult as PipelineResult
    from stix.cluster.lifecycle import UpResult as UpResult
    from stix.cluster.lifecycle import down as down
    from stix.cluster.lifecycle import pipeline_clusters as pipeline_clusters
    from stix.cluster.lifecycle import status as status
    from stix.cluster.lifecycle import up as up
    from stix.cluster.lifecycle import up_pipeline as up_pipeline
    from stix.cluster.orphans import OrphanReport as OrphanReport
    from stix.cluster.orphans import delete_orphans as delete_orphans
    from stix.cluster.orphans import find_orphans as find_orphans
    from stix.cluster.stacks import destroy as destroy
    from stix.cluster.stacks import preview as preview
    from stix.cluster.stacks import refresh as refresh
    from stix.engine import get_engine as get_engine
    from stix.errors import ClusterBusyError as ClusterBusyError
    from stix.errors import NotFoundError as NotFoundError
    from stix.errors import StixError as StixError
    from stix.errors import TaskError as TaskError
    from stix.errors import UsageError as UsageError
    from stix.keys import ensure_key_pair as ensure_key_pair
    from stix.keys import public_key_text as public_key_text
    from stix.optimizer import NothingFitsError as NothingFitsError
    from stix.optimizer import OptimizeResult as OptimizeResult
    from stix.optimizer.clouds import credential_report as credential_report
    from stix.optimizer.clouds import plan_clouds as plan_clouds
    from stix.optimizer.overrides import with_overrides as with_overrides
    from stix.remote.cloudinit import render_user_data as render_user_data
    from stix.sdk import OptimizeTarget as OptimizeTarget
    from stix.sdk import optimize as optimize
    from stix.sdk_storage import Storage as Storage
    from stix.sdk_storage import StorageMode as StorageMode
    from stix.sdk_storage import StoreType as StoreType
    from stix.stack.diff import diff_graphs as diff_graphs
    from stix.stack.plan import plan_placement as plan_placement
    from stix.stack.plan import plan_task_file as plan_task_file
    from stix.stack.project import find_project as find_project
    from stix.stack.project import init_project as init_project
    from stix.stack.synth import synthesize as synthesize
    from stix.stack.validate import check_placement as check_placement
    from stix.state import ClusterRecord as ClusterRecord
    from stix.state import ClusterStatus as ClusterStatus
    from stix.task import AcceleratorReq as AcceleratorReq
    from stix.task import Accelerators as Accelerators
    from stix.task import Pipeline as Pipeline
    from stix.task import Resources as Resources
    from stix.task import StorageMount as StorageMount
    from stix.task import Task as Task
    from stix.task import load_pipeline as load_pipeline
    from stix.task import load_task as load_task
    from stix.task import parse_tasks as parse_tasks
    from stix.task.jobgroup import group_notes as group_notes
    from stix.task.notes import task_notes as task_notes


_ALIASES = {"storage_ls": "ls", "storage_delete": "delete", "cost_report": "report",
            "check_budget": "check", "jobs_launch": "launch", "jobs_queue": "queue",
            "jobs_logs": "logs", "jobs_cancel": "cancel", "jobs_ids": "job_ids",
            "serve_up": "up", "serve_update": "update", "serve_status": "status",
            "serve_down": "down", "serve_logs": "logs", "serve_wait_ready": "wait_ready",
            }  # API name → the module's name for it

def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), _ALIASES.get(name, name))
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'stix.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


def task_schema() -> dict[str, object]:
    """JSON schema of the task file, for editors (generated from the models, never by hand)."""
    from stix.task import Task

    return Task.model_json_schema(mode="validation")
