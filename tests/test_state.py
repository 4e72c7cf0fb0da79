"""The state DB: records, job ids, history, and the per-cluster lock across processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stix import state
from stix.placement import Placement
from stix.remote.transport import NodeAddress


def _record(name: str = "c1") -> state.ClusterRecord:
    now = time.time()
    placement = Placement(cluster=name, cloud="local", region="local", instance_type="local",
                          vcpus=2, memory_gib=4, hourly_price=0.0)
    return state.ClusterRecord(name, "local", placement, state.ClusterStatus.INIT, now, now,
                               0.5, [NodeAddress(name="node-0", host="localhost")])


def test_cluster_roundtrip_and_jobs(stix_home: Path) -> None:
    conn = state.connect()
    state.put_cluster(conn, _record())
    got = state.require_cluster(conn, "c1")
    assert got.placement == _record().placement and got.nodes[0].host == "localhost"
    assert got.status is state.ClusterStatus.INIT
    assert [state.next_job_id(conn, "c1", "a"), state.next_job_id(conn, "c1", "b")] == ["1", "2"]
    state.update_job(conn, "c1", "1", "FAILED", {"node-0": 3})
    job = state.get_job(conn, "c1", "1")
    assert job is not None and job.exit_codes == {"node-0": 3} and job.ended_at is not None
    entry = state.record_start(conn, "c1", "up")
    state.record_end(conn, entry, "SUCCEEDED")
    assert [(h.operation, h.status) for h in state.history(conn, "c1")] == [("up", "SUCCEEDED")]
    state.delete_cluster(conn, "c1")
    assert state.get_cluster(conn, "c1") is None and state.list_jobs(conn, "c1") == []
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_missing_cluster_message(stix_home: Path) -> None:
    conn = state.connect()
    state.put_cluster(conn, _record("other"))
    with pytest.raises(state.NotFoundError) as err:
        state.require_cluster(conn, "nope")
    assert "no cluster named 'nope'" in str(err.value) and "other" in str(err.value)


def _hold_lock(home: str, cluster: str, ready: mp.Event, release: mp.Event) -> None:
    os.environ["STIX_HOME"] = home
    conn = state.connect()
    with state.cluster_lock(conn, cluster, "up"):
        ready.set()
        release.wait(60)


def _race(home: str, barrier: mp.Barrier, release: mp.Event, results: mp.Queue) -> None:
    os.environ["STIX_HOME"] = home
    conn = state.connect()
    barrier.wait()
    try:
        with state.cluster_lock(conn, "c1", "up"):
            results.put("won")
            release.wait(60)
    except state.ClusterBusyError as exc:
        results.put(f"refused: {exc.message}")


def test_two_processes_race_for_one_lock(stix_home: Path) -> None:
    ctx = mp.get_context("fork")
    barrier, release, results = ctx.Barrier(4), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(stix_home), barrier, release, results))
             for _ in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=60) for _ in procs]
    release.set()
    for p in procs:
        p.join(60)
    assert outcomes.count("won") == 1
    refused = [o for o in outcomes if o != "won"]
    assert len(refused) == 3
    assert all("cluster 'c1' is busy: `up` is running (pid" in o for o in refused)


def test_busy_cluster_refused_then_free(stix_home: Path) -> None:
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(stix_home), "c1", ready, release))
    holder.start()
    assert ready.wait(60)
    conn = state.connect()
    with pytest.raises(state.ClusterBusyError), state.cluster_lock(conn, "c1", "down"):
        pass
    with state.cluster_lock(conn, "c2", "down"):  # another cluster is not blocked
        pass
    release.set()
    holder.join(60)
    with state.cluster_lock(conn, "c1", "down"):
        assert state.lock_holder(conn, "c1")["pid"] == os.getpid()
    assert state.lock_holder(conn, "c1") is None


def test_killed_process_lock_is_recovered(stix_home: Path) -> None:
    code = ("import time; from stix import state; c = state.connect();\n"
            "with state.cluster_lock(c, 'c1', 'up'):\n"
            "    print('locked', flush=True); time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "STIX_HOME": str(stix_home)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    conn = state.connect()
    with pytest.raises(state.ClusterBusyError), state.cluster_lock(conn, "c1", "up"):
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert state.lock_holder(conn, "c1")["pid"] == proc.pid  # left behind by the crash
    with state.cluster_lock(conn, "c1", "down"):  # stale: taken over
        assert state.lock_holder(conn, "c1")["operation"] == "down"
