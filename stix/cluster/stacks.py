"""Clusters backed by a stack: plan → engine up (with failover) → nodes; and destroy,
preview, refresh. The node phase that follows is shared with every provider.

Every engine call holds the cluster's lock in the state DB, and every attempt is kept in
the operation history, so an interrupted `up` leaves a record that `status`, `refresh` and
`destroy` recover from: the stack config on disk always names what may exist.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stix import state
from stix.engine.base import Engine, EngineError, EventSink, StackSpec
from stix.errors import NotFoundError, ResourcesUnavailableError, StixError, UsageError
from stix.placement import Placement
from stix.remote.transport import NodeAddress
from stix.say import Say, quiet
from stix.state import ClusterRecord, ClusterStatus, OpStatus
from stix.task import Task
from stix.user_config import applies_task_config

Confirm = Callable[[str], bool]


@dataclass
class Attempt:
    placement: Placement
    ok: bool
    reason: str = ""


class NoPlacementLeft(ResourcesUnavailableError):
    """Every placement the task may use failed for capacity, quota or spot (retriable
    later: `--retry-until-up`)."""


def engine_for(name: str | None) -> Engine:
    from stix.engine import get_engine
    from stix.user_config import load_config

    return get_engine(name, load_config())


def stack_spec(project_dir: Path, placement: Placement, public_key: str) -> StackSpec:
    """What an engine needs for `placement`: the inline program and, for engines that
    translate it, the resource graph (the same program under mocks)."""

    def program() -> None:
        from stix.program.run import export

        export(placement, public_key)

    def synthesize() -> Any:
        from stix.stack.synth_cache import synthesize_cached

        return synthesize_cached(placement, public_key)

    return StackSpec(placement.cluster, project_dir, placement, program,
                     synthesize=synthesize)


def nodes_from_outputs(outputs: dict[str, Any], placement: Placement) -> list[NodeAddress]:
    """The nodes `up` records, from the program's outputs (same shape for every cloud)."""
    from stix.clouds import registry
    from stix.keys import private_key_path
    from stix.remote.hostkeys import cloud_alias
    from stix.user_config import load_config

    user = str(outputs.get("ssh_user") or placement.ssh_user)
    source = registry.cloud(placement.cloud).host_key_source(placement, outputs)
    proxy = load_config().proxy_command_for(placement.cloud)
    nodes = []
    for i, node in enumerate(outputs.get("nodes") or []):
        host = node.get("public_ip") or node.get("private_ip")
        if not host:
            raise StixError(f"cluster {placement.cluster!r}: node {i} has no address in the "
                            "stack outputs", hint=f"stix refresh {placement.cluster}")
        name = str(node.get("name") or f"{placement.cluster}-{i}")
        nodes.append(NodeAddress(name=name, host=str(host), port=int(node.get("ssh_port") or 22),
                                 user=user,
                                 identity_file=str(private_key_path()),
                                 internal_ip=node.get("private_ip"),
                                 host_key_alias=cloud_alias(placement.cluster, name,
                                                            str(host)),
                                 host_key_source=source, proxy_command=proxy,
                                 cluster=placement.cluster))
    return nodes


def describe(p: Placement) -> str:
    where = "/".join(x for x in (p.cloud, p.region, p.zone) if x)
    market = "spot" if p.use_spot else "on-demand"
    return f"{p.num_nodes}× {p.instance_type} {market} in {where} (${p.total_hourly_price:.2f}/h)"


@dataclass
class Provisioned:
    record: ClusterRecord
    attempts: list[Attempt]
    changed: bool


@applies_task_config
def provision(task: Task, cluster: str, *, engine_name: str | None = None,
              clouds: list[str] | None = None, confirm: Confirm | None = None,
              on_event: EventSink | None = None, say: Say = quiet,
              conn: sqlite3.Connection, avoid: Collection[str] = (),
              project_dir: Path | None = None, chosen: Placement | None = None
              ) -> Provisioned:
    """Make the cluster's infrastructure match the task (with any placement flags already
    applied to it). Call with the cluster lock held.

    The placement is the stack's on disk when that stack was planned from this task as it
    is now (what a reviewer read is what gets applied); otherwise the task is placed anew
    and the stack rewritten (at `chosen` when given: a pipeline's choice for the whole
    chain). The diff shown is against what was last applied (nothing, for a first
    deploy)."""
    from stix.catalog import load_catalog
    from stix.cluster.failover import RETRIABLE, after_failure, block_for
    from stix.stack import applied, report
    from stix.stack.plan import plan_placement
    from stix.stack.project import find_project
    from stix.user_config import load_config

    config = load_config()
    engine = engine_for(engine_name)
    engine.check()
    project = find_project(project_dir)
    catalog = load_catalog()
    record = state.get_cluster(conn, cluster)
    if record is not None and record.engine and record.engine != engine.name:
        raise UsageError(f"cluster {cluster!r} was created with the {record.engine} "
                         f"engine; use engine={record.engine!r} (--engine {record.engine})")
    placement, candidates, ref = _placement_for(task, cluster, project, catalog, clouds, say,
                                                avoid, chosen)
    was_stopped = record is not None and record.status == ClusterStatus.STOPPED
    if placement.power is not None:
        placement = placement.model_copy(update={"power": None})  # up runs it: started
        say(f"cluster {cluster} is stopped: starting it")
    from stix.task.notes import task_notes

    for warning in task_notes(task, placement.cloud):
        say(f"warning: {warning}")
    if record is not None and task.num_nodes != record.placement.num_nodes:
        raise StixError(f"cluster {cluster!r} has {record.placement.num_nodes} node(s) but the "
                        f"task wants {task.num_nodes}", hint=f"`stix down {cluster}` first")
    from stix import budget

    budget.check(placement, task.resources.max_hourly_cost, config, conn)
    from stix.remote import keyed

    keyed_access = keyed.before_up(placement)  # the user's keys, before anything is made
    plan = plan_placement(placement, project, catalog=catalog, task=ref,
                          baseline=_deployed(cluster, record))
    _exposure_gate(plan, config.policy, say)
    public_key = _public_key(project, cluster)
    if record is not None and plan.diff.empty and record.status == ClusterStatus.UP:
        say(f"cluster {cluster}: infrastructure unchanged")
        return Provisioned(record, [], False)
    say(report.text(plan.diff, f"cluster {cluster}: {describe(placement)} "
                               f"(vs {plan.baseline})"))
    from stix.buckets import specs_for
    from stix.cluster import storage

    buckets = [s for s in specs_for(placement) if state.get_bucket(conn, s.name) is None]
    for kept in buckets:
        say(f"bucket {kept.name}: to create on {kept.cloud}, in its own stack {kept.stack} "
            "(kept when clusters go)")
    if confirm is not None and not confirm(f"Create/update cluster {cluster}?"):
        raise StixError("cancelled; nothing was changed (the stack files were written)")
    keyed.create_missing(placement, keyed_access, say)
    storage.ensure(conn, buckets, engine, project, on_event=on_event, say=say)
    now = time.time()
    if record is None:
        record = ClusterRecord(cluster, placement.cloud, placement, ClusterStatus.PROVISIONING,
                               now, now, placement.total_hourly_price, [], engine=engine.name,
                               project=str(project.root))
    record.status = ClusterStatus.PROVISIONING
    state.put_cluster(conn, record)
    attempts: list[Attempt] = []
    blocks = []
    while True:
        entry = state.record_start(conn, cluster, f"provision {describe(placement)}")
        spec = stack_spec(project.root, placement, public_key)
        try:
            if was_stopped:  # the power state may have changed behind the engine's back
                engine.refresh(spec, on_event)
            result_up = engine.up(spec, on_event)
        except EngineError as exc:
            attempts.append(Attempt(placement, False, exc.kind))
            state.record_end(conn, entry, OpStatus.FAILED, str(exc)[:2000])
            if exc.kind not in RETRIABLE or len(attempts) >= config.max_failover_attempts:
                record.status = ClusterStatus.FAILED
                state.put_cluster(conn, record)
                state.usage.follow(conn, record)
                raise
            blocks.append(block_for(placement, exc.kind, str(exc)))
            say(f"attempt {len(attempts)} failed ({exc.kind}): {describe(placement)}; "
                "removing what it created")
            engine.destroy(spec, on_event)
            nxt = after_failure(placement, candidates, blocks, catalog)
            if nxt is None:
                record.status = ClusterStatus.FAILED
                state.put_cluster(conn, record)
                state.usage.follow(conn, record)
                tried = "; ".join(f"{describe(a.placement)}: {a.reason}" for a in attempts)
                raise NoPlacementLeft(
                    f"cluster {cluster!r}: no placement left to try ({tried})") from exc
            placement = nxt
            say(f"failing over to {describe(placement)}")
            plan = plan_placement(placement, project, catalog=catalog, task=ref)
            try:
                budget.check(placement, task.resources.max_hourly_cost, config, conn)
                keyed.create_missing(placement, keyed.before_up(placement), say)
                _exposure_gate(plan, config.policy, say)
            except UsageError:
                record.status = ClusterStatus.FAILED
                state.put_cluster(conn, record)
                state.usage.follow(conn, record)
                raise
            record.placement = placement
            record.hourly_price = placement.total_hourly_price
            state.put_cluster(conn, record)
            continue
        state.record_end(conn, entry, OpStatus.SUCCEEDED)
        attempts.append(Attempt(placement, True))
        break
    applied.save(cluster, plan.config_text, plan.graph_text)
    record.nodes = nodes_from_outputs(result_up.outputs, placement)
    record.placement = placement
    if was_stopped:
        from stix.clouds import registry
        from stix.cluster.power import current_addresses

        registry.cloud(placement.cloud).set_power(placement, result_up.outputs, False)
        record.nodes = current_addresses(record, say)  # a start changes addresses
    record.hourly_price = placement.total_hourly_price
    record.status = ClusterStatus.PROVISIONED
    record.outputs = result_up.outputs
    record.autostop = ({"idle_minutes": placement.autostop_minutes,
                        "down": placement.autostop_down,
                        "wait_for": placement.autostop_wait_for or "jobs_and_ssh"}
                       if placement.autostop_minutes is not None else None)
    state.put_cluster(conn, record)
    state.usage.follow(conn, record)
    return Provisioned(record, attempts, True)


def _exposure_gate(plan: Any, policy: Any, say: Say) -> None:
    """Say what the stack opens to the internet (and the plan's warnings) before anything
    is made; the strict policy refuses it."""
    from stix.stack.exposure import enforce, summary
    from stix.user_config import where

    for warning in plan.warnings:
        say(f"warning: {warning}")
    for line in summary(plan.exposure):
        say(f"warning: exposed to the internet: {line}")
    enforce(plan.cluster, plan.exposure, policy, where("policy"))


def _placement_for(task: Task, cluster: str, project: Any, catalog: Any,
                   clouds: list[str] | None, say: Say, avoid: Collection[str] = (),
                   chosen: Placement | None = None
                   ) -> tuple[Placement, list[Placement], Any]:
    """(placement, failover candidates, task reference): the stack's own placement when it
    was planned from this very task, else a new choice; never in an `avoid` location
    (`cloud/region` or `cloud/region/zone`) while another placement remains."""
    from stix.optimizer.choose import choose
    from stix.stack import stackfile
    from stix.stack.plan import owner_check, task_ref

    ref = task_ref(task, project)
    owner_check(project, cluster, ref)
    path = project.config_path(cluster)
    planned = stackfile.read_file(path) if path.is_file() else None
    result = choose(task, catalog=catalog, clouds=clouds, cluster=cluster, candidates=50)
    if avoid:
        from stix.cluster.failover import zone_siblings

        pool: list[Placement] = []
        for c in result.candidates:  # the optimizer lists one zone per region: add the rest
            pool += [c, *zone_siblings(c, catalog)] if _avoided(c, avoid) else [c]
        kept = [c for c in pool if not _avoided(c, avoid)]
        if kept:
            if _avoided(result.chosen, avoid):
                say(f"avoiding {', '.join(sorted(avoid))}: {describe(kept[0])}")
            return kept[0], kept, ref
        say(f"no placement outside {', '.join(sorted(avoid))}: trying them again")
    if planned is not None and planned.task is not None and planned.task.digest == ref.digest:
        mine = planned.placement
        others = [c for c in result.candidates if _where(c) != _where(mine)]
        return mine, [mine, *others], ref
    first = chosen if chosen is not None else result.chosen
    if planned is not None:
        say(f"the task differs from the one {path.relative_to(project.root)} was planned "
            f"from: placed anew ({describe(first)})")
    others = [c for c in result.candidates if _where(c) != _where(first)]
    return first, [first, *others], ref


def _avoided(p: Placement, avoid: Collection[str]) -> bool:
    return f"{p.cloud}/{p.region}" in avoid or f"{p.cloud}/{p.region}/{p.zone}" in avoid


def _where(p: Placement) -> tuple[str, str, str | None, str, bool]:
    return (p.cloud, p.region, p.zone, p.instance_type, p.use_spot)


def _deployed(cluster: str, record: ClusterRecord | None) -> Any:
    """What exists: the last applied stack, or nothing (a first deploy)."""
    from stix.stack import applied
    from stix.stack.plan import Baseline

    last = applied.load(cluster) if record is not None else None
    if last is None:
        return Baseline("nothing (first deploy)")
    return Baseline("what is deployed", *last)


def _public_key(project: Any, cluster: str) -> str:
    from stix.stack import stackfile

    return stackfile.read(project.config_path(cluster))[1]


def spec_for_record(record: ClusterRecord) -> StackSpec:
    """The stack of an existing cluster, from its stack config (what may exist in the cloud),
    falling back to the placement recorded at launch."""
    from stix.stack import stackfile
    from stix.stack.project import Project

    root = Path(record.project or ".")
    path = Project(root).config_path(record.name)
    if path.is_file():
        placement, key = stackfile.read(path)
    else:
        from stix.keys import public_key_text

        placement, key = record.placement, public_key_text()
    return stack_spec(root, placement, key)


def _stack_record(conn: sqlite3.Connection, cluster: str) -> ClusterRecord:
    record = state.get_cluster(conn, cluster)
    if record is None:
        raise NotFoundError(f"no cluster named {cluster!r}", hint="stix status lists them")
    if not record.has_stack:
        raise UsageError(f"cluster {cluster!r} runs on {record.provider}; it has no stack")
    return record


def destroy(cluster: str, *, purge: bool = False, on_event: EventSink | None = None,
            say: Say = quiet) -> bool:
    """Destroy every resource of the cluster's stack and forget it. Already gone: False."""
    if state.get_cluster(state.connect(), cluster) is None:
        return False
    destroy_counted(cluster, purge=purge, on_event=on_event, say=say)
    return True


def destroy_counted(cluster: str, *, purge: bool = False, on_event: EventSink | None = None,
                    say: Say = quiet) -> int:
    """`destroy`, returning how many resources the engine deleted."""
    conn = state.connect()
    with state.cluster_lock(conn, cluster, "destroy"):
        record = _stack_record(conn, cluster)
        engine = engine_for(record.engine)
        spec = spec_for_record(record)
        entry = state.record_start(conn, cluster, "destroy")
        record.status = ClusterStatus.DESTROYING
        state.put_cluster(conn, record)
        try:
            result = engine.destroy(spec, on_event)
            engine.remove(spec)
        except BaseException as exc:
            state.record_end(conn, entry, OpStatus.FAILED, str(exc)[:2000])
            record.status = ClusterStatus.DESTROY_FAILED
            state.put_cluster(conn, record)
            raise
        deleted = result.changes.get("delete", 0)
        state.record_end(conn, entry, OpStatus.SUCCEEDED, f"deleted {deleted}")
        state.delete_cluster(conn, cluster)
        from stix.remote.hostkeys import forget_nodes

        forget_nodes(record.nodes)
        from stix.stack import applied

        applied.forget(cluster)
        if purge:
            from stix.stack.project import Project

            project = Project(Path(record.project or "."))
            for path in (project.config_path(cluster), project.graph_path(cluster)):
                path.unlink(missing_ok=True)
            say(f"removed the stack files of {cluster}")
    return int(deleted)


def preview(cluster: str, on_event: EventSink | None = None) -> dict[str, int]:
    """The engine's own diff of the stack against the cloud (drift included)."""
    conn = state.connect()
    record = _stack_record(conn, cluster)
    return engine_for(record.engine).preview(spec_for_record(record), on_event).changes


_RECOVERED = (ClusterStatus.PROVISIONING, ClusterStatus.DESTROY_FAILED, ClusterStatus.FAILED)


def refresh(cluster: str, on_event: EventSink | None = None) -> ClusterRecord:
    """Read the cloud's truth into the stack state and the cluster record."""
    conn = state.connect()
    with state.cluster_lock(conn, cluster, "refresh"):
        record = _stack_record(conn, cluster)
        engine = engine_for(record.engine)
        spec = spec_for_record(record)
        engine.refresh(spec, on_event)
        outputs = engine.outputs(spec)
        if outputs:
            record.nodes = nodes_from_outputs(outputs, spec.placement or record.placement)
            record.outputs = outputs
            if record.status in _RECOVERED:
                record.status = ClusterStatus.PROVISIONED
        state.put_cluster(conn, record)
        state.usage.follow(conn, record)
        return record
