"""The agent's client side: command lines run for real through `sh -c` against the real
agent (as SSH would run them), and its replies parsed into dataclasses."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from stix.errors import StixError, UsageError
from stix.remote import agent as agent_module
from stix.remote import agent_client as ac

WEIRD = "it's \"quoted\" $(echo SUBST) `echo TICK` ${HOME} \\ ; | & * ~\nline two"


class Node:
    """A 'node' reached through a POSIX shell, with the agent at a path that needs quoting."""

    def __init__(self, root: Path) -> None:
        self.agent_dir = root / "agent dir 'x'"
        self.agent_dir.mkdir()
        self.agent = self.agent_dir / "agent.py"
        self.agent.write_text(ac.agent_source())
        self.home = str(root / "home $(x)")

    def run(self, command: ac.AgentCommand, ok: bool = True) -> subprocess.CompletedProcess[bytes]:
        line = command.shell(python=sys.executable, agent=str(self.agent), home=self.home)
        proc = subprocess.run(["sh", "-c", line], input=command.stdin, capture_output=True,
                              timeout=60, check=False)
        if ok:
            ac.check(proc.returncode, proc.stderr, "test-node")
        return proc


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    n = Node(tmp_path)
    yield n
    n.run(ac.cancel(all_jobs=True, grace=0.2), ok=False)


def test_submit_through_a_shell_runs_script_and_env_exactly(node: Node, tmp_path: Path) -> None:
    workdir = tmp_path / "work dir $(x) 'q'"
    workdir.mkdir()
    script = 'printf "%s\\n" "$WEIRD"\necho \'$(literal)\'\npwd\n'
    reply = ac.parse_submit(node.run(ac.submit("job-1", WEIRD, script, env={"WEIRD": WEIRD},
                                               cwd=str(workdir))).stdout)
    assert reply.job_id == "job-1" and reply.status == "RUNNING" and reply.pid
    done = ac.parse_wait(node.run(ac.wait("job-1", timeout=60)).stdout)
    assert done.done and done.status == "SUCCEEDED" and done.exit_code == 0
    assert done.name == WEIRD and done.ended_at is not None
    assert done.ended_at.utcoffset() == timedelta(0)  # UTC
    out = node.run(ac.logs("job-1")).stdout.decode()
    assert out == f"{WEIRD}\n$(literal)\n{workdir}\n"
    tail = node.run(ac.logs("job-1", offset=len(out.encode()) - 4, follow=True)).stdout
    assert tail == out.encode()[-4:]
    [listed] = ac.parse_status(node.run(ac.status()).stdout)
    assert listed == done
    assert ac.parse_status(node.run(ac.status(["job-1"])).stdout) == [done]


def test_secrets_travel_on_stdin_not_argv() -> None:
    command = ac.submit("j", "name", "echo hi", env={"TOKEN": "s3cret"})
    assert "s3cret" not in command.shell() and "echo hi" not in command.shell()
    assert json.loads(command.stdin) == {"script": "echo hi", "env": {"TOKEN": "s3cret"}}


def test_shell_quoting_keeps_tilde_paths_expandable() -> None:
    line = ac.status(["a"]).shell()
    assert line == f"python3 {ac.AGENT_FILE} status a"  # node commands run in the home
    line = ac.idle().shell(python="/opt/my python/bin/python3", agent="~/odd dir/agent.py",
                           home="~/h $x")
    assert line == ("STIX_AGENT_HOME=~/'h $x' '/opt/my python/bin/python3' "
                    "~/'odd dir/agent.py' idle")
    assert shlex.split(line)[-1] == "idle"


def test_cancel_idle_and_autostop_round_trip(node: Node, tmp_path: Path) -> None:
    node.run(ac.submit("long", "n", "sleep 300"))
    assert ac.parse_idle(node.run(ac.idle()).stdout) == ac.IdleReply(running=1, idle_seconds=0.0)
    reply = ac.parse_cancel(node.run(ac.cancel(["long"], grace=0.5)).stdout)
    assert reply == ac.CancelReply(cancelled=["long"], already_done=[])
    again = ac.parse_cancel(node.run(ac.cancel(["long"])).stdout)
    assert again.already_done == ["long"]
    [job] = ac.parse_status(node.run(ac.status(["long"])).stdout)
    assert job.status == "CANCELLED" and job.done
    marker = tmp_path / "auto stopped"
    action = f"touch {shlex.quote(str(marker))}"
    first = ac.parse_autostop(node.run(ac.autostop_set(0, action=action)).stdout)
    assert first.enabled and first.idle_minutes == 0 and first.action == action
    assert first.triggered and marker.exists() and first.last_exit_code == 0
    shown = ac.parse_autostop(node.run(ac.autostop_show()).stdout)
    assert shown.enabled and shown.action == action
    checked = ac.parse_autostop(node.run(ac.autostop_check()).stdout)
    assert checked.enabled
    assert ac.parse_autostop(node.run(ac.autostop_disable()).stdout).enabled is False
    watch = ac.parse_watch(node.run(ac.autostop_watch(interval=30)).stdout)
    try:
        assert watch.started and watch.pid > 0
        assert ac.parse_watch(node.run(ac.autostop_watch()).stdout) == ac.WatchReply(
            started=False, pid=watch.pid)
    finally:
        os.kill(watch.pid, signal.SIGKILL)
    assert ac.parse_version(node.run(ac.version()).stdout) == ac.AGENT_VERSION


def test_agent_failures_become_stix_errors_naming_the_node(node: Node) -> None:
    proc = node.run(ac.logs("missing"), ok=False)
    with pytest.raises(ac.AgentReplyError, match=r"^test-node: no job 'missing'$"):
        ac.check(proc.returncode, proc.stderr, "test-node")
    assert issubclass(ac.AgentReplyError, StixError)
    assert ac.failure_message(b"sh: 1: python3: not found\n") == "sh: 1: python3: not found"
    assert ac.failure_message("") == "agent failed with no message"


def test_local_argv_runs_the_shipped_agent(tmp_path: Path) -> None:
    env = dict(os.environ, STIX_AGENT_HOME=str(tmp_path / "h"))
    proc = subprocess.run(ac.version().argv(), capture_output=True, env=env, check=True)
    assert ac.parse_version(proc.stdout) == agent_module.VERSION == ac.AGENT_VERSION


@pytest.mark.parametrize(("build", "message"), [
    (lambda: ac.status(["../etc"]), "job id '../etc'"),
    (lambda: ac.submit("-x", "n", "true"), "job id '-x'"),
    (lambda: ac.logs("a", offset=-1), "log offset must be >= 0"),
    (lambda: ac.cancel(), "not both or neither"),
    (lambda: ac.cancel(["a"], all_jobs=True), "not both or neither"),
])  # fmt: skip
def test_bad_arguments_are_usage_errors(build: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "reply is not JSON"),
    ("[1]", "expected a JSON object"),
    ('{"jobs": 3}', "field 'jobs' is 3"),
    ('{"jobs": [{"job_id": "a"}]}', "field 'name' is None"),
    ('{"jobs": [{"job_id": "a", "name": "", "status": "RUNNING", "submitted_at": "soon"}]}',
     "submitted_at 'soon' is not an ISO-8601 time"),
    ('{"jobs": [{"job_id": "a", "name": "", "status": "X", "exit_code": true}]}',
     "field 'exit_code' is True"),
])  # fmt: skip
def test_unreadable_replies_are_readable_errors(text: str, message: str) -> None:
    with pytest.raises(ac.AgentReplyError, match=message):
        ac.parse_status(text)


def test_parsers_accept_bytes_and_ignore_unknown_fields() -> None:
    status = {"job_id": "a", "name": "n", "status": "FAILED", "submitted_at": None,
              "started_at": None, "ended_at": "2024-01-02T03:04:05.678+00:00",
              "exit_code": None, "pid": None, "reason": "runner gone", "extra": 1}
    [job] = ac.parse_status(json.dumps({"jobs": [status]}).encode())
    assert job.reason == "runner gone" and job.ended_at is not None
    assert job.ended_at.year == 2024 and job.done
    reply = ac.parse_submit(b'{"job_id": "a", "status": "RUNNING", "pid": 5}')
    assert reply == ac.SubmitReply("a", "RUNNING", 5)
