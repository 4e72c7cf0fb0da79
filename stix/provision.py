"""Cluster lifecycle on clouds: plan → engine up (with failover) → nodes → node phase;
and destroy, preview, refresh. `cluster_ops` serves machines stix does not provision.

Every engine call holds the cluster's lock in the state DB, and every attempt is kept in
the operation history, so an interrupted `up` leaves a record that `status`, `refresh` and
`destroy` recover from: the stack config on disk always names what may exist.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stix import state
from stix.engine.base import Engine, EngineError, EventSink, StackSpec
from stix.errors import NotFoundError, StixError, UsageError
from stix.placement import Placement
from stix.task import Task

Say = Callable[[str], None]
Confirm = Callable[[str], bool]


@dataclass
class Attempt:
    placement: Placement
    ok: bool
    reason: str = ""


def _quiet(_: str) -> None:
    return None


def engine_for(name: str | None) -> Engine:
    from stix.config import load_config
    from stix.engine import get_engine

    return get_engine(name, load_config())


def stack_spec(project_dir: Path, placement: Placement, public_key: str) -> StackSpec:
    """What an engine needs for `placement`: the inline program and, for engines that
    translate it, the resource graph (the same program under mocks)."""

    def program() -> None:
        import pulumi

        from stix import program as programs

        outputs = programs.build(placement, programs.default_user_data(placement, public_key),
                                 public_key)
        for key, value in outputs.items():
            pulumi.export(key, value)

    def synthesize() -> Any:
        from stix.stack.synth_cache import synthesize_cached

        return synthesize_cached(placement, public_key)

    return StackSpec(placement.cluster, project_dir, placement, program,
                     synthesize=synthesize)


def nodes_from_outputs(outputs: dict[str, Any], placement: Placement) -> list[dict[str, Any]]:
    """The node list `up` records, from the program's outputs (same shape for every cloud)."""
    from stix.keys import private_key_path
    from stix.remote.transport import NodeAddress

    user = str(outputs.get("ssh_user") or placement.ssh_user)
    nodes = []
    for i, node in enumerate(outputs.get("nodes") or []):
        host = node.get("public_ip") or node.get("private_ip")
        if not host:
            raise StixError(f"cluster {placement.cluster!r}: node {i} has no address in the "
                            "stack outputs", hint=f"stix refresh {placement.cluster}")
        nodes.append(NodeAddress(name=str(node.get("name") or f"{placement.cluster}-{i}"),
                                 host=str(host), user=user,
                                 identity_file=str(private_key_path()),
                                 internal_ip=node.get("private_ip")).to_dict())
    return nodes


def _zone_siblings(failed: Placement, catalog: Any) -> list[Placement]:
    """The same machine in the region's other zones (the optimizer lists one zone each)."""
    out = []
    for offer in catalog.for_cloud(failed.cloud):
        if (offer.region == failed.region and offer.instance_type == failed.instance_type
                and offer.zone and offer.zone != failed.zone
                and offer.hourly(failed.use_spot) is not None
                and offer.accelerator == (failed.accelerator.name if failed.accelerator else None)):
            out.append(failed.model_copy(update={"zone": offer.zone,
                                                 "hourly_price": offer.hourly(failed.use_spot)}))
    return sorted(out, key=lambda p: (p.hourly_price, p.zone or ""))


def _describe(p: Placement) -> str:
    where = "/".join(x for x in (p.cloud, p.region, p.zone) if x)
    market = "spot" if p.use_spot else "on-demand"
    return f"{p.num_nodes}× {p.instance_type} {market} in {where} (${p.total_hourly_price:.2f}/h)"


def _setup_hash(task: Task) -> str:
    return hashlib.sha256((task.setup or "").encode()).hexdigest()[:16]


@dataclass
class Provisioned:
    record: state.ClusterRecord
    attempts: list[Attempt]
    changed: bool


def provision(task: Task, cluster: str, *, engine_name: str | None = None,
              clouds: list[str] | None = None, confirm: Confirm | None = None,
              on_event: EventSink | None = None, say: Say = _quiet,
              conn: sqlite3.Connection) -> Provisioned:
    """Make the cluster's infrastructure match the task. Call with the cluster lock held."""
    from stix.catalog import load_catalog
    from stix.config import load_config
    from stix.engine.failover import RETRIABLE, block_for, next_placement
    from stix.optimizer import optimize
    from stix.stack import report
    from stix.stack.plan import plan_placement
    from stix.stack.project import find_project

    config = load_config()
    engine = engine_for(engine_name)
    engine.check()
    project = find_project()
    catalog = load_catalog()
    record = state.get_cluster(conn, cluster)
    if record is not None:
        if record.extra.get("engine") and record.extra["engine"] != engine.name:
            raise UsageError(f"cluster {cluster!r} was created with the "
                             f"{record.extra['engine']} engine; use --engine "
                             f"{record.extra['engine']}")
        placement = Placement.model_validate(record.placement)
        if task.num_nodes != placement.num_nodes:
            raise StixError(f"cluster {cluster!r} has {placement.num_nodes} node(s) but the task "
                            f"wants {task.num_nodes}", hint=f"`stix down {cluster}` first")
        candidates = [placement]
    else:
        result = optimize(task, catalog, clouds, cluster=cluster, candidates=50)
        candidates = result.candidates
        placement = result.chosen
    plan = plan_placement(placement, project, catalog=catalog)
    public_key = _public_key(project, cluster)
    if record is not None and plan.diff.empty and record.status == "UP":
        say(f"cluster {cluster}: infrastructure unchanged")
        return Provisioned(record, [], False)
    say(report.text(plan.diff, f"cluster {cluster}: {_describe(placement)}"))
    if confirm is not None and not confirm(f"Create/update cluster {cluster}?"):
        raise StixError("cancelled; nothing was changed (the stack files were written)")
    now = time.time()
    if record is None:
        record = state.ClusterRecord(cluster, placement.cloud, placement.model_dump(mode="json"),
                                     "PROVISIONING", now, now, placement.total_hourly_price, [],
                                     {"engine": engine.name, "project": str(project.root)})
    record.status = "PROVISIONING"
    state.put_cluster(conn, record)
    attempts: list[Attempt] = []
    blocks = []
    while True:
        entry = state.record_start(conn, cluster, f"provision {_describe(placement)}")
        spec = stack_spec(project.root, placement, public_key)
        try:
            result_up = engine.up(spec, on_event)
        except EngineError as exc:
            attempts.append(Attempt(placement, False, exc.kind))
            state.record_end(conn, entry, "FAILED", str(exc)[:2000])
            if exc.kind not in RETRIABLE or len(attempts) >= config.max_failover_attempts:
                record.status = "FAILED"
                state.put_cluster(conn, record)
                raise
            blocks.append(block_for(placement, exc.kind, str(exc)))
            say(f"attempt {len(attempts)} failed ({exc.kind}): {_describe(placement)}; "
                "removing what it created")
            engine.destroy(spec, on_event)
            pool = _zone_siblings(placement, catalog) + list(candidates)
            nxt = next_placement(placement, pool, blocks)
            if nxt is None:
                record.status = "FAILED"
                state.put_cluster(conn, record)
                tried = "; ".join(f"{_describe(a.placement)}: {a.reason}" for a in attempts)
                raise StixError(
                    f"cluster {cluster!r}: no placement left to try ({tried})") from exc
            placement = nxt
            say(f"failing over to {_describe(placement)}")
            plan_placement(placement, project, catalog=catalog)
            record.placement = placement.model_dump(mode="json")
            record.hourly_price = placement.total_hourly_price
            state.put_cluster(conn, record)
            continue
        state.record_end(conn, entry, "SUCCEEDED")
        attempts.append(Attempt(placement, True))
        break
    record.nodes = nodes_from_outputs(result_up.outputs, placement)
    record.placement = placement.model_dump(mode="json")
    record.hourly_price = placement.total_hourly_price
    record.status = "PROVISIONED"
    record.extra["outputs"] = result_up.outputs
    state.put_cluster(conn, record)
    return Provisioned(record, attempts, True)


def _public_key(project: Any, cluster: str) -> str:
    from stix.stack import config as stack_config

    return stack_config.read(project.config_path(cluster))[1]


def spec_for_record(record: state.ClusterRecord) -> StackSpec:
    """The stack of an existing cluster, from its stack config (what may exist in the cloud),
    falling back to the placement recorded at launch."""
    from stix.stack import config as stack_config
    from stix.stack.project import Project

    root = Path(record.extra.get("project") or ".")
    project = Project(root)
    path = project.config_path(record.name)
    if path.is_file():
        placement, key = stack_config.read(path)
    else:
        from stix.keys import public_key_text

        placement, key = Placement.model_validate(record.placement), public_key_text()
    return stack_spec(root, placement, key)


def _cloud_record(conn: sqlite3.Connection, cluster: str) -> state.ClusterRecord:
    record = state.get_cluster(conn, cluster)
    if record is None:
        raise NotFoundError(f"no cluster named {cluster!r}", hint="stix status lists them")
    if not record.extra.get("engine"):
        raise UsageError(f"cluster {cluster!r} runs on {record.provider}; it has no stack")
    return record


def destroy(cluster: str, *, purge: bool = False, on_event: EventSink | None = None,
            say: Say = _quiet) -> bool:
    """Destroy every resource of the cluster's stack and forget it. Already gone: False."""
    conn = state.connect()
    record = state.get_cluster(conn, cluster)
    if record is None:
        return False
    with state.cluster_lock(conn, cluster, "destroy"):
        record = _cloud_record(conn, cluster)
        engine = engine_for(record.extra["engine"])
        spec = spec_for_record(record)
        entry = state.record_start(conn, cluster, "destroy")
        record.status = "DESTROYING"
        state.put_cluster(conn, record)
        try:
            result = engine.destroy(spec, on_event)
            engine.remove(spec)
        except BaseException as exc:
            state.record_end(conn, entry, "FAILED", str(exc)[:2000])
            record.status = "DESTROY_FAILED"
            state.put_cluster(conn, record)
            raise
        state.record_end(conn, entry, "SUCCEEDED", f"deleted {result.changes.get('delete', 0)}")
        state.delete_cluster(conn, cluster)
        if purge:
            from stix.stack.project import Project

            project = Project(Path(record.extra.get("project") or "."))
            for path in (project.config_path(cluster), project.graph_path(cluster)):
                path.unlink(missing_ok=True)
            say(f"removed the stack files of {cluster}")
    return True


def preview(cluster: str, on_event: EventSink | None = None) -> dict[str, int]:
    """The engine's own diff of the stack against the cloud (drift included)."""
    conn = state.connect()
    record = _cloud_record(conn, cluster)
    return engine_for(record.extra["engine"]).preview(spec_for_record(record), on_event).changes


def refresh(cluster: str, on_event: EventSink | None = None) -> state.ClusterRecord:
    """Read the cloud's truth into the stack state and the cluster record."""
    conn = state.connect()
    with state.cluster_lock(conn, cluster, "refresh"):
        record = _cloud_record(conn, cluster)
        engine = engine_for(record.extra["engine"])
        spec = spec_for_record(record)
        engine.refresh(spec, on_event)
        outputs = engine.outputs(spec)
        if outputs:
            record.nodes = nodes_from_outputs(outputs, spec.placement)
            record.extra["outputs"] = outputs
            if record.status in ("PROVISIONING", "DESTROY_FAILED", "FAILED"):
                record.status = "PROVISIONED"
        state.put_cluster(conn, record)
        return record
