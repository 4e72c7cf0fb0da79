"""State survives faults, and logs tell the truth: a `stix up` killed with SIGKILL during
setup, a client that died before its job started, a node that is gone, Ctrl-C while
following. Real sshd nodes (network namespaces as root), real `stix` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stix import state

SETUP = ('echo start-$SETUP_SLEEP >> ~/setup.log; sleep $SETUP_SLEEP; '
         'echo done-$SETUP_SLEEP >> ~/setup.log')


def stix(*args: str, home: Path, cwd: Path, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "stix", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "STIX_HOME": str(home)}, **kw)


def run(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = stix(*args, home=home, cwd=cwd)
    out, err = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def until(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def _sleeping(user: str, seconds: str) -> bool:
    out = subprocess.run(["pgrep", "-u", user, "-f", f"sleep {seconds}"], capture_output=True)
    return out.returncode == 0


def _pool(home: Path, nodes: list[Any], key: Path) -> None:
    pools = {"lab": {"identity_file": str(key), "hosts": [
        {"address": n.host.address, "port": n.port, "user": n.host.user} for n in nodes]}}
    (home / "ssh_node_pools.yaml").write_text(yaml.safe_dump(pools))


@pytest.mark.sshd
def test_a_killed_up_leaves_setup_that_the_next_up_stops(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, stix_home: Path,
        tmp_path: Path) -> None:
    [node] = sshd_nodes(1)
    _pool(stix_home, [node], sshd_hosts.key)
    task = tmp_path / "t.yaml"
    task.write_text(f"name: crash\nresources: {{infra: ssh/lab}}\nsetup: '{SETUP}'\n"
                    "run: echo ran\n")
    log = node.host.home / "setup.log"
    first = stix("up", str(task), "--env", "SETUP_SLEEP=300", home=stix_home, cwd=tmp_path)
    until(lambda: log.exists() and "start-300" in log.read_text())
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert _sleeping(node.host.user, "300")  # the orphan setup runs on without its client

    again = run("up", str(task), "--env", "SETUP_SLEEP=0", home=stix_home, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "stopped 1 setup run(s) left by an earlier `stix up`" in again.stderr
    assert not _sleeping(node.host.user, "300")
    assert log.read_text().splitlines() == ["start-300", "start-0", "done-0"]
    assert "ran" in again.stdout
    assert run("down", "crash", "--yes", home=stix_home, cwd=tmp_path).returncode == 0


@pytest.mark.sshd
def test_down_stops_a_setup_whose_up_was_killed(sshd_nodes: Callable[[int], list[Any]],
                                                sshd_hosts: Any, stix_home: Path,
                                                tmp_path: Path) -> None:
    [node] = sshd_nodes(1)
    _pool(stix_home, [node], sshd_hosts.key)
    task = tmp_path / "t.yaml"
    task.write_text(f"name: crash2\nresources: {{infra: ssh/lab}}\nsetup: '{SETUP}'\n"
                    "run: echo ran\n")
    log = node.host.home / "setup.log"
    first = stix("up", str(task), "--env", "SETUP_SLEEP=301", home=stix_home, cwd=tmp_path)
    until(lambda: log.exists() and "start-301" in log.read_text())
    first.send_signal(signal.SIGKILL)
    first.wait()
    down = run("down", "crash2", "--yes", home=stix_home, cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert not _sleeping(node.host.user, "301")
    assert state.get_cluster(state.connect(), "crash2") is None


@pytest.mark.sshd
def test_logs_show_the_reachable_nodes_and_name_the_lost_one(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, stix_home: Path,
        tmp_path: Path) -> None:
    nodes = sshd_nodes(2)
    _pool(stix_home, nodes, sshd_hosts.key)
    task = tmp_path / "t.yaml"
    task.write_text("name: halves\nnum_nodes: 2\nresources: {infra: ssh/lab}\n"
                    "run: echo out-$STIX_NODE_RANK\n")
    up = run("up", str(task), home=stix_home, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    nodes[1].kill()
    logs = run("logs", "halves", "1", home=stix_home, cwd=tmp_path)
    assert f"(node-0, {nodes[0].host.address}) out-0" in logs.stdout
    assert "out-1" not in logs.stdout
    assert f"(node-1, {nodes[1].host.address})" in logs.stderr and logs.returncode != 0
    nodes[1].start()
    run("down", "halves", "--yes", home=stix_home, cwd=tmp_path)


def _local(tmp_path: Path, home: Path, text: str, code: int = 0) -> Path:
    task = tmp_path / "l.yaml"
    task.write_text(text)
    up = run("up", str(task), home=home, cwd=tmp_path)
    assert up.returncode == code, up.stderr
    return task


def test_logs_of_failed_cancelled_and_unknown_jobs(stix_home: Path, tmp_path: Path) -> None:
    _local(tmp_path, stix_home, "name: lg\nresources: {infra: local}\nrun: echo hi; exit 3\n",
           code=3)
    failed = run("logs", "lg", "1", home=stix_home, cwd=tmp_path)
    assert failed.stdout == "hi\n" and failed.returncode == 3
    assert "job 1 failed" in failed.stderr and "exit code 3" in failed.stderr
    detached = run("exec", "lg", "-d", "--", "sleep 100", home=stix_home, cwd=tmp_path)
    assert detached.returncode == 0
    running = run("logs", "lg", "2", home=stix_home, cwd=tmp_path)
    assert running.returncode == 0 and "still running" in running.stderr
    assert run("cancel", "lg", "2", home=stix_home, cwd=tmp_path).returncode == 0
    cancelled = run("logs", "lg", "2", home=stix_home, cwd=tmp_path)
    assert cancelled.returncode != 0 and "cancelled" in cancelled.stderr
    unknown = run("logs", "lg", "999", home=stix_home, cwd=tmp_path)
    assert unknown.returncode == 3 and "has no job '999'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    run("down", "lg", "--yes", home=stix_home, cwd=tmp_path)


def test_ctrl_c_while_following_says_the_job_still_runs(stix_home: Path,
                                                        tmp_path: Path) -> None:
    _local(tmp_path, stix_home, "name: cc\nresources: {infra: local}\nrun: echo\n")
    # A runner started in the background (`cmd &`, nohup) inherits SIGINT ignored; a
    # terminal's Ctrl-C reaches a foreground stix whose SIGINT is the default.
    follow = stix("exec", "cc", "--", "echo begun; sleep 60", home=stix_home, cwd=tmp_path,
                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert follow.stdout is not None
    assert follow.stdout.readline() == "begun\n"
    follow.send_signal(signal.SIGINT)
    try:
        _, err = follow.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # say what it was doing instead
        follow.kill()
        _, err = follow.communicate()
        pytest.fail(f"one Ctrl-C did not end `stix exec` within 60 s; its stderr:\n{err}")
    assert follow.returncode == 130
    assert "still running on cluster cc" in err and "stix logs cc 2 -f" in err
    queue = json.loads(run("queue", "cc", "--json", home=stix_home, cwd=tmp_path).stdout)
    assert queue[-1]["status"] == "RUNNING"
    run("down", "cc", "--yes", home=stix_home, cwd=tmp_path)


def test_a_pending_job_of_a_dead_client_becomes_failed(stix_home: Path,
                                                       tmp_path: Path) -> None:
    _local(tmp_path, stix_home, "name: pj\nresources: {infra: local}\nrun: echo\n")
    # A client that reserved a job id and died (SIGKILL) before submitting it.
    code = ("from stix import state; import os, signal\n"
            "c = state.connect(); op = state.record_start(c, 'pj', 'exec')\n"
            "state.next_job_id(c, 'pj', 'lost', op); os.kill(os.getpid(), signal.SIGKILL)\n")
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "STIX_HOME": str(stix_home)},
                   timeout=60)
    conn = state.connect()
    assert state.get_job(conn, "pj", "2").status == "PENDING"  # type: ignore[union-attr]
    queue = json.loads(run("queue", "pj", "--json", home=stix_home, cwd=tmp_path).stdout)
    assert (queue[-1]["job_id"], queue[-1]["status"]) == ("2", "FAILED")
    assert "never started" in queue[-1]["reason"] and "ended before it finished" in (
        queue[-1]["reason"])
    run("down", "pj", "--yes", home=stix_home, cwd=tmp_path)
