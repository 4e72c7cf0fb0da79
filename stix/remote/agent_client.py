"""The stix side of the node agent: build its command lines and read its JSON replies.
The one place the agent protocol is spelled (production and tests use these).

Pure functions and dataclasses, no I/O: the fan-out (`stix.remote.fanout`) sends what these
build over a node transport and hands the agent's stdout/stderr back to the parsers. Every
value that reaches a shell goes through `shlex.quote`; scripts and env values travel on
stdin as JSON (`submit --stdin-json`), never in argv, so secrets do not show in `ps` and
need no quoting.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from stix.errors import StixError, UsageError

# Where the agent and each cluster's state and files live, relative to the node user's
# home (node commands run there); cloud-init writes the agent to the same place at boot.
# A home may be shared by several machines (NFS), so what is a cluster's is under its name.
STIX_DIR = ".stix"
AGENT_FILE = f"{STIX_DIR}/agent.py"
WAIT_FOR = ("jobs_and_ssh", "jobs", "none")  # what counts as activity for autostop
WORKDIR = "stix_workdir"  # the tasks' synced workdirs, one folder per cluster


def agent_home(cluster: str) -> str:
    """The agent's state (jobs, logs, autostop) of one cluster."""
    return f"{STIX_DIR}/agent/{_check_name(cluster)}"


def workdir_of(cluster: str) -> str:
    return f"{WORKDIR}/{_check_name(cluster)}"


def cleanup(cluster: str) -> str:
    """What `down` runs on a node stix does not own (ssh pools): this cluster's files, and
    the agent itself once no cluster's state is left beside it."""
    mine = " ".join((agent_home(cluster), workdir_of(cluster)))
    return (f"rm -rf {mine}; rmdir {WORKDIR} {STIX_DIR}/agent 2>/dev/null && "
            f"rm -f {AGENT_FILE}; true")


def _check_name(cluster: str) -> str:
    """The cluster's folder name on nodes: its name (stix's names are plain), or a digest
    of a name a path could not carry safely."""
    if cluster and cluster[0] not in ".-" and set(cluster) <= _ID_CHARS:
        return cluster
    import hashlib

    return "c-" + hashlib.sha256(cluster.encode()).hexdigest()[:12]
AGENT_VERSION = 1  # the agent's `version` reply; re-upload the agent when it differs


class JobState(str, Enum):
    """A job's state: what the agent reports (PENDING ... CANCELLED), and what stix
    concludes when a node cannot say (LOST: its connection dropped; UNKNOWN: unreachable)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    LOST = "LOST"
    UNKNOWN = "UNKNOWN"

    def __str__(self) -> str:
        return self.value


TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class AgentReplyError(StixError):
    """The agent reported a failure, or replied with something we cannot read."""


def agent_path() -> Path:
    """The agent file shipped inside stix (what gets copied to the nodes)."""
    return Path(__file__).with_name("agent.py")


def agent_source() -> str:
    return agent_path().read_text(encoding="utf-8")


def _quote_path(path: str) -> str:
    # `~/x` must stay unquoted at the front, or the remote shell would not expand it.
    return "~/" + shlex.quote(path[2:]) if path.startswith("~/") else shlex.quote(path)


@dataclass(frozen=True)
class AgentCommand:
    """One agent invocation: the words after `agent.py`, and the bytes for its stdin."""

    args: tuple[str, ...]
    stdin: bytes = b""

    def shell(self, *, python: str = "python3", agent: str = AGENT_FILE,
              home: str | None = None) -> str:
        """A command line for a remote POSIX shell (what SSH runs)."""
        words = [_quote_path(python), _quote_path(agent), *map(shlex.quote, self.args)]
        prefix = f"STIX_AGENT_HOME={_quote_path(home)} " if home else ""
        return prefix + " ".join(words)

    def argv(self, *, python: str | None = None, agent: str | None = None) -> list[str]:
        """An argv for running the agent on this machine without a shell (`local` nodes)."""
        return [python or sys.executable, agent or str(agent_path()), *self.args]


def _check_id(job_id: str) -> str:
    bad = not job_id or len(job_id) > 128 or job_id[0] in ".-" or not set(job_id) <= _ID_CHARS
    if bad:
        raise UsageError(f"job id {job_id!r}: use letters, digits, '.', '_', '-' "
                              "(not first), at most 128")  # fmt: skip
    return job_id


def submit(job_id: str, name: str, script: str, *, env: Mapping[str, str] | None = None,
           cwd: str | None = None) -> AgentCommand:
    """Start `script` under bash on the node; `cwd` may start with `~`."""
    payload: dict[str, Any] = {"script": script, "env": dict(env or {})}
    if cwd:
        payload["cwd"] = cwd
    args = ("submit", "--job-id", _check_id(job_id), "--name", name, "--stdin-json")
    return AgentCommand(args, json.dumps(payload).encode())


def status(job_ids: Iterable[str] = ()) -> AgentCommand:
    return AgentCommand(("status", *map(_check_id, job_ids)))


def logs(job_id: str, *, offset: int = 0, follow: bool = False) -> AgentCommand:
    """Log bytes from `offset`: pass the count already received to re-attach exactly."""
    if offset < 0:
        raise UsageError(f"log offset must be >= 0, not {offset}")
    args = ["logs", _check_id(job_id), "--offset", str(offset)]
    return AgentCommand((*args, "--follow") if follow else tuple(args))


def cancel(job_ids: Iterable[str] = (), *, all_jobs: bool = False,
           grace: float | None = None) -> AgentCommand:
    ids = [_check_id(j) for j in job_ids]
    if all_jobs == bool(ids):
        raise UsageError("cancel: name job ids or ask for all jobs, not both or neither")
    args = ["cancel", *ids] + (["--all"] if all_jobs else [])
    return AgentCommand(tuple(args + (["--grace", str(grace)] if grace is not None else [])))


def wait(job_id: str, *, timeout: float | None = None) -> AgentCommand:
    extra = ("--timeout", str(timeout)) if timeout is not None else ()
    return AgentCommand(("wait", _check_id(job_id), *extra))


def idle() -> AgentCommand:
    return AgentCommand(("idle",))


def autostop_set(idle_minutes: float, *, action: str | None = None,
                 wait_for: str | None = None, hook_file: str | None = None,
                 hook_timeout: float | None = None) -> AgentCommand:
    """Save the autostop setting on the node (restarts its idle clock when it changes)."""
    extra: list[str] = []
    for flag, value in (("--action", action), ("--wait-for", wait_for),
                        ("--hook-file", hook_file), ("--hook-timeout", hook_timeout)):
        if value is not None:
            extra += [flag, str(value)]
    return AgentCommand(("autostop", "--idle-minutes", str(idle_minutes), *extra))


def autostop_check() -> AgentCommand:
    """What cron / a timer runs every minute: act on the saved setting."""
    return AgentCommand(("autostop",))


def autostop_watch(*, interval: float = 60.0) -> AgentCommand:
    """Start (once per agent home) a background loop that checks every `interval` seconds:
    for nodes without cron (ssh and local ones)."""
    return AgentCommand(("autostop", "--watch", "--detach", "--interval", str(interval)))


def autostop_show() -> AgentCommand:
    return AgentCommand(("autostop", "--show"))


def autostop_disable() -> AgentCommand:
    return AgentCommand(("autostop", "--disable"))


def version() -> AgentCommand:
    return AgentCommand(("version",))


# ---- replies ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    name: str
    status: str
    submitted_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    pid: int | None
    reason: str | None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class SubmitReply:
    job_id: str
    status: str
    pid: int | None


@dataclass(frozen=True)
class CancelReply:
    cancelled: list[str]
    already_done: list[str]


@dataclass(frozen=True)
class IdleReply:
    running: int
    idle_seconds: float


@dataclass(frozen=True)
class AutostopReply:
    enabled: bool
    idle_minutes: float | None = None
    action: str | None = None
    running: int | None = None
    idle_seconds: float | None = None
    triggered: bool = False
    last_exit_code: int | None = None
    wait_for: str | None = None
    seconds_left: float | None = None  # None: a job (or SSH session) keeps it busy


@dataclass(frozen=True)
class WatchReply:
    started: bool  # False: a watcher already ran, `pid` is that one
    pid: int


def failure_message(stderr: str | bytes) -> str:
    """The agent's `{"error": ...}` text, else the raw stderr (e.g. "python3: not found")."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    for line in reversed(text.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return data["error"]
    return text.strip() or "agent failed with no message"


def check(exit_status: int | None, stderr: str | bytes, where: str) -> None:
    """Raise a readable error naming `where` (e.g. the node) when the agent failed."""
    if exit_status != 0:
        raise AgentReplyError(f"{where}: {failure_message(stderr)}")


def reply_object(stdout: str | bytes, what: str) -> dict[str, Any]:
    """The JSON object an agent command printed (AgentReplyError when it is not one)."""
    text = stdout.decode(errors="replace") if isinstance(stdout, bytes) else stdout
    try:
        data = json.loads(text)
    except ValueError:
        raise AgentReplyError(f"agent {what}: reply is not JSON: {text[:200]!r}") from None
    if not isinstance(data, dict):
        raise AgentReplyError(f"agent {what}: expected a JSON object, got {text[:200]!r}")
    return data


def _field(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str,
           optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise AgentReplyError(f"agent {what}: field {key!r} is {value!r}")
    return value


def _time(data: Mapping[str, Any], key: str, what: str) -> datetime | None:
    text = _field(data, key, str, what, optional=True)
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        raise AgentReplyError(f"agent {what}: {key} {text!r} is not an ISO-8601 time") from None


def _job(data: Any, what: str) -> JobStatus:
    if not isinstance(data, dict):
        raise AgentReplyError(f"agent {what}: a job entry is {data!r}")
    return JobStatus(
        job_id=_field(data, "job_id", str, what), name=_field(data, "name", str, what),
        status=_field(data, "status", str, what),
        submitted_at=_time(data, "submitted_at", what), started_at=_time(data, "started_at", what),
        ended_at=_time(data, "ended_at", what),
        exit_code=_field(data, "exit_code", int, what, optional=True),
        pid=_field(data, "pid", int, what, optional=True),
        reason=_field(data, "reason", str, what, optional=True),
    )  # fmt: skip


def parse_status(stdout: str | bytes) -> list[JobStatus]:
    jobs = _field(reply_object(stdout, "status"), "jobs", list, "status")
    return [_job(entry, "status") for entry in jobs]


def parse_wait(stdout: str | bytes) -> JobStatus:
    return _job(reply_object(stdout, "wait"), "wait")


def parse_submit(stdout: str | bytes) -> SubmitReply:
    data = reply_object(stdout, "submit")
    return SubmitReply(_field(data, "job_id", str, "submit"), _field(data, "status", str, "submit"),
                       _field(data, "pid", int, "submit", optional=True))


def parse_cancel(stdout: str | bytes) -> CancelReply:
    data = reply_object(stdout, "cancel")
    return CancelReply(list(_field(data, "cancelled", list, "cancel")),
                       list(_field(data, "already_done", list, "cancel")))


def parse_idle(stdout: str | bytes) -> IdleReply:
    data = reply_object(stdout, "idle")
    return IdleReply(_field(data, "running", int, "idle"),
                     float(_field(data, "idle_seconds", (int, float), "idle")))


def parse_autostop(stdout: str | bytes) -> AutostopReply:
    data, what = reply_object(stdout, "autostop"), "autostop"
    seconds = _field(data, "idle_seconds", (int, float), what, optional=True)
    minutes = _field(data, "idle_minutes", (int, float), what, optional=True)
    return AutostopReply(
        enabled=bool(data.get("enabled")), action=_field(data, "action", str, what, optional=True),
        idle_minutes=None if minutes is None else float(minutes),
        running=_field(data, "running", int, what, optional=True),
        idle_seconds=None if seconds is None else float(seconds),
        triggered=bool(data.get("triggered")),
        last_exit_code=_field(data, "last_exit_code", int, what, optional=True),
        wait_for=_field(data, "wait_for", str, what, optional=True),
        seconds_left=_number(data.get("seconds_left")),
    )  # fmt: skip


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def parse_watch(stdout: str | bytes) -> WatchReply:
    data = reply_object(stdout, "autostop --watch")
    return WatchReply(bool(data.get("started")), _field(data, "pid", int, "autostop --watch"))


def parse_version(stdout: str | bytes) -> int:
    return int(_field(reply_object(stdout, "version"), "version", int, "version"))
