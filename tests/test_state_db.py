"""The state DB is never silently replaced: missing, empty, truncated and corrupt files on
disk are refused with the file named and a copy kept; `stix state rebuild` recovers what
lives outside it. Real SQLite files, damaged the way disks and crashes damage them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stix import state
from stix.placement import Placement
from stix.remote.transport import NodeAddress


def _record(name: str) -> state.ClusterRecord:
    p = Placement(cluster=name, cloud="aws", region="us-east-1", instance_type="m6i.large",
                  vcpus=2, memory_gib=8, hourly_price=0.1)
    now = time.time()
    return state.ClusterRecord(name, "aws", p, state.ClusterStatus.UP, now, now, 0.1,
                               [NodeAddress("n0", "203.0.113.5")], engine="pulumi")


def _fresh_process_check(home: Path) -> subprocess.CompletedProcess[str]:
    """`stix status` in a new process (no per-process check cache), as a user runs it."""
    return subprocess.run([sys.executable, "-m", "stix", "status"], capture_output=True,
                          text=True, env={**os.environ, "STIX_HOME": str(home)}, timeout=60)


def _filled(stix_home: Path) -> Path:
    conn = state.connect()
    for i in range(200):
        state.put_cluster(conn, _record(f"c{i}"))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return state.db_path()


def test_an_empty_file_is_refused_named_and_kept(stix_home: Path) -> None:
    _filled(stix_home).write_bytes(b"")
    done = _fresh_process_check(stix_home)
    assert done.returncode == 5 and "Traceback" not in done.stderr
    assert f"{stix_home / 'state.db'} is empty (0 bytes)" in done.stderr
    assert "stix state rebuild" in done.stderr
    assert list(stix_home.glob("state.db.broken-*"))


def test_garbage_is_refused(stix_home: Path) -> None:
    _filled(stix_home).write_bytes(os.urandom(8192))
    done = _fresh_process_check(stix_home)
    assert done.returncode == 5 and "not a readable SQLite database" in done.stderr


def test_a_truncated_file_is_refused(stix_home: Path) -> None:
    path = _filled(stix_home)
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size // 2)
    done = _fresh_process_check(stix_home)
    assert done.returncode == 5, done.stderr
    assert "state.db is" in done.stderr and "lost" in done.stderr


def test_a_missing_file_after_it_existed_is_refused(stix_home: Path) -> None:
    _filled(stix_home).unlink()
    done = _fresh_process_check(stix_home)
    assert done.returncode == 5 and "is missing" in done.stderr


def test_first_use_creates_it_quietly(stix_home: Path) -> None:
    done = _fresh_process_check(stix_home)
    assert done.returncode == 0 and (stix_home / "state.db").exists()


def test_modes_are_tightened(stix_home: Path) -> None:
    os.chmod(stix_home, 0o755)
    conn = state.connect()
    conn.close()
    os.chmod(state.db_path(), 0o644)
    state.connect().close()
    assert stat.S_IMODE(stix_home.stat().st_mode) == 0o700
    assert stat.S_IMODE(state.db_path().stat().st_mode) == 0o600


def test_rebuild_recovers_stack_clusters_and_local_ones(stix_home: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pulumi_aws", reason="needs the pulumi extra")
    from engine_support import ScriptedEngine

    from stix import api
    from stix.cluster import recover, stacks
    from stix.stack.plan import plan_task_file
    from stix.stack.project import init_project

    project, _ = init_project(tmp_path / "proj")
    monkeypatch.chdir(project.root)
    task = project.root / "t.yaml"
    task.write_text("name: web\nresources: {infra: aws/us-east-1, cpus: 2+}\nrun: echo\n")
    plan_task_file(task)
    outputs = {"nodes": [{"name": "web-0", "public_ip": "203.0.113.9",
                          "private_ip": "10.0.0.9"}], "ssh_user": "stix"}
    monkeypatch.setattr(stacks, "engine_for", lambda name: ScriptedEngine(outputs=outputs))
    local = tmp_path / "local.yaml"
    local.write_text("name: here\nresources: {infra: local}\nrun: echo hi\n")
    assert api.up(local).exit_code == 0
    state.db_path().write_bytes(b"")  # the disk lost it
    with pytest.raises(state.StateError):
        state.connect()
    result = recover.rebuild()
    assert sorted(result.clusters) == ["here", "web"] and result.kept is not None
    web = state.require_cluster(state.connect(), "web")
    assert web.status is state.ClusterStatus.PROVISIONED and web.nodes[0].host == "203.0.113.9"
    assert api.down("here") is True
