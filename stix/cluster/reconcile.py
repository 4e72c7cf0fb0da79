"""What the cloud did behind stix's back: nodes that an autostop stopped, an autodown or a
preemption deleted, or someone changed in the console. The cloud's own answer
(`Cloud.node_states`) decides the record's status; a cluster whose every node is gone has
the rest of its stack (network, firewall, addresses, roles) removed, so nothing billed
stays behind, and the caller is told what was removed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from stix import state
from stix.errors import ClusterBusyError, StixError
from stix.say import Say, quiet
from stix.state import ClusterRecord, ClusterStatus

# Statuses a reconciliation may change: not while an operation is under way.
_SETTLED = (ClusterStatus.UP, ClusterStatus.PROVISIONED, ClusterStatus.STOPPED,
            ClusterStatus.PARTIAL, ClusterStatus.TERMINATED, ClusterStatus.INIT)


@dataclass
class Reconciled:
    cluster: str
    before: ClusterStatus
    after: ClusterStatus | None  # None: the cluster is gone and forgotten
    notes: list[str] = field(default_factory=list)
    removed: int = 0  # resources of the leftover stack that were deleted

    @property
    def changed(self) -> bool:
        return self.after != self.before or self.removed > 0

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "before": self.before.value,
                "after": self.after.value if self.after else None, "notes": self.notes,
                "removed": self.removed}


def reconcile(cluster: str, *, cleanup: bool = True, say: Say = quiet) -> Reconciled:
    """Ask the cloud about the cluster's nodes and record what it says. With `cleanup`, a
    cluster with no node left has the rest of its stack destroyed and is forgotten."""
    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    result = Reconciled(cluster, record.status, record.status)
    cloud = _cloud(record)
    if cloud is None or record.status not in _SETTLED:
        return result
    try:
        states = cloud.node_states(record.placement, record.outputs)
    except StixError as exc:
        result.notes.append(f"could not ask {record.provider}: {exc.message}")
        return result
    if states is None:
        result.notes.append(f"stix cannot read node states from {record.provider} yet")
        return result
    try:
        with state.cluster_lock(conn, cluster, "reconcile"):
            record = state.require_cluster(conn, cluster)
            _record(conn, record, states, result)
    except ClusterBusyError as exc:
        result.notes.append(exc.message)
        return result
    if result.after == ClusterStatus.TERMINATED and cleanup:
        _remove_leftovers(cluster, result, say)
    return result


def _cloud(record: ClusterRecord) -> Any:
    from stix.clouds import registry
    from stix.clouds.base import Cloud

    provider = registry.get(record.provider) if registry.served(record.provider) else None
    return provider if isinstance(provider, Cloud) and record.has_stack else None


def _record(conn: Any, record: ClusterRecord, states: dict[str, Any],
            result: Reconciled) -> None:
    names = [n.name for n in record.nodes]
    power = {n: states[n].power if n in states else "terminated" for n in names}
    gone = [n for n, p in power.items() if p == "terminated"]
    stopped = [n for n, p in power.items() if p in ("stopped", "stopping")]
    if names and len(gone) == len(names):
        status = ClusterStatus.TERMINATED
        result.notes.append("every node is gone (autodown, preemption or a console action)")
    elif gone or (stopped and len(stopped) < len(names)):
        status = ClusterStatus.PARTIAL
        what = [f"{n} {power[n]}" for n in names if power[n] != "running"]
        result.notes.append(f"not every node runs: {', '.join(what)}; `stix up` brings the "
                            f"missing back, `stix down {record.name}` removes the cluster")
    elif stopped:
        status = ClusterStatus.STOPPED
        if record.status != ClusterStatus.STOPPED:
            record.stopped_from = (record.status.value if record.status != ClusterStatus.PARTIAL
                                   else ClusterStatus.PROVISIONED.value)
            result.notes.append(f"stopped outside stix (autostop or a console action); "
                                f"`stix start {record.name}` brings it back")
    else:
        status = record.status
        if record.status in (ClusterStatus.STOPPED, ClusterStatus.PARTIAL,
                             ClusterStatus.TERMINATED):
            status = ClusterStatus(record.stopped_from or ClusterStatus.PROVISIONED.value)
            result.notes.append("running again (started outside stix)")
    record.nodes = [_moved(n, states.get(n.name), result) for n in record.nodes]
    if status != record.status:
        record.status = status
        record.updated_at = time.time()
    state.put_cluster(conn, record)
    state.usage.follow(conn, record, nodes=len(names) - len(gone) - len(stopped)
                       if status == ClusterStatus.PARTIAL else None)
    result.after = status


def _moved(node: Any, now: Any, result: Reconciled) -> Any:
    if now is None or now.power != "running":
        return node
    host = now.public_ip or now.private_ip
    if not host or host == node.host:
        return node
    from stix.remote.hostkeys import cloud_alias

    result.notes.append(f"{node.name}: address {node.host} → {host}")
    alias = cloud_alias(node.cluster or result.cluster, node.name, host) \
        if node.host_key_alias else None
    return replace(node, host=host, internal_ip=now.private_ip or node.internal_ip,
                   host_key_alias=alias)


def _remove_leftovers(cluster: str, result: Reconciled, say: Say) -> None:
    from stix.cluster import stacks

    say(f"cluster {cluster}: every node is gone; removing what remains of its stack")
    try:
        removed = stacks.destroy_counted(cluster, say=say)
    except StixError as exc:
        result.notes.append(f"removing the rest of its stack failed: {exc.message} "
                            f"(`stix down {cluster}` tries again)")
        return
    result.removed = removed
    result.after = None
    result.notes.append(f"removed the rest of its stack ({removed} resources) and forgot it")
