#!/usr/bin/env python3
"""stix node agent: a small job queue that runs on every node (standard library, Python >= 3.8).

Shipped as one file to `~/.stix/agent.py` and run as `python3 ~/.stix/agent.py COMMAND ...`.
Jobs run detached, so they outlive the SSH session that started them. State lives under
$STIX_AGENT_HOME (default ~/.stix/agent/): `jobs/<id>/` holds script.sh, status.json
(replaced atomically), log (stdout+stderr, raw bytes), lock, runner.lock; all 0600 in 0700
folders. The job's env (it may hold secrets) reaches the runner over a pipe and is never
written to disk (the first draft of this contract had an env.json here). Every command
prints JSON on stdout (`logs` prints raw log bytes); a failure exits non-zero with
`{"error": "..."}` on stderr.

  submit --job-id ID [--name NAME] [--cwd DIR] [--env-file F.json] [--script-file F]
      Script from --script-file, else stdin. With --stdin-json, stdin is instead one JSON
      object {"script": str, "env": {str: str}, "cwd": str?} (keeps secrets out of argv).
      Runs `bash script.sh` in DIR (default: the current one; `~` expands) with os.environ +
      PYTHONUNBUFFERED=1 + env, in its own session, and prints {"job_id", "status": "RUNNING",
      "pid"}. Ids are the client's ([A-Za-z0-9._-], max 128); an existing id is an error.
  status [ID ...]      {"jobs": [{job_id, name, status, submitted_at, started_at, ended_at,
                       exit_code, pid, reason}]}, newest last; status is PENDING | RUNNING |
                       SUCCEEDED | FAILED | CANCELLED; times ISO-8601 UTC or null; a job
                       killed by signal N has exit_code 128+N. A job whose runner died without
                       recording an end is FAILED with exit_code null and a reason.
  logs ID [--offset N] [--follow]   raw log bytes from byte N; --follow streams until the
                       job ended and the log is drained. Clients count bytes to re-attach.
  cancel ID ... | --all [--grace S]  SIGTERM to the job's process group, SIGKILL after S
                       (default 10) s; {"cancelled": [...], "already_done": [...]}.
  wait ID [--timeout S]  blocks until the job ends; prints its status object.
  idle                 {"running": K, "idle_seconds": S} (since the last job ended, or since
                       the agent home was created; 0 while a job runs).
  autostop --idle-minutes M [--action CMD] [--wait-for W] [--hook-file F]
           [--hook-timeout S]   saves the setting (the idle clock restarts when it
                       changes), then checks once. Bare `autostop` checks with the saved
                       setting: what cron or a timer should run every minute. Idle means
                       (W) jobs_and_ssh, the default: no job runs and no SSH session is open;
                       jobs: no job runs; none: time alone. When idle >= M minutes (counted
                       from the latest of: last job end, last SSH session seen, home creation,
                       setting change, boot, last trigger) it runs F with bash (in the
                       cluster's workdir when there is one, killed after S s, default 3600;
                       its failure is logged and the action still runs), then CMD with
                       /bin/sh (default `sudo shutdown -h now`). `--show` / `--disable` read /
                       clear the setting (show adds `seconds_left`); `--watch [--interval S]`
                       loops in place of cron (one per home); with --detach it runs in the
                       background and prints {"watching": true, "started": bool, "pid": N}.
  version              {"version": N, "python": "3.x.y"}
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from datetime import datetime, timezone
from types import SimpleNamespace as Args

TYPE_CHECKING = False  # no `typing` import at run time: every call starts a fresh python
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    Job = dict[str, Any]

VERSION = 1
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
PUBLIC = ("job_id", "name", "status", "submitted_at", "started_at", "ended_at", "exit_code",
          "pid", "reason")  # fmt: skip
ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
POLL = 0.05  # seconds between looks at a growing log: new output shows within ~50 ms
DEFAULT_ACTION = "sudo shutdown -h now"


class AgentError(Exception):
    """A failure reported as {"error": ...} on stderr."""


# ---- small helpers: time, files, locks --------------------------------------------------------


def iso(ts: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc)
    return moment.isoformat(timespec="milliseconds")


def epoch(text: str | None) -> float:
    return datetime.fromisoformat(text).timestamp() if text else 0.0


def emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_file(path: str, data: bytes, durable: bool = False) -> None:
    """Write to a temp file and rename, so readers never see a half-written file. fsync
    (~10-50 ms) only where asked: it would dominate `submit`'s latency."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: str, obj: Any, durable: bool = False) -> None:
    write_file(path, json.dumps(obj).encode(), durable)


def open_append(path: str) -> Any:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")


def open_lock(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def locked(path: str) -> Iterator[None]:
    fd = open_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def lock_free(path: str) -> bool:
    """True when nobody holds `path` locked (a runner holds its lock for its whole life)."""
    fd = open_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def agent_home() -> str:
    home = os.environ.get("STIX_AGENT_HOME") or os.path.join("~", ".stix", "agent")
    home = os.path.abspath(os.path.expanduser(home))
    os.makedirs(os.path.join(home, "jobs"), mode=0o700, exist_ok=True)
    marker = os.path.join(home, "home.json")
    if not os.path.exists(marker):  # first use: remember when, for `idle`
        tmp = f"{marker}.{os.getpid()}.new"
        write_json(tmp, {"created_at": iso()})
        with contextlib.suppress(FileExistsError):
            os.link(tmp, marker)  # atomic, and never overwrites a concurrent creator's
        os.unlink(tmp)
    return home


def job_dir(home: str, job_id: str) -> str:
    if not job_id or len(job_id) > 128 or not set(job_id) <= ID_CHARS or job_id[0] in ".-":
        raise AgentError(f"bad job id {job_id!r}: use letters, digits, '.', '_', '-' (max 128)")
    return os.path.join(home, "jobs", job_id)


# ---- job records --------------------------------------------------------------------------------


def load(jdir: str) -> Job:
    try:
        return dict(read_json(os.path.join(jdir, "status.json")))
    except FileNotFoundError:
        raise AgentError(f"no job {os.path.basename(jdir)!r}") from None
    except (ValueError, TypeError):  # a crash right after an un-synced write: say so, go on
        job: Job = dict.fromkeys(PUBLIC)
        return dict(job, job_id=os.path.basename(jdir), name="", status="FAILED",
                    reason="status record unreadable (node crashed while writing it?)")


def save(jdir: str, job: Job, durable: bool = False) -> None:
    write_json(os.path.join(jdir, "status.json"), job, durable)


def public(job: Job) -> Job:
    return {k: job.get(k) for k in PUBLIC}


def mark_lost(jdir: str, job: Job) -> None:
    """The runner is gone but never recorded an end: the job failed; say why. Under the lock."""
    times = [epoch(job.get("started_at")), epoch(job.get("submitted_at"))]
    with contextlib.suppress(OSError):  # the log's last write is the last sign of life
        times.append(os.stat(os.path.join(jdir, "log")).st_mtime)
    reason = ("runner process ended without recording an exit (node rebooted or process "
              f"killed) while {job['status']}")  # fmt: skip
    job.update(status="FAILED", exit_code=None, ended_at=iso(max(times)), reason=reason)
    if job.get("cancel_requested"):
        job.update(status="CANCELLED", reason="cancelled; its runner was gone")
    save(jdir, job, durable=True)


def current(jdir: str) -> Job:
    """The job's record, with a dead runner detected (and written down) on the way."""
    job = load(jdir)
    if job["status"] in TERMINAL or not lock_free(os.path.join(jdir, "runner.lock")):
        return job
    with locked(os.path.join(jdir, "lock")):
        job = load(jdir)  # re-read: the runner may have just finished
        if job["status"] not in TERMINAL and lock_free(os.path.join(jdir, "runner.lock")):
            mark_lost(jdir, job)
    return job


def all_jobs(home: str) -> list[Job]:
    root = os.path.join(home, "jobs")
    jobs = [current(os.path.join(root, name)) for name in os.listdir(root)
            if os.path.exists(os.path.join(root, name, "status.json"))]  # else being submitted
    jobs.sort(key=lambda j: (j.get("submitted_ns", 0), j["job_id"]))
    return jobs


# ---- submit and the detached runner -------------------------------------------------------------


def read_submission(args: Args) -> Job:
    """Script, env and cwd from arguments, files or stdin; all checked before anything is made."""
    spec: Job = {"env": {}, "cwd": args.cwd}
    if args.stdin_json:
        try:
            data = json.loads(sys.stdin.buffer.read().decode("utf-8"))
        except ValueError as exc:
            raise AgentError(f"--stdin-json: stdin is not JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("script"), str):
            raise AgentError('--stdin-json: expected {"script": str, "env": {...}, "cwd": str}')
        spec.update(script=data["script"], env={} if data.get("env") is None else data["env"])
        spec["cwd"] = data.get("cwd") or args.cwd
    elif args.script_file:
        with open(os.path.expanduser(args.script_file), encoding="utf-8") as f:
            spec["script"] = f.read()
    elif sys.stdin.isatty():
        raise AgentError("no script: pass --script-file or pipe the script on stdin")
    else:
        spec["script"] = sys.stdin.buffer.read().decode("utf-8")
    if args.env_file:
        try:
            from_file = read_json(os.path.expanduser(args.env_file))
        except (OSError, ValueError) as exc:
            raise AgentError(f"--env-file {args.env_file}: {exc}") from None
        if not isinstance(from_file, dict) or not isinstance(spec["env"], dict):
            raise AgentError(f"--env-file {args.env_file}: expected a JSON object of strings")
        spec["env"].update(from_file)
    if not isinstance(spec["env"], dict):
        raise AgentError("env must be a JSON object of strings")
    for key, value in spec["env"].items():
        if not key or "=" in key or "\0" in key or not isinstance(value, str) or "\0" in value:
            raise AgentError(f"env {key!r}: names need no '=' or NUL; values must be strings")
    spec["cwd"] = os.path.abspath(os.path.expanduser(spec["cwd"] or os.getcwd()))
    if not os.path.isdir(spec["cwd"]):
        raise AgentError(f"--cwd {spec['cwd']}: no such directory")
    return spec


def cmd_submit(args: Args) -> None:
    import select

    home = agent_home()
    jdir = job_dir(home, args.job_id)
    spec = read_submission(args)
    try:
        os.mkdir(jdir, 0o700)  # atomic: of two submits with one id, exactly one gets here
    except FileExistsError:
        raise AgentError(f"job {args.job_id!r} already exists") from None
    # The runner lock is taken here and inherited by the forked runner (the same open file),
    # so there is no moment in which the job could look runner-less to `status`.
    lock_fd = open_lock(os.path.join(jdir, "runner.lock"))
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    write_file(os.path.join(jdir, "script.sh"), spec["script"].encode("utf-8"))
    job: Job = dict.fromkeys(PUBLIC)
    job.update(job_id=args.job_id, name=args.name, status="PENDING", submitted_at=iso(),
               submitted_ns=time.time_ns(), cwd=spec["cwd"], cancel_requested=False)
    save(jdir, job)
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    if os.fork() == 0:
        # The runner: forked, not a new interpreter (saves its start-up), so the env stays in
        # memory. Its own session and no fd of the caller's: an SSH channel stays open while
        # any process holds its stdout, and a hang-up must not reach the job.
        try:
            os.close(read_end)
            os.setsid()
            os.chdir("/")
            null = os.open(os.devnull, os.O_RDWR)
            errors = os.open(os.path.join(jdir, "runner.err"),
                             os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            for fd, target in ((0, null), (1, null), (2, errors)):
                os.dup2(target, fd)
            for fd in {null, errors} - {0, 1, 2}:
                os.close(fd)
            run_job(jdir, spec["env"], write_end)
        except BaseException:
            import traceback

            traceback.print_exc()  # into runner.err
        finally:
            os._exit(0)
    os.close(write_end)
    os.close(lock_fd)
    report, deadline = b"", time.time() + 30
    while time.time() < deadline:  # until the runner says it started bash (or died: EOF)
        if select.select([read_end], [], [], 0.5)[0]:
            chunk = os.read(read_end, 4096)
            if not chunk:
                break
            report += chunk
    os.close(read_end)
    started = json.loads(report.decode() or "{}")
    if "status" not in started:
        reason = started.get("error") or f"runner failed; see {jdir}/runner.err"
        raise AgentError(f"job {args.job_id!r}: {reason}")
    emit({"job_id": args.job_id, "status": started["status"], "pid": started["pid"]})


def finish(jdir: str, returncode: int | None, reason: str | None = None) -> None:
    with locked(os.path.join(jdir, "lock")):
        job = load(jdir)
        code = returncode
        if returncode is not None and returncode < 0:  # killed by a signal: shell-style code
            code = 128 - returncode
            names = {int(s): s.name for s in signal.Signals}
            reason = reason or f"killed by {names.get(-returncode, -returncode)}"
        status = "SUCCEEDED" if returncode == 0 else "FAILED"
        if job.get("cancel_requested"):
            status = "CANCELLED"
        job.update(status=status, exit_code=code, ended_at=iso(), reason=reason)
        save(jdir, job, durable=True)


def run_job(jdir: str, job_env: dict[str, str], report_fd: int) -> None:
    """In the runner: start bash, tell the submitter its pid, wait, record how it ended."""
    import subprocess

    proc = None
    reply: Job = {"status": "CANCELLED", "pid": None}
    try:
        with locked(os.path.join(jdir, "lock")):
            job = load(jdir)
            job["runner_pid"] = os.getpid()
            if not job.get("cancel_requested"):
                env = dict(os.environ, PYTHONUNBUFFERED="1")
                env.update(job_env)  # the job's own values win, PYTHONUNBUFFERED included
                with open_append(os.path.join(jdir, "log")) as log:
                    proc = subprocess.Popen(
                        ["bash", os.path.join(jdir, "script.sh")], cwd=job["cwd"], env=env,
                        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                        start_new_session=True)
                job.update(status="RUNNING", started_at=iso(), pid=proc.pid)
                reply = {"status": "RUNNING", "pid": proc.pid}
            save(jdir, job)
        if proc is None:
            finish(jdir, None, "cancelled before it started")
    except Exception as exc:  # record why, so `status` says more than "runner gone"
        finish(jdir, None, f"could not start: {exc}")
        reply = {"error": f"could not start: {exc}"}
    with contextlib.suppress(OSError), os.fdopen(report_fd, "w") as report:
        report.write(json.dumps(reply))  # the submitter may be gone: fine
    if proc is not None:
        finish(jdir, proc.wait())  # job end = bash's exit, not EOF on the log


# ---- reading, following, cancelling, waiting ----------------------------------------------------


def cmd_status(args: Args) -> None:
    home = agent_home()
    if args.ids:
        jobs = [current(job_dir(home, jid)) for jid in dict.fromkeys(args.ids)]
        jobs.sort(key=lambda j: (j.get("submitted_ns", 0), j["job_id"]))
    else:
        jobs = all_jobs(home)
    emit({"jobs": [public(j) for j in jobs]})


def cmd_logs(args: Args) -> None:
    if args.offset < 0:
        raise AgentError(f"--offset must be >= 0, not {args.offset}")
    jdir = job_dir(agent_home(), args.job_id)
    load(jdir)  # an unknown job is an error, not an empty log
    path = os.path.join(jdir, "log")
    while not os.path.exists(path):  # PENDING: the runner makes the log before bash starts
        if not args.follow or current(jdir)["status"] in TERMINAL:
            return
        time.sleep(POLL)
    out = sys.stdout.buffer
    try:
        with open(path, "rb") as log:
            log.seek(args.offset)
            while True:
                # Look at the status BEFORE draining: once an end is recorded, bash has exited
                # and all it wrote is in the file, so this drain is the last one needed.
                ended = not args.follow or current(jdir)["status"] in TERMINAL
                chunk = log.read(1 << 16)
                while chunk:
                    out.write(chunk)
                    chunk = log.read(1 << 16)
                out.flush()
                if ended:
                    return
                time.sleep(POLL)
    except BrokenPipeError:  # the client went away; nobody to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def group_alive(pgid: int) -> bool:
    """Does any live (non-zombie) process remain in process group `pgid`?"""
    if not os.path.isdir("/proc/self"):  # not Linux: zombies count as alive, SIGKILL is harmless
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
        except (OSError, IndexError, ValueError):
            continue
    return False


def kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def cmd_cancel(args: Args) -> None:
    home = agent_home()
    if args.all == bool(args.ids):
        raise AgentError("cancel: give job ids or --all (not both)")
    if args.all:
        ids = [j["job_id"] for j in all_jobs(home) if j["status"] not in TERMINAL]
    else:
        ids = list(dict.fromkeys(args.ids))
    jdirs = {jid: job_dir(home, jid) for jid in ids}
    for jdir in jdirs.values():
        load(jdir)  # every id must exist before anything is cancelled
    cancelled, already, groups = [], [], []
    for jid, jdir in jdirs.items():
        with locked(os.path.join(jdir, "lock")):
            job = load(jdir)
            if job["status"] not in TERMINAL and lock_free(os.path.join(jdir, "runner.lock")):
                mark_lost(jdir, job)
            if job["status"] in TERMINAL:
                already.append(jid)
                continue
            job["cancel_requested"] = True  # PENDING: the runner will not start it
            save(jdir, job)
            if job["status"] == "RUNNING":
                kill_group(job["pid"], signal.SIGTERM)  # under the lock: pid not reused yet
                groups.append(job["pid"])
            cancelled.append(jid)
    deadline = time.time() + args.grace
    while groups and time.time() < deadline:
        groups = [g for g in groups if group_alive(g)]
        if groups:
            time.sleep(POLL)
    for pgid in groups:
        kill_group(pgid, signal.SIGKILL)
    deadline = time.time() + 10  # let the runners record the end, so status reads CANCELLED
    while time.time() < deadline and any(
            current(jdirs[j])["status"] not in TERMINAL for j in cancelled):  # fmt: skip
        time.sleep(POLL)
    emit({"cancelled": cancelled, "already_done": already})


def cmd_wait(args: Args) -> None:
    jdir = job_dir(agent_home(), args.job_id)
    deadline = None if args.timeout is None else time.time() + args.timeout
    while True:
        job = current(jdir)
        if job["status"] in TERMINAL:
            return emit(public(job))
        if deadline is not None and time.time() >= deadline:
            raise AgentError(f"job {args.job_id!r} still {job['status']} after {args.timeout}s")
        time.sleep(0.1)


# ---- idleness and autostop ----------------------------------------------------------------------


def idleness(home: str, *marks: float) -> Job:
    """Running job count, and seconds since the latest sign of activity (0 while running)."""
    latest = [epoch(read_json(os.path.join(home, "home.json"))["created_at"]), *marks]
    jobs = all_jobs(home)
    running = sum(1 for j in jobs if j["status"] not in TERMINAL)
    latest += [epoch(j.get("ended_at")) for j in jobs]
    idle = 0.0 if running else max(0.0, time.time() - max(latest))
    return {"running": running, "idle_seconds": round(idle, 3)}


def boot_time() -> float:
    with contextlib.suppress(OSError), open("/proc/stat", encoding="ascii") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    return 0.0


WAIT_FOR = ("jobs_and_ssh", "jobs", "none")
HOOK_TIMEOUT = 3600.0


def ssh_sessions() -> int:
    """Established inbound TCP connections to port 22 (an open SSH session is activity),
    not counting the one this command came in on (SSH_CONNECTION names its client port)."""
    client = os.environ.get("SSH_CONNECTION", "").split()
    own = f":{int(client[1]):04X}" if len(client) > 1 and client[1].isdigit() else None
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as f:
            next(f, None)
            for line in f:
                fields = line.split()
                if (len(fields) > 3 and fields[3] == "01" and fields[1].endswith(":0016")
                        and not (own and fields[2].endswith(own))):
                    count += 1
    return count


def autostop_state(home: str, setting: Job) -> Job:
    """Idleness under the setting's `wait_for`, and the seconds left before the action."""
    wait_for = setting.get("wait_for") or "jobs_and_ssh"
    marks = [boot_time(), *(epoch(setting.get(k)) for k in
                            ("set_at", "last_triggered_at", "ssh_seen_at"))]
    if wait_for == "none":
        idle = max(0.0, time.time() - max(marks))
        state: Job = {"running": sum(1 for j in all_jobs(home) if j["status"] not in TERMINAL),
                      "idle_seconds": round(idle, 3)}
    else:
        state = idleness(home, *marks)
        if state["running"]:
            state["idle_seconds"] = 0.0
    if wait_for == "jobs_and_ssh":
        state["ssh_sessions"] = ssh_sessions()
        if state["ssh_sessions"]:
            state["idle_seconds"] = 0.0
    limit = float(setting["idle_minutes"]) * 60
    busy = state["running"] and wait_for != "none"
    state["seconds_left"] = None if busy else round(max(0.0, limit - state["idle_seconds"]), 3)
    return state


def _run_hook(setting: Job, home: str, log: Any) -> None:
    import subprocess

    hook = setting.get("hook_file")
    if not hook or not os.path.exists(hook):
        return
    timeout = float(setting.get("hook_timeout") or HOOK_TIMEOUT)
    workdir = os.path.expanduser(os.path.join("~", "stix_workdir", os.path.basename(home)))
    log.write(f"{iso()} hook {hook} (timeout {timeout:g} s)\n".encode())
    log.flush()
    proc = subprocess.Popen(["/bin/bash", hook], cwd=workdir if os.path.isdir(workdir) else None,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
        log.write(f"{iso()} hook exited {code}\n".encode())
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.write(f"{iso()} hook killed after {timeout:g} s; acting anyway\n".encode())
    log.flush()


def autostop_check(home: str) -> Job:
    import subprocess

    path = os.path.join(home, "autostop.json")
    with locked(os.path.join(home, "autostop.lock")):  # one check (and action) at a time
        if not os.path.exists(path):
            return {"enabled": False, "triggered": False}
        setting = read_json(path)
        state = autostop_state(home, setting)
        if state.get("ssh_sessions"):
            setting["ssh_seen_at"] = iso()
            write_json(path, setting)
        out = dict(setting, enabled=True, triggered=False, **state)
        if state["seconds_left"] is None or state["seconds_left"] > 0:
            return out
        with open_append(os.path.join(home, "autostop.log")) as log:
            _run_hook(setting, home, log)
            log.write(f"{iso()} running: {setting['action']}\n".encode())
            log.flush()
            code = subprocess.call(["/bin/sh", "-c", setting["action"]], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
        setting.update(last_triggered_at=iso(), last_exit_code=code)
        write_json(path, setting)
        return dict(out, **setting, triggered=True)


def cmd_autostop(args: Args) -> None:
    home = agent_home()
    path = os.path.join(home, "autostop.json")
    if args.disable:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return emit({"enabled": False})
    if args.show:
        setting = read_json(path) if os.path.exists(path) else {}
        state = autostop_state(home, setting) if setting else idleness(home)
        return emit(dict(setting, enabled=bool(setting), **state))
    if args.idle_minutes is not None:
        if args.idle_minutes < 0:
            raise AgentError(f"--idle-minutes must be >= 0, not {args.idle_minutes}")
        if args.wait_for not in WAIT_FOR:
            raise AgentError(f"--wait-for must be one of {', '.join(WAIT_FOR)}")
        wanted = {"idle_minutes": args.idle_minutes, "action": args.action or DEFAULT_ACTION,
                  "wait_for": args.wait_for, "hook_file": args.hook_file,
                  "hook_timeout": args.hook_timeout}
        with locked(os.path.join(home, "autostop.lock")):
            old = read_json(path) if os.path.exists(path) else {}
            if {k: old.get(k) for k in wanted} != wanted:  # a change restarts the idle clock
                write_json(path, dict(wanted, set_at=iso()))
    elif args.action:
        raise AgentError("--action needs --idle-minutes")
    if not args.watch:
        return emit(autostop_check(home))
    lock, pid_file = (os.path.join(home, f"autostop.watch.{x}") for x in ("lock", "json"))
    if args.detach:
        import subprocess

        if not lock_free(lock):
            return emit({"watching": True, "started": False, "pid": read_json(pid_file)["pid"]})
        argv = [sys.executable, os.path.abspath(__file__), "autostop", "--watch",
                "--interval", str(args.interval)]
        proc = subprocess.Popen(argv, start_new_session=True, cwd="/", stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=dict(os.environ, STIX_AGENT_HOME=home))
        deadline = time.time() + 30
        while time.time() < deadline:  # return once a watcher surely runs: ours or a racer's
            if proc.poll() is not None or (os.path.exists(pid_file) and
                                           read_json(pid_file)["pid"] == proc.pid):
                break
            time.sleep(0.02)
        pid = proc.pid if proc.returncode is None else read_json(pid_file)["pid"]
        return emit({"watching": True, "started": pid == proc.pid, "pid": pid})
    fd = open_lock(lock)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise AgentError(f"another autostop watcher runs for {home}") from None
    write_json(pid_file, {"pid": os.getpid()})
    while True:  # until killed; the lock held meanwhile says "a watcher runs"
        autostop_check(home)
        time.sleep(args.interval)


def cmd_version(args: Args) -> None:
    emit({"version": VERSION, "python": sys.version.split()[0]})


# ---- command line (no argparse: it would double the start-up time of every call) -----------------

REQUIRED = object()
# name: (function, positional: "" | "job_id" | "ids*", {option: (type, default)})
COMMANDS: dict[str, tuple[Any, str, dict[str, tuple[Any, Any]]]] = {
    "submit": (cmd_submit, "", {"--job-id": (str, REQUIRED), "--name": (str, ""),
                                "--cwd": (str, None), "--env-file": (str, None),
                                "--script-file": (str, None), "--stdin-json": (bool, False)}),
    "status": (cmd_status, "ids*", {}),
    "logs": (cmd_logs, "job_id", {"--offset": (int, 0), "--follow": (bool, False)}),
    "cancel": (cmd_cancel, "ids*", {"--all": (bool, False), "--grace": (float, 10.0)}),
    "wait": (cmd_wait, "job_id", {"--timeout": (float, None)}),
    "idle": (lambda args: emit(idleness(agent_home())), "", {}),
    "autostop": (cmd_autostop, "", {"--idle-minutes": (float, None), "--action": (str, None),
                                    "--wait-for": (str, "jobs_and_ssh"),
                                    "--hook-file": (str, None), "--hook-timeout": (float, None),
                                    "--show": (bool, False), "--disable": (bool, False),
                                    "--watch": (bool, False), "--interval": (float, 60.0),
                                    "--detach": (bool, False)}),
    "version": (cmd_version, "", {}),
}  # fmt: skip


def parse(argv: list[str]) -> tuple[Any, Args]:
    if not argv or argv[0] not in COMMANDS:
        known = ", ".join(COMMANDS)
        raise AgentError(f"unknown command {argv[0] if argv else ''!r}; one of: {known}")
    func, positional, options = COMMANDS[argv[0]]
    values = {k[2:].replace("-", "_"): default for k, (_, default) in options.items()}
    words, rest = iter(argv[1:]), []
    for word in words:
        name, eq, value = word.partition("=")
        if not word.startswith("--"):
            rest.append(word)
            continue
        if name not in options:
            raise AgentError(f"{argv[0]}: unknown option {name}")
        kind = options[name][0]
        if kind is bool:
            values[name[2:].replace("-", "_")] = True
            continue
        value = value if eq else next(words, "")
        try:
            values[name[2:].replace("-", "_")] = kind(value)
        except ValueError:
            raise AgentError(f"{argv[0]} {name}: {value!r} is not a {kind.__name__}") from None
    missing = [f"--{k.replace('_', '-')}" for k, v in values.items() if v is REQUIRED]
    wrong_count = len(rest) != 1 if positional == "job_id" else positional == "" and rest
    if missing or wrong_count:
        usage = " ".join(w for w in (argv[0], positional.upper(), *missing) if w)
        raise AgentError(f"usage: {usage} ... (got {' '.join(argv)!r})")
    if positional:
        values[positional.rstrip("*")] = rest if positional == "ids*" else rest[0]
    return func, Args(**values)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"], ["help"]):
        sys.stdout.write(__doc__ or "")
        return 0
    try:
        func, args = parse(argv)
        func(args)
        return 0
    except AgentError as exc:
        message = str(exc)
    except Exception as exc:  # still one JSON line, never a bare traceback
        message = f"{type(exc).__name__}: {exc}"
    sys.stderr.write(json.dumps({"error": message}) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
