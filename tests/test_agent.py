"""The node agent, run for real: subprocesses of the agent file against a temp agent home.

Tests run the agent under the system's python3 (nodes have whatever python3 they have), the
core scenarios under the venv's interpreter too, and a smoke test under Python 3.8 when
one is present.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

AGENT = Path(__file__).resolve().parents[1] / "stix" / "remote" / "agent.py"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}


@dataclass
class Agent:
    """Runs `python agent.py ...` with its own STIX_AGENT_HOME, like a node would."""

    python: str
    home: Path

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, STIX_AGENT_HOME=str(self.home))

    def argv(self, *args: str) -> list[str]:
        return [self.python, str(AGENT), *args]

    def run(self, *args: str, stdin: bytes = b"",
            ok: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(self.argv(*args), input=stdin, capture_output=True, env=self.env,
                              timeout=60, check=False)
        if ok and proc.returncode != 0:
            raise AssertionError(f"agent {args} failed: {proc.stderr.decode()}")
        return proc

    def json(self, *args: str, stdin: bytes = b"") -> Any:
        return json.loads(self.run(*args, stdin=stdin).stdout)

    def error(self, *args: str, stdin: bytes = b"") -> str:
        """Run a command that must fail; return its JSON error message."""
        proc = self.run(*args, stdin=stdin, ok=False)
        assert proc.returncode != 0, proc.stdout
        return str(json.loads(proc.stderr)["error"])

    def submit(self, job_id: str, script: str, **env: str) -> dict[str, Any]:
        payload = json.dumps({"script": script, "env": env}).encode()
        return dict(self.json("submit", "--job-id", job_id, "--name", f"n-{job_id}",
                              "--stdin-json", stdin=payload))

    def status(self, job_id: str) -> dict[str, Any]:
        return dict(self.json("status", job_id)["jobs"][0])

    def record(self, job_id: str) -> dict[str, Any]:
        """The agent's own file, internals included (runner pid)."""
        return dict(json.loads((self.home / "jobs" / job_id / "status.json").read_text()))


SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


@pytest.fixture
def agent(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Agent]:
    """The agent under the system's python3 (what nodes have), or the interpreter asked for."""
    python = getattr(request, "param", None) or SYSTEM_PYTHON or sys.executable
    a = Agent(python, tmp_path / "agent home")
    yield a
    a.run("cancel", "--all", "--grace", "0.2", ok=False)  # leave no job processes behind


# The core scenarios also run under the venv's interpreter (the `local` provider's python).
BOTH_PYTHONS = pytest.mark.parametrize("agent", [
    pytest.param(SYSTEM_PYTHON, id="system-python3", marks=pytest.mark.skipif(
        SYSTEM_PYTHON is None, reason="no python3 in /usr/bin or /bin")),
    pytest.param(sys.executable, id="venv-python"),
], indirect=True)  # fmt: skip


def until(predicate: Any, what: str, limit: float = 30.0) -> Any:
    """Poll until `predicate()` is truthy: a wait with a generous cap, not a timing check."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (nobody may reap orphans in a container)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False


# ---- submit, status, logs --------------------------------------------------------------------


@BOTH_PYTHONS
def test_submit_status_and_logs_with_offsets(agent: Agent) -> None:
    reply = agent.submit("j1", "echo one\necho two >&2\necho three\n")
    assert reply["job_id"] == "j1" and reply["status"] == "RUNNING" and reply["pid"] > 0
    done = agent.json("wait", "j1")
    assert done["status"] == "SUCCEEDED" and done["exit_code"] == 0 and done["pid"] == reply["pid"]
    assert done["name"] == "n-j1" and done["reason"] is None
    assert done["submitted_at"] <= done["started_at"] <= done["ended_at"]
    assert done["ended_at"].endswith("+00:00")
    assert agent.run("logs", "j1").stdout == b"one\ntwo\nthree\n"
    assert agent.run("logs", "j1", "--offset", "4").stdout == b"two\nthree\n"
    assert agent.run("logs", "j1", "--offset", "999").stdout == b""
    assert agent.json("status") == {"jobs": [done]}


def test_status_lists_newest_last_and_names_unknown_ids(agent: Agent) -> None:
    for job_id in ("b", "a", "c"):
        agent.submit(job_id, "true")
    assert [j["job_id"] for j in agent.json("status")["jobs"]] == ["b", "a", "c"]
    assert [j["job_id"] for j in agent.json("status", "c", "b")["jobs"]] == ["b", "c"]
    assert "no job 'zzz'" in agent.error("status", "zzz")


@pytest.mark.parametrize(("script", "code", "reason"), [
    ("exit 7", 7, None),
    ("echo x; kill -KILL $$", 137, "SIGKILL"),
])  # fmt: skip
def test_exit_codes(agent: Agent, script: str, code: int, reason: str | None) -> None:
    agent.submit("j", script)
    done = agent.json("wait", "j")
    assert (done["status"], done["exit_code"]) == ("FAILED", code)
    assert (reason or "") in (done["reason"] or "")


def test_job_runs_in_cwd_with_env_and_unbuffered_python(agent: Agent, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    payload = {"script": 'pwd; echo "$GREETING"; echo "$PYTHONUNBUFFERED"',
               "env": {"GREETING": "hi there"}, "cwd": str(workdir)}
    agent.json("submit", "--job-id", "c", "--stdin-json", stdin=json.dumps(payload).encode())
    agent.json("wait", "c")
    assert agent.run("logs", "c").stdout.decode() == f"{workdir}\nhi there\n1\n"
    agent.submit("own", 'echo "$PYTHONUNBUFFERED"', PYTHONUNBUFFERED="")  # the job's value wins
    agent.json("wait", "own")
    assert agent.run("logs", "own").stdout == b"\n"


@BOTH_PYTHONS
def test_secrets_never_rest_on_disk_and_files_are_private(agent: Agent) -> None:
    check = 'test "$(printf %s "$TOKEN" | sha256sum)" = "$WANT" && echo ok'
    want = subprocess.run(["sha256sum"], input=b"hunter2-secret", capture_output=True,
                          check=True).stdout.decode().strip()
    agent.submit("sec", check, TOKEN="hunter2-secret", WANT=want)
    assert agent.json("wait", "sec")["status"] == "SUCCEEDED"
    assert agent.run("logs", "sec").stdout == b"ok\n"
    for path in agent.home.rglob("*"):
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), path
        if path.is_file():
            assert b"hunter2-secret" not in path.read_bytes(), path


def test_script_file_and_env_file_options(agent: Agent, tmp_path: Path) -> None:
    (tmp_path / "s.sh").write_text('echo "$A-$B"\n')
    (tmp_path / "e.json").write_text(json.dumps({"A": "x", "B": "y"}))
    agent.json("submit", "--job-id", "f", "--script-file", str(tmp_path / "s.sh"),
               "--env-file", str(tmp_path / "e.json"))
    agent.json("wait", "f")
    assert agent.run("logs", "f").stdout == b"x-y\n"
    # and the script on plain stdin
    agent.json("submit", "--job-id", "g", stdin=b"echo from-stdin\n")
    agent.json("wait", "g")
    assert agent.run("logs", "g").stdout == b"from-stdin\n"


WEIRD = "a 'single' \"double\" $(echo SUBST) `echo TICK` ${HOME} \\ ; | & * ? ~\nsecond line\t!"


@BOTH_PYTHONS
def test_metacharacters_run_exactly_as_written(agent: Agent, tmp_path: Path) -> None:
    workdir = tmp_path / "dir with 'quote' $(x) `y`"
    workdir.mkdir()
    script = ("printf '%s\\n' \"$WEIRD\"\n"
              "echo 'literal $(not run) `not run`'\n"
              "cat <<'EOF'\n$HOME `x` \"q\"\nEOF\n"
              "pwd\n")  # fmt: skip
    payload = {"script": script, "env": {"WEIRD": WEIRD, "SP ACE": "v"}, "cwd": str(workdir)}
    agent.json("submit", "--job-id", "m", "--name", WEIRD, "--stdin-json",
               stdin=json.dumps(payload).encode())
    done = agent.json("wait", "m")
    assert done["status"] == "SUCCEEDED" and done["name"] == WEIRD
    expected = f"{WEIRD}\nliteral $(not run) `not run`\n$HOME `x` \"q\"\n{workdir}\n"
    assert agent.run("logs", "m").stdout.decode() == expected


# ---- follow and re-attach ---------------------------------------------------------------------


def _read_until(proc: subprocess.Popen[bytes], lines: int) -> bytes:
    got = b""
    assert proc.stdout is not None
    while got.count(b"\n") < lines:
        chunk = os.read(proc.stdout.fileno(), 4096)
        assert chunk, f"follower ended early after {got!r}"
        got += chunk
    return got


@BOTH_PYTHONS
def test_follow_resumes_from_offset_without_loss_or_duplication(agent: Agent) -> None:
    script = "for i in $(seq 1 12); do echo line-$i; sleep 0.05; done\n"
    expected = "".join(f"line-{i}\n" for i in range(1, 13)).encode()
    agent.submit("slow", script)
    first = subprocess.Popen(agent.argv("logs", "slow", "--follow"), stdout=subprocess.PIPE,
                             env=agent.env)
    got = _read_until(first, 3)  # part of the output has streamed ...
    first.kill()  # ... then the connection drops
    first.wait()
    second = subprocess.run(agent.argv("logs", "slow", "--follow", "--offset", str(len(got))),
                            capture_output=True, env=agent.env, timeout=60, check=True)
    assert got + second.stdout == expected
    assert agent.status("slow")["status"] == "SUCCEEDED"  # --follow returned: the job ended


def test_follow_waits_for_output_and_exits_when_job_ends(agent: Agent, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    agent.submit("gated", f"echo before\nwhile [ ! -e '{gate}' ]; do sleep 0.02; done\necho after")
    follower = subprocess.Popen(agent.argv("logs", "gated", "--follow"), stdout=subprocess.PIPE,
                                env=agent.env)
    assert _read_until(follower, 1) == b"before\n"
    assert follower.poll() is None  # still following a running job
    gate.touch()
    rest, _ = follower.communicate(timeout=60)
    assert rest == b"after\n" and follower.returncode == 0


def test_job_end_is_bash_exit_even_when_a_daemon_keeps_the_log_open(agent: Agent) -> None:
    agent.submit("d", "sleep 300 &\necho $! > daemon.pid\necho main done\n")
    done = agent.json("wait", "d")
    assert done["status"] == "SUCCEEDED"
    follow = subprocess.run(agent.argv("logs", "d", "--follow"), capture_output=True,
                            env=agent.env, timeout=60, check=True)
    assert follow.stdout == b"main done\n"
    cwd = Path(agent.record("d")["cwd"])
    daemon = int((cwd / "daemon.pid").read_text())
    assert alive(daemon)  # it still holds the log open, and the job is over regardless
    os.kill(daemon, signal.SIGKILL)
    (cwd / "daemon.pid").unlink()


# ---- detachment, cancel, lost runners ----------------------------------------------------------


def test_submit_returns_at_once_and_keeps_no_pipe_of_the_caller(agent: Agent) -> None:
    # An SSH command ends when every holder of its stdout/stderr has closed them: the runner
    # must hold none, or `ssh node agent submit ...` would hang until the job ends.
    caller = subprocess.Popen(agent.argv("submit", "--job-id", "bg"), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=agent.env)
    out, err = caller.communicate(b"sleep 300\n", timeout=60)  # EOF on both pipes
    assert caller.returncode == 0, err
    assert json.loads(out)["status"] == "RUNNING" and agent.status("bg")["status"] == "RUNNING"


@BOTH_PYTHONS
def test_job_survives_its_submitter_being_killed(agent: Agent, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    (tmp_path / "s.sh").write_text(f"while [ ! -e '{gate}' ]; do sleep 0.02; done\necho survived")
    # An "SSH session": a shell that submits and lingers, killed as a whole process group.
    session = subprocess.Popen(
        ["bash", "-c", '"$@"; sleep 300', "session", *agent.argv(
            "submit", "--job-id", "s", "--script-file", str(tmp_path / "s.sh"))],
        stdout=subprocess.PIPE, env=agent.env, start_new_session=True)
    assert session.stdout is not None
    pid = json.loads(session.stdout.readline())["pid"]
    os.killpg(session.pid, signal.SIGHUP)
    os.killpg(session.pid, signal.SIGKILL)
    session.wait()
    assert alive(pid) and agent.status("s")["status"] == "RUNNING"
    gate.touch()
    assert agent.json("wait", "s")["status"] == "SUCCEEDED"
    assert agent.run("logs", "s").stdout == b"survived\n"


def _tree_script(pids: Path, ignore_term: bool) -> str:
    trap = "trap '' TERM\n" if ignore_term else ""
    return (f"{trap}sleep 300 & echo $! >> '{pids}'\n"
            f"bash -c 'sleep 300 & echo $! >> \"$1\"; wait' _ '{pids}' & echo $! >> '{pids}'\n"
            "wait\n")  # fmt: skip


@BOTH_PYTHONS
@pytest.mark.parametrize("ignore_term", [False, True], ids=["sigterm", "needs-sigkill"])
def test_cancel_kills_the_whole_process_tree(agent: Agent, tmp_path: Path,
                                             ignore_term: bool) -> None:
    pids_file = tmp_path / "pids"
    bash_pid = agent.submit("tree", _tree_script(pids_file, ignore_term))["pid"]
    until(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 3, "3 children")
    pids = [bash_pid, *map(int, pids_file.read_text().split())]
    assert all(alive(p) for p in pids)
    reply = agent.json("cancel", "tree", "--grace", "0.3")
    assert reply == {"cancelled": ["tree"], "already_done": []}
    assert [p for p in pids if alive(p)] == []
    final = agent.status("tree")
    assert final["status"] == "CANCELLED" and final["ended_at"] is not None


def test_cancel_all_and_finished_jobs(agent: Agent) -> None:
    agent.submit("quick", "true")
    agent.json("wait", "quick")
    agent.submit("long1", "sleep 300")
    agent.submit("long2", "sleep 300")
    assert agent.json("cancel", "quick") == {"cancelled": [], "already_done": ["quick"]}
    reply = agent.json("cancel", "--all", "--grace", "1")
    assert sorted(reply["cancelled"]) == ["long1", "long2"]
    assert {j["job_id"]: j["status"] for j in agent.json("status")["jobs"]} == {
        "quick": "SUCCEEDED", "long1": "CANCELLED", "long2": "CANCELLED"}
    assert "no job 'nope'" in agent.error("cancel", "long1", "nope")
    assert "not both" in agent.error("cancel")


@BOTH_PYTHONS
def test_killed_runner_is_reported_failed_with_a_reason(agent: Agent) -> None:
    job_pid = agent.submit("orphan", "sleep 300")["pid"]
    runner = agent.record("orphan")["runner_pid"]
    os.kill(runner, signal.SIGKILL)
    until(lambda: not alive(runner), "the runner to die")
    status = agent.status("orphan")
    assert status["status"] == "FAILED" and status["exit_code"] is None
    assert "runner" in status["reason"] and status["ended_at"] is not None
    assert agent.json("wait", "orphan")["status"] == "FAILED"
    os.killpg(job_pid, signal.SIGKILL)  # the orphaned job itself is ours to clean up


def test_an_unreadable_status_record_reads_as_failed(agent: Agent) -> None:
    agent.submit("ok", "true")
    agent.submit("torn", "true")
    agent.json("wait", "torn")
    (agent.home / "jobs" / "torn" / "status.json").write_bytes(b"")  # as after a crash
    jobs = {j["job_id"]: j for j in agent.json("status")["jobs"]}
    assert jobs["torn"]["status"] == "FAILED" and "unreadable" in jobs["torn"]["reason"]
    assert jobs["ok"]["status"] == "SUCCEEDED"


def test_wait_timeout_is_an_error_naming_the_job(agent: Agent) -> None:
    agent.submit("w", "sleep 300")
    assert "job 'w' still RUNNING" in agent.error("wait", "w", "--timeout", "0.2")


# ---- concurrency -------------------------------------------------------------------------------


def test_concurrent_submits_of_different_ids(agent: Agent) -> None:
    procs = [subprocess.Popen(agent.argv("submit", "--job-id", f"p{i}"), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=agent.env)
             for i in range(8)]  # fmt: skip
    outs = [p.communicate(f"echo job {i}\n".encode(), timeout=60) for i, p in enumerate(procs)]
    assert [p.returncode for p in procs] == [0] * 8, [e for _, e in outs]
    until(lambda: all(j["status"] == "SUCCEEDED" for j in agent.json("status")["jobs"]),
          "all 8 jobs to succeed")
    assert len(agent.json("status")["jobs"]) == 8
    for i in (0, 7):
        assert agent.run("logs", f"p{i}").stdout == f"job {i}\n".encode()


def test_duplicate_id_is_refused_even_when_racing(agent: Agent) -> None:
    procs = [subprocess.Popen(agent.argv("submit", "--job-id", "same"), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=agent.env)
             for _ in range(5)]  # fmt: skip
    outs = [p.communicate(f"echo {i}\n".encode(), timeout=60) for i, p in enumerate(procs)]
    winners = [i for i, p in enumerate(procs) if p.returncode == 0]
    assert len(winners) == 1
    for i, (_, err) in enumerate(outs):
        if i not in winners:
            assert json.loads(err)["error"] == "job 'same' already exists"
    agent.json("wait", "same")
    assert agent.run("logs", "same").stdout == f"{winners[0]}\n".encode()
    assert "already exists" in agent.error("submit", "--job-id", "same", stdin=b"true")


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["submit", "--job-id", "../x"], b"true", "bad job id '../x'"),
    (["submit", "--job-id", "x", "--cwd", "/no/such/dir"], b"true", "--cwd /no/such/dir"),
    (["submit", "--job-id", "x", "--stdin-json"], b"{not json", "stdin is not JSON"),
    (["submit", "--job-id", "x", "--stdin-json"], b'{"script": "true", "env": {"A": 1}}',
     "env 'A'"),
    (["submit", "--job-id", "x", "--env-file", "/no/such.json"], b"true", "--env-file"),
    (["submit", "--job-id", "x", "--env-file", "/dev/null"], b"true", "--env-file /dev/null"),
    (["submit", "--job-id", "x", "--stdin-json"], b'{"script": "", "env": []}', "JSON object"),
    (["submit"], b"true", "usage: submit --job-id"),
    (["logs", "x", "--offset", "-1"], b"", "--offset must be >= 0"),
    (["logs", "nope"], b"", "no job 'nope'"),
    (["wait", "nope"], b"", "no job 'nope'"),
    (["autostop", "--idle-minutes", "-1"], b"", "--idle-minutes must be >= 0"),
    (["frobnicate"], b"", "unknown command 'frobnicate'"),
    ([], b"", "unknown command ''"),
    (["logs"], b"", "usage: logs JOB_ID"),
    (["logs", "a", "b"], b"", "usage: logs JOB_ID"),
    (["idle", "extra"], b"", "usage: idle"),
    (["logs", "x", "--offset", "ten"], b"", "--offset: 'ten' is not a int"),
    (["logs", "x", "--bogus"], b"", "unknown option --bogus"),
    (["wait", "x", "--timeout"], b"", "--timeout: '' is not a float"),
])  # fmt: skip
def test_bad_input_is_one_json_error(agent: Agent, args: list[str], stdin: bytes,
                                     message: str) -> None:
    assert message in agent.error(*args, stdin=stdin)
    assert not (agent.home / "jobs" / "x").exists()  # nothing half-made


# ---- idle and autostop ------------------------------------------------------------------------


def test_help_prints_the_contract(agent: Agent) -> None:
    out = agent.run("--help").stdout.decode()
    assert "submit --job-id ID" in out and "autostop --idle-minutes M" in out


def test_options_accept_the_equals_form(agent: Agent) -> None:
    agent.submit("eq", "echo 12345")
    agent.json("wait", "eq", "--timeout=30")
    assert agent.run("logs", "eq", "--offset=3").stdout == b"45\n"


def test_idle_counts_running_jobs(agent: Agent, tmp_path: Path) -> None:
    fresh = agent.json("idle")
    assert fresh["running"] == 0 and fresh["idle_seconds"] >= 0
    gate = tmp_path / "gate"
    agent.submit("busy", f"while [ ! -e '{gate}' ]; do sleep 0.02; done")
    assert agent.json("idle") == {"running": 1, "idle_seconds": 0}
    gate.touch()
    agent.json("wait", "busy")
    assert agent.json("idle")["running"] == 0


def test_autostop_runs_the_action_once_idle(agent: Agent, tmp_path: Path) -> None:
    marker = tmp_path / "stopped here"
    gate = tmp_path / "gate"
    action = f"touch '{marker}'"
    agent.submit("busy", f"while [ ! -e '{gate}' ]; do sleep 0.02; done")
    first = agent.json("autostop", "--idle-minutes", "0.005", "--action", action,
                       "--wait-for", "jobs")
    assert first["enabled"] and first["running"] == 1 and not first["triggered"]
    assert agent.json("autostop")["triggered"] is False and not marker.exists()  # job runs
    gate.touch()
    agent.json("wait", "busy")
    fired = until(lambda: agent.json("autostop")["triggered"], "autostop to trigger")
    assert fired and marker.exists()
    shown = agent.json("autostop", "--show")
    assert shown["enabled"] and shown["action"] == action and shown["last_exit_code"] == 0
    assert shown["idle_minutes"] == 0.005
    assert agent.json("autostop", "--disable") == {"enabled": False}
    assert agent.json("autostop") == {"enabled": False, "triggered": False}
    assert agent.json("autostop", "--show")["enabled"] is False


def test_autostop_default_action_and_unchanged_setting_keeps_the_clock(agent: Agent) -> None:
    agent.json("autostop", "--idle-minutes", "60")
    set_at = agent.json("autostop", "--show")["set_at"]
    assert agent.json("autostop", "--idle-minutes", "60")["set_at"] == set_at
    shown = agent.json("autostop", "--show")
    assert shown["action"] == "sudo shutdown -h now" and not shown.get("last_triggered_at")
    assert agent.json("autostop", "--idle-minutes", "30")["set_at"] >= set_at


def test_autostop_watch_loops_and_allows_one_watcher(agent: Agent, tmp_path: Path) -> None:
    marker = tmp_path / "watched"
    agent.json("autostop", "--idle-minutes", "0", "--action", f"touch '{marker}'",
               "--wait-for", "jobs")
    marker.unlink(missing_ok=True)  # the call above checked once already and may have fired
    started = agent.json("autostop", "--watch", "--interval", "0.05", "--detach")
    assert started["watching"] and started["started"]
    try:
        until(marker.exists, "the watcher to run the action")
        assert "another autostop watcher" in agent.error("autostop", "--watch")
        again = agent.json("autostop", "--watch", "--detach")
        assert again == {"watching": True, "started": False, "pid": started["pid"]}
    finally:
        os.kill(started["pid"], signal.SIGKILL)
    until(lambda: not alive(started["pid"]), "the watcher to stop")
    restarted = agent.json("autostop", "--watch", "--detach", "--interval", "60")
    os.kill(restarted["pid"], signal.SIGKILL)
    assert restarted["started"] and restarted["pid"] != started["pid"]


def test_wait_for_none_acts_on_time_alone(agent: Agent, tmp_path: Path) -> None:
    marker, gate = tmp_path / "stopped", tmp_path / "gate"
    agent.submit("busy", f"while [ ! -e '{gate}' ]; do sleep 0.02; done")
    try:
        jobs = agent.json("autostop", "--idle-minutes", "0.002", "--action", f"touch '{marker}'",
                          "--wait-for", "jobs")
        assert jobs["seconds_left"] is None and not jobs["triggered"]  # the job keeps it busy
        agent.json("autostop", "--idle-minutes", "0.002", "--action", f"touch '{marker}'",
                   "--wait-for", "none")
        until(lambda: agent.json("autostop")["triggered"], "autostop to act despite the job")
        assert marker.exists()
    finally:
        gate.touch()
        agent.json("wait", "busy")


def test_hook_runs_first_in_the_workdir_and_a_timeout_does_not_block(
        agent: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "user"
    workdir = home / "stix_workdir" / agent.home.name
    workdir.mkdir(parents=True)
    log, marker = tmp_path / "order", tmp_path / "stopped"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/bash\npwd >> '{log}'\necho hook >> '{log}'\n")
    monkeypatch.setenv("HOME", str(home))
    action = f"echo action >> '{log}'; touch '{marker}'"
    agent.json("autostop", "--idle-minutes", "0", "--action", action, "--wait-for", "jobs",
               "--hook-file", str(hook), "--hook-timeout", "30")
    until(marker.exists, "the action")
    assert log.read_text().splitlines() == [str(workdir), "hook", "action"]
    # a hook that outlives its timeout is killed, and the action still runs
    slow = tmp_path / "slow.sh"
    slow.write_text("#!/bin/bash\nsleep 60\n")
    marker.unlink()
    agent.json("autostop", "--idle-minutes", "0", "--action", f"touch '{marker}'",
               "--wait-for", "jobs", "--hook-file", str(slow), "--hook-timeout", "0.5")
    until(marker.exists, "the action after the hook timed out")
    text = (agent.home / "autostop.log").read_text()
    assert "hook killed after 0.5 s; acting anyway" in text
    assert "--wait-for must be one of" in agent.error("autostop", "--idle-minutes", "1",
                                                      "--wait-for", "sometimes")


# ---- other interpreters -------------------------------------------------------------------------


def _python38() -> str | None:
    found = shutil.which("python3.8")
    candidates = [found] if found else []
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    for candidate in candidates:
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 8)":
            return candidate
    return None


def test_runs_under_python_3_8(tmp_path: Path) -> None:
    python = _python38()
    if python is None:
        pytest.skip("no Python 3.8 interpreter here (nodes may have one; checked when present)")
    agent = Agent(python, tmp_path / "home")
    assert agent.json("version")["python"].startswith("3.8")
    agent.submit("old", "echo old python")
    assert agent.json("wait", "old")["status"] == "SUCCEEDED"
    assert agent.run("logs", "old", "--follow").stdout == b"old python\n"
    agent.submit("x", "sleep 300")
    assert agent.json("cancel", "x", "--grace", "0.2")["cancelled"] == ["x"]
    assert agent.json("idle")["running"] == 0
