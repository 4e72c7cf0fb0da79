"""Clusters on existing machines (`capabilities.provisions` off): hosts are handed out to
the cluster inside the state transaction that records it, and given back at `down`."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Collection
from pathlib import Path

from stix import state
from stix.clouds.base import Machines
from stix.errors import StixError
from stix.say import Say
from stix.state import ClusterRecord, ClusterStatus
from stix.task import Task


def provider_of(task: Task) -> Machines:
    """The machines provider a task pins (one alternative, on existing machines)."""
    from stix.clouds import registry

    candidates = task.resources.candidates()
    if len(candidates) != 1 or candidates[0].cloud is None:
        raise StixError("a task on existing machines names one of them "
                        "(`infra: local` or `infra: ssh/<pool>`), without alternatives")
    return registry.machines(candidates[0].cloud)


def allocate(conn: sqlite3.Connection, task: Task, cluster: str, say: Say,
             avoid: Collection[str] = ()) -> ClusterRecord:
    """Place `task` on its machines (none in `avoid`) and record the new cluster,
    atomically."""
    provider = provider_of(task)
    placement = provider.placement(task, cluster, task.resources.candidates()[0])
    with state.transaction(conn):
        nodes = provider.allocate(conn, placement, avoid)
        now = time.time()
        record = ClusterRecord(cluster, placement.cloud, placement, ClusterStatus.INIT, now, now,
                               placement.total_hourly_price, nodes)
        state.put_cluster(conn, record)
        state.usage.follow(conn, record)
    say(f"cluster {cluster}: {len(nodes)} node(s) on {provider.location(placement)}")
    return record


def release(record: ClusterRecord) -> None:
    """Stop the cluster's local idle watcher and give its machines back."""
    from stix.clouds import registry

    _stop_watcher(record)
    registry.machines(record.provider).release(record.nodes)


def _stop_watcher(record: ClusterRecord) -> None:
    """Stop the local autostop watcher of this cluster, if one runs (checked by cmdline)."""
    pid = record.autostop_watcher_pid
    if pid is None:
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    homes = [n.local_home for n in record.nodes]
    if b"autostop" in cmdline and any(h and h.encode() in cmdline for h in homes):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
