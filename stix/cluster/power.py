"""`stix stop` and `stix start`: a cluster's power state is part of its stack.

Stopping rewrites the stack with `stix:power: stopped` (each cloud's program turns that
into its own declarative state: an EC2 InstanceState, a GCE desired_status), shows the
diff, and applies it through the engine, so the stop is reviewable like any other change.
A cloud whose IaC provider holds no power state (Azure) records it in the stack and acts
through its API (`Cloud.set_power`). Starting applies the stack as running again — the
same instances and disks — and re-reads the addresses a stop changes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stix import state
from stix.errors import StixError, UsageError
from stix.placement import Placement
from stix.say import Say, quiet
from stix.state import ClusterRecord, ClusterStatus, OpStatus


@dataclass
class PowerResult:
    cluster: str
    changed: bool  # False: it already was stopped / running
    record: ClusterRecord


def can_stop(record: ClusterRecord) -> str | None:
    """Why the cluster cannot be stopped (None: it can)."""
    from stix.clouds import registry

    provider = registry.get(record.provider)
    caps = provider.capabilities
    if not record.has_stack:
        return (f"cluster {record.name} runs on existing machines ({record.provider}): stix "
                f"does not power them; `stix down {record.name}` gives them back")
    if not caps.stop_start and caps.stopped_bills:
        return (f"cluster {record.name} is on {record.provider}, which bills a powered-off "
                f"machine in full, so stopping it would save nothing; `stix down "
                f"{record.name}` ends the bill")
    if not caps.stop_start:
        return (f"cluster {record.name} is on {record.provider}, whose nodes cannot be "
                f"stopped and started; `stix down {record.name}` removes it")
    if record.placement.use_spot and not caps.stop_spot:
        return (f"cluster {record.name} runs on {record.provider} spot machines, which "
                f"{record.provider} cannot stop (only terminate); `stix down {record.name}`")
    return None


def stop(cluster: str, *, say: Say = quiet, on_event: Any = None) -> PowerResult:
    return _power(cluster, True, say, on_event)


def start(cluster: str, *, say: Say = quiet, on_event: Any = None) -> PowerResult:
    return _power(cluster, False, say, on_event)


def _power(cluster: str, stopped: bool, say: Say, on_event: Any) -> PowerResult:
    conn = state.connect()
    verb = "stop" if stopped else "start"
    with state.cluster_lock(conn, cluster, verb):
        record = state.require_cluster(conn, cluster)
        problem = can_stop(record)
        if problem is not None:
            raise UsageError(problem)
        if stopped == (record.status == ClusterStatus.STOPPED):
            say(f"cluster {cluster} is already {'stopped' if stopped else 'running'}")
            return PowerResult(cluster, False, record)
        if record.status not in _POWERABLE:
            raise StixError(f"cluster {cluster} is {record.status}: it cannot be "
                            f"{'stopped' if stopped else 'started'} now",
                            hint=f"`stix status {cluster} --refresh`, or `stix up` again")
        entry = state.record_start(conn, cluster, verb)
        try:
            record = _apply(conn, record, stopped, say, on_event)
        except BaseException as exc:
            state.record_end(conn, entry, OpStatus.FAILED, str(exc)[:2000])
            raise
        state.record_end(conn, entry, OpStatus.SUCCEEDED)
    if not stopped:
        from stix.cluster import node_phase

        node_phase.write_ssh_config(conn)
        if record.stopped_from == ClusterStatus.UP.value:
            asyncio.run(_after_boot(conn, record, say))
    return PowerResult(cluster, True, record)


_POWERABLE = (ClusterStatus.UP, ClusterStatus.PROVISIONED, ClusterStatus.STOPPED,
              ClusterStatus.PARTIAL)


def with_power(placement: Placement, stopped: bool) -> Placement:
    return placement.model_copy(update={"power": "stopped" if stopped else None})


def _apply(conn: Any, record: ClusterRecord, stopped: bool, say: Say,
           on_event: Any) -> ClusterRecord:
    from stix.clouds import registry
    from stix.cluster.stacks import _deployed, engine_for, stack_spec
    from stix.stack import applied, report, stackfile
    from stix.stack.plan import plan_placement
    from stix.stack.project import Project

    project = Project(Path(record.project or "."))
    path = project.config_path(record.name)
    on_disk = stackfile.read_file(path) if path.is_file() else None
    current = on_disk.placement if on_disk is not None else record.placement
    placement = with_power(current, stopped)
    plan = plan_placement(placement, project, task=on_disk.task if on_disk else None,
                          baseline=_deployed(record.name, record))
    verb = "stop" if stopped else "start"
    say(report.text(plan.diff, f"cluster {record.name}: {verb} "
                               f"{placement.num_nodes} × {placement.instance_type}"))
    key = on_disk.public_key if on_disk is not None else _key()
    engine = engine_for(record.engine)
    spec = stack_spec(project.root, placement, key)
    # What the machines are now, first: an autostop or the console may have changed the
    # power state behind the engine's back, and an apply on stale state would do nothing.
    engine.refresh(spec, on_event)
    engine.up(spec, on_event)
    cloud = registry.cloud(record.provider)
    cloud.set_power(placement, record.outputs, stopped)
    applied.save(record.name, plan.config_text, plan.graph_text)
    record.placement = placement
    if stopped:
        if record.status != ClusterStatus.PARTIAL:
            record.stopped_from = record.status.value
        record.status = ClusterStatus.STOPPED
        say(f"cluster {record.name} stopped: its machines are no longer billed, its disks "
            f"stay (`stix start {record.name}`)")
    else:
        record.nodes = current_addresses(record, say)
        record.status = ClusterStatus.PROVISIONED
    record.updated_at = time.time()
    state.put_cluster(conn, record)
    state.usage.follow(conn, record)
    return record


def _key() -> str:
    from stix.keys import public_key_text

    return public_key_text()


def current_addresses(record: ClusterRecord, say: Say) -> list[Any]:
    """The nodes with the addresses their cloud reports now (they change across a stop and
    start); the recorded ones where the cloud package cannot tell."""
    from dataclasses import replace

    from stix.clouds import registry
    from stix.remote.hostkeys import cloud_alias

    states = registry.cloud(record.provider).node_states(record.placement, record.outputs)
    if states is None:
        return record.nodes
    nodes = []
    for node in record.nodes:
        now = states.get(node.name)
        if now is None:
            nodes.append(node)
            continue
        host = now.public_ip or now.private_ip or node.host
        if host == node.host:
            nodes.append(node)
            continue
        say(f"{node.name}: address {node.host} → {host}")
        alias = (cloud_alias(record.name, node.name, host) if node.host_key_alias
                 else None)  # a new address: its key is read from the cloud again
        nodes.append(replace(node, host=host, internal_ip=now.private_ip or node.internal_ip,
                             host_key_alias=alias))
    return nodes


async def _after_boot(conn: Any, record: ClusterRecord, say: Say) -> None:
    """The nodes answer again: their agent's jobs of before the stop are over (reconcile
    marks them), buckets come back from the per-boot script (and those reached with keys from
    `stix.remote.keyed`), and the cluster is UP."""
    from stix.remote import launch

    say(f"waiting for {len(record.nodes)} node(s) to boot")
    transports = await launch.connect_nodes(record.nodes, 600.0)
    try:
        from stix.remote import keyed

        await keyed.setup(transports, record.placement, say)  # mounts with keys, again
    except StixError as exc:
        say(f"warning: {exc}")
    finally:
        await launch.close_all(transports)
    state.reconcile(conn, record.name)
    record.status = ClusterStatus.UP
    state.put_cluster(conn, record)
    say(f"cluster {record.name} is up again")
