"""Jobs on an up cluster: exec, queue, logs, cancel, autostop, and how to ssh in."""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stix import state
from stix.cluster_ops import addresses_of, resolve_secrets, run_spec
from stix.errors import NotFoundError, StixError, UsageError
from stix.remote.fanout import JobOutcome, LinePrinter
from stix.remote.transport import NodeAddress, NodeTransport
from stix.task import Task

Say = Callable[[str], None]
CONNECT_TIMEOUT = 20.0
ACTIVE = ("PENDING", "RUNNING")


def _quiet(_: str) -> None:
    return None


@dataclass
class ExecResult:
    cluster: str
    job_id: str
    outcome: JobOutcome | None

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code if self.outcome else 0


def _pick(record: state.ClusterRecord, node: int | None) -> list[NodeAddress]:
    addresses = addresses_of(record)
    if node is None:
        return addresses
    if not 0 <= node < len(addresses):
        raise UsageError(f"--node {node}: cluster {record.name!r} has nodes "
                         f"0..{len(addresses) - 1}")
    return [addresses[node]]


async def _open(addresses: list[NodeAddress]) -> list[NodeTransport]:
    from stix.remote.wait import wait_for_nodes

    return await wait_for_nodes(addresses, CONNECT_TIMEOUT)


async def _close(transports: list[NodeTransport]) -> None:
    await asyncio.gather(*(t.close() for t in transports))


def exec_task(cluster: str, task: Task | None = None, command: str | None = None, *,
              env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
              detach_run: bool = False, printer: LinePrinter | None = None,
              say: Say = _quiet) -> ExecResult:
    """Run a task's `run` (files synced, no setup) or a shell command as a new job."""
    if (task is None) == (command is None):
        raise UsageError("give a task file or a command")
    if task is None:
        task = Task(run=command, envs=env or {})
        name = command.splitlines()[0][:60] if command else "exec"
    else:
        name = task.name or "exec"
    task = resolve_secrets(task, secrets or {})
    return asyncio.run(_exec(cluster, task, name, detach_run, printer, say))


async def _exec(cluster: str, task: Task, name: str, detach_run: bool,
                printer: LinePrinter | None, say: Say) -> ExecResult:
    from stix.remote import launch

    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    holder = state.lock_holder(conn, cluster)
    if holder and holder["operation"] == "down":
        raise state.ClusterBusyError(f"cluster {cluster!r} is being taken down")
    addresses = addresses_of(record)
    printer = printer or LinePrinter(prefix=len(addresses) > 1)
    transports = await _open(addresses)
    try:
        job_id = state.next_job_id(conn, cluster, name)
        spec = run_spec(task, cluster, job_id, record.placement, name)
        assert isinstance(spec, launch.RunSpec)
        if record.extra.get("workdir"):
            from stix.remote.sync import WORKDIR

            spec.remote_cwd = WORKDIR
        try:
            # The agent is there since `up`; exec skips re-uploading it (latency).
            await launch.prepare(transports, addresses, spec, printer, setup=False,
                                 upload_agent=False, say=say)
            await launch.start_run(transports, addresses, spec)
        except BaseException:
            state.update_job(conn, cluster, job_id, "FAILED")
            raise
        state.update_job(conn, cluster, job_id, "RUNNING")
        say(f"job {job_id} submitted")
        if detach_run:
            return ExecResult(cluster, job_id, None)
        outcome = await launch.follow(transports, job_id, printer)
        state.update_job(conn, cluster, job_id, outcome.status, outcome.exit_codes())
        return ExecResult(cluster, job_id, outcome)
    finally:
        await _close(transports)


def _merge(states: list[str]) -> str:
    if any(s in ACTIVE for s in states):
        return "RUNNING" if "RUNNING" in states else "PENDING"
    for s in ("FAILED", "UNKNOWN", "CANCELLED"):
        if s in states:
            return s
    return "SUCCEEDED" if states else "UNKNOWN"


def queue(cluster: str) -> list[dict[str, Any]]:
    """Every job of the cluster as the nodes report it (merged), newest last; the state DB
    is updated on the way, and answers for nodes that cannot be reached."""
    return asyncio.run(_queue(cluster))


async def _queue(cluster: str) -> list[dict[str, Any]]:
    from stix.remote import fanout
    from stix.remote.transport import connect

    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    addresses = addresses_of(record)

    async def ask(a: NodeAddress) -> dict[str, Any] | BaseException:
        try:
            t = await connect(a, CONNECT_TIMEOUT)
        except StixError as exc:
            return exc
        try:
            return await fanout.agent_json(t, "status")
        except StixError as exc:
            return exc
        finally:
            await t.close()

    answers = await asyncio.gather(*(ask(a) for a in addresses))
    known = {j.id: j for j in state.list_jobs(conn, cluster)}
    per_job: dict[str, dict[str, dict[str, Any]]] = {}
    for a, answer in zip(addresses, answers, strict=True):
        if isinstance(answer, dict):
            for job in answer.get("jobs", []):
                per_job.setdefault(str(job["job_id"]), {})[a.name] = job
    rows = []
    for job_id in sorted(set(per_job) | set(known), key=lambda i: (len(i), i)):
        nodes = per_job.get(job_id, {})
        statuses = []
        for a, answer in zip(addresses, answers, strict=True):
            if a.name in nodes:
                statuses.append(str(nodes[a.name]["status"]))
            elif isinstance(answer, BaseException):
                statuses.append("UNKNOWN")
        db = known.get(job_id)
        merged = _merge(statuses) if statuses else (db.status if db else "UNKNOWN")
        codes = {n: j.get("exit_code") for n, j in nodes.items()}
        if db is not None and nodes and db.status != merged:
            state.update_job(conn, cluster, job_id, merged, codes)
        first = next(iter(nodes.values()), {})
        rows.append({"job_id": job_id, "name": first.get("name") or (db.name if db else None),
                     "status": merged, "submitted_at": first.get("submitted_at"),
                     "started_at": first.get("started_at"),
                     "ended_at": max((j.get("ended_at") or "" for j in nodes.values()),
                                     default=None) or None,
                     "exit_codes": codes,
                     "unreachable": [a.name for a, ans in zip(addresses, answers, strict=True)
                                     if isinstance(ans, BaseException)]})
    return rows


def _latest_job(conn: Any, cluster: str) -> str:
    jobs = state.list_jobs(conn, cluster)
    if not jobs:
        raise NotFoundError(f"cluster {cluster!r} has no jobs yet")
    return jobs[-1].id


def logs(cluster: str, job_id: str | None = None, *, follow: bool = False,
         node: int | None = None, printer: LinePrinter | None = None) -> JobOutcome:
    """Print a job's log (the latest job by default) from every node, or one; with
    `follow`, until the job ends, re-attaching after a dropped connection."""
    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    job_id = job_id or _latest_job(conn, cluster)
    addresses = _pick(record, node)
    printer = printer or LinePrinter(prefix=len(addresses) > 1)
    return asyncio.run(_logs(addresses, job_id, follow, printer))


async def _logs(addresses: list[NodeAddress], job_id: str, follow: bool,
                printer: LinePrinter) -> JobOutcome:
    from stix.remote import launch

    transports = await _open(addresses)
    try:
        return await launch.follow(transports, job_id, printer, follow=follow)
    finally:
        await _close(transports)


def cancel(cluster: str, job_ids: list[str] | None = None, *, all_jobs: bool = False,
           grace: float = 10) -> dict[str, list[str]]:
    """Cancel jobs on every node; {"cancelled": [...], "already_done": [...]}."""
    if bool(job_ids) == all_jobs:
        raise UsageError("give job ids or --all (not both)")
    return asyncio.run(_cancel(cluster, job_ids if not all_jobs else None, grace))


async def _cancel(cluster: str, ids: list[str] | None, grace: float) -> dict[str, list[str]]:
    from stix.remote import fanout

    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    transports = await _open(addresses_of(record))
    try:
        answers = await fanout.cancel_jobs(transports, ids, grace)
    finally:
        await _close(transports)
    errors = [str(a) for a in answers if isinstance(a, BaseException)]
    if errors:
        raise StixError("cancel failed:\n" + "\n".join(f"  {e}" for e in errors))
    cancelled = sorted({str(i) for a in answers if isinstance(a, dict)
                        for i in a.get("cancelled", [])}, key=lambda i: (len(i), i))
    done = sorted({str(i) for a in answers if isinstance(a, dict)
                   for i in a.get("already_done", [])} - set(cancelled),
                  key=lambda i: (len(i), i))
    for job_id in cancelled:
        state.update_job(conn, cluster, job_id, "CANCELLED")
    return {"cancelled": cancelled, "already_done": done}


def autostop(cluster: str, idle_minutes: float | None = None, *, down: bool = False,
             cancel: bool = False) -> dict[str, Any]:
    """Set (or with `cancel`, clear) the cluster's idle auto-stop. Cloud nodes check it every
    minute (cloud-init's cron) and stop or terminate themselves; stix owns no ssh pool
    machine, and stopping this machine is not something a local cluster may do, so
    `local` needs `down`."""
    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    if record.provider == "ssh":
        raise StixError(f"cluster {cluster!r} runs on your own ssh machines: stix does not stop "
                        "or tear down those on idle")
    if not cancel and idle_minutes is None:
        raise UsageError("give -i/--idle-minutes MIN, or --cancel")
    if record.extra.get("engine"):
        return asyncio.run(_autostop_cloud(record, idle_minutes, down, cancel))
    if not cancel and not down:
        raise UsageError("a local cluster cannot stop this machine; use --down to tear the "
                         "cluster down when idle")
    return asyncio.run(_autostop(conn, record, idle_minutes, cancel))


async def _autostop(conn: Any, record: state.ClusterRecord, minutes: float | None,
                    cancel: bool) -> dict[str, Any]:
    import os

    from stix.remote import fanout
    head = addresses_of(record)[0]
    transports = await _open([head])
    t = transports[0]
    try:
        if cancel:
            return await fanout.agent_json(t, "autostop", "--disable")
        await fanout.upload_agent([t])
        home = os.environ.get("STIX_HOME")
        action = (f"{'STIX_HOME=' + shlex.quote(home) + ' ' if home else ''}"
                  f"{shlex.quote(sys.executable)} -m stix down {shlex.quote(record.name)} --yes")
        answer = await fanout.agent_json(t, "autostop", "--idle-minutes", f"{minutes:g}",
                                         "--action", action)
        watcher = await fanout.agent_json(t, "autostop", "--watch", "--interval", "30",
                                          "--detach")
        record.extra["autostop_watcher_pid"] = watcher.get("pid")
        state.put_cluster(conn, record)
        return answer
    finally:
        await _close(transports)


async def _autostop_cloud(record: state.ClusterRecord, minutes: float | None, down: bool,
                          cancel: bool) -> dict[str, Any]:
    """Every node saves the setting; its own cron check acts on it (no watcher here)."""
    from stix.remote import fanout
    from stix.remote.cloudinit import ACTION_SCRIPT

    transports = await _open(addresses_of(record))
    try:
        if cancel:
            args: tuple[str, ...] = ("autostop", "--disable")
        else:
            action = f"sudo -n {ACTION_SCRIPT} {'down' if down else 'stop'}"
            args = ("autostop", "--idle-minutes", f"{minutes:g}", "--action", action)
        answers = await asyncio.gather(*(fanout.agent_json(t, *args) for t in transports))
        return answers[0]
    finally:
        await _close(transports)


def ssh_command(cluster: str, node: int | None = None) -> tuple[list[str], str | None]:
    """(argv, working directory) for an interactive shell on a node (head by default)."""
    from stix.remote.transport import LocalTransport, SshTransport

    record = state.require_cluster(state.connect(), cluster)
    address = _pick(record, node or 0)[0]
    if address.local_home:
        return LocalTransport(address).interactive_argv(), address.local_home
    return SshTransport(address, None).interactive_argv(), None
