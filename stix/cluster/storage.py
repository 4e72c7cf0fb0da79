"""Buckets with stacks of their own (`stix.buckets`): made before the clusters that use
them, listed, and deleted only on request and only when no cluster uses them."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stix import state
from stix.buckets import BucketSpec
from stix.engine.base import Engine, EventSink, StackSpec
from stix.errors import StorageNotFoundError, UsageError
from stix.say import Say, quiet
from stix.state import BucketRecord, OpStatus


def bucket_stack(project_dir: Path, spec: BucketSpec) -> StackSpec:
    """What an engine needs for a bucket's own stack."""

    def program() -> None:
        from stix.program.run import export_bucket

        export_bucket(spec)

    def synthesize() -> Any:
        from stix.stack.synth import synthesize_bucket

        return synthesize_bucket(spec)

    return StackSpec(spec.stack, project_dir, None, program, synthesize=synthesize,
                     cloud=spec.cloud)


def ensure(conn: sqlite3.Connection, specs: list[BucketSpec], engine: Engine,
           project: Any, *, on_event: EventSink | None = None, say: Say = quiet) -> None:
    """Make every bucket stack in `specs` exist (once; a bucket already made is reused),
    planning its stack files as `stix plan` does."""
    from stix.stack.plan import plan_bucket

    for spec in specs:
        known = state.get_bucket(conn, spec.name)
        if known is not None:
            continue
        plan = plan_bucket(spec, project)
        entry = state.record_start(conn, spec.stack, f"create bucket {spec.name}")
        try:
            engine.up(bucket_stack(project.root, plan.bucket or spec), on_event)
        except BaseException as exc:
            state.record_end(conn, entry, OpStatus.FAILED, str(exc)[:2000])
            raise
        state.record_end(conn, entry, OpStatus.SUCCEEDED)
        state.put_bucket(conn, BucketRecord(plan.bucket or spec, engine.name,
                                            str(project.root), time.time()))
        say(f"bucket {spec.name}: created on {spec.cloud} {spec.region}, in its own stack "
            f"{spec.stack} (it stays when clusters go; `stix storage delete {spec.name}`)")


@dataclass
class BucketInfo:
    name: str
    store: str
    cloud: str
    region: str
    stack: str
    engine: str
    created_at: float
    used_by: list[str]

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))

    def __getitem__(self, key: str) -> Any:
        """SkyPilot's `storage_ls()` rows are dicts (`row["name"]`, `row["store"]`): the
        same keys here. stix records no last use (`used_by` says who uses it now)."""
        from stix.sdk_storage import store_type

        sky = {"launched_at": self.created_at, "store": [store_type()(self.store.upper())],
               "last_use": None, "status": "READY"}
        if key in sky:
            return sky[key]
        if key in vars(self):
            return getattr(self, key)
        raise KeyError(key)


def _users(conn: sqlite3.Connection, name: str) -> list[str]:
    return sorted(r.name for r in state.list_clusters(conn)
                  if any(b.name == name for b in r.placement.buckets))


def ls() -> list[BucketInfo]:
    """Every bucket stix keeps, with the clusters that use it."""
    conn = state.connect()
    return [BucketInfo(r.spec.name, r.spec.store, r.spec.cloud, r.spec.region, r.spec.stack,
                       r.engine, r.created_at, _users(conn, r.spec.name))
            for r in state.list_buckets(conn)]


def delete(name: str, *, on_event: EventSink | None = None, say: Say = quiet) -> None:
    """Delete a kept bucket and what it holds. Refused while a cluster uses it."""
    from stix.cluster.stacks import engine_for
    from stix.stack.project import Project

    conn = state.connect()
    record = state.get_bucket(conn, name)
    if record is None:
        known = [r.spec.name for r in state.list_buckets(conn)]
        raise StorageNotFoundError(f"stix keeps no bucket {name!r}",
                            hint=f"kept buckets: {', '.join(known)}" if known else None)
    users = _users(conn, name)
    if users:
        raise UsageError(f"bucket {name!r} is in use by cluster(s) {', '.join(users)}",
                         hint="`stix down` them first; their data stays in the bucket")
    spec = record.spec
    project = Project(Path(record.project or "."))
    with state.cluster_lock(conn, spec.stack, "storage delete"):
        engine = engine_for(record.engine)
        emptying = spec.model_copy(update={"force_destroy": True})
        stack = bucket_stack(project.root, emptying)
        entry = state.record_start(conn, spec.stack, f"delete bucket {name}")
        try:
            engine.up(stack, on_event)  # allow the delete to empty it, then delete
            engine.destroy(stack, on_event)
            engine.remove(stack)
        except BaseException as exc:
            state.record_end(conn, entry, OpStatus.FAILED, str(exc)[:2000])
            raise
        state.record_end(conn, entry, OpStatus.SUCCEEDED)
        state.delete_bucket(conn, name)
    for path in (project.config_path(spec.stack), project.graph_path(spec.stack)):
        path.unlink(missing_ok=True)
    say(f"bucket {name} and its stack {spec.stack} are deleted")
