"""Local state: clusters, jobs, operation history and per-cluster locks in one SQLite file
(`db`: the file; `records`: the typed records; `store`: reading and writing them; `locks`:
one operation per cluster at a time; `usage`: when each cluster ran or stood stopped, and
at what prices)."""

from stix.errors import ClusterBusyError, NotFoundError
from stix.state import usage
from stix.state.db import StateError, connect, db_path, transaction
from stix.state.locks import cluster_lock, lock_holder
from stix.state.records import (
    TERMINAL_JOB_STATES,
    BucketRecord,
    ClusterRecord,
    ClusterStatus,
    HistoryEntry,
    JobRecord,
    JobState,
    OpStatus,
)
from stix.state.store import (
    delete_bucket,
    delete_cluster,
    get_bucket,
    get_cluster,
    get_job,
    history,
    list_buckets,
    list_clusters,
    list_jobs,
    next_job_id,
    put_bucket,
    put_cluster,
    reconcile,
    record_end,
    record_start,
    require_cluster,
    update_job,
)

__all__ = [
    "TERMINAL_JOB_STATES", "BucketRecord", "ClusterBusyError", "ClusterRecord", "ClusterStatus",
    "HistoryEntry", "JobRecord", "JobState", "NotFoundError", "OpStatus", "StateError",
    "cluster_lock", "connect", "db_path", "delete_bucket", "delete_cluster", "get_bucket",
    "get_cluster", "get_job", "history", "list_buckets", "list_clusters", "list_jobs",
    "lock_holder", "next_job_id", "put_bucket", "put_cluster", "reconcile", "record_end",
    "record_start", "require_cluster", "transaction", "update_job", "usage",
]  # fmt: skip
