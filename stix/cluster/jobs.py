"""Jobs on an up cluster: exec, queue, logs, cancel, autostop, and how to ssh in."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from stix import state
from stix.cluster.node_phase import resolve_secrets, run_spec
from stix.errors import (
    ClusterNotUpError,
    NotFoundError,
    StillRunningError,
    StixError,
    UsageError,
)
from stix.remote import agent_client as ac
from stix.remote.agent_client import JobState
from stix.remote.fanout import JobOutcome, LinePrinter
from stix.remote.transport import NodeAddress, NodeTransport
from stix.say import Say, quiet
from stix.state import ClusterRecord, ClusterStatus, OpStatus
from stix.task import Task

CONNECT_TIMEOUT = 20.0
ACTIVE = (JobState.PENDING, JobState.RUNNING)


@dataclass
class ExecResult:
    cluster: str
    job_id: str
    outcome: JobOutcome | None

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code if self.outcome else 0


def _pick(record: ClusterRecord, node: int | None) -> list[NodeAddress]:
    addresses = record.nodes
    if node is None:
        return addresses
    if not 0 <= node < len(addresses):
        raise UsageError(f"node {node} (--node): cluster {record.name!r} has nodes "
                         f"0..{len(addresses) - 1}")
    return [addresses[node]]


async def _open(addresses: list[NodeAddress]) -> list[NodeTransport]:
    """Connect to the nodes; when they do not answer, ask their cloud why (a stop or an
    autodown behind stix's back is recorded, and said, instead of a bare timeout)."""
    from stix.remote.wait import wait_for_nodes

    cluster = addresses[0].cluster if addresses else None
    if cluster is not None:
        _require_running(cluster)
    try:
        return await wait_for_nodes(addresses, CONNECT_TIMEOUT)
    except StixError as exc:
        why = await asyncio.to_thread(_why_unreachable, cluster) if cluster else None
        if why is None:
            raise
        raise StixError(f"{exc.message}: {why}", hint=exc.hint) from None


_NOT_RUNNING = {
    ClusterStatus.STOPPED: "is stopped; `stix start {c}` brings it back",
    ClusterStatus.TERMINATED: "has no node left; `stix down {c}` removes the rest",
}


def _require_running(cluster: str) -> None:
    record = state.get_cluster(state.connect(), cluster)
    if record is not None and record.status in _NOT_RUNNING:
        raise ClusterNotUpError(f"cluster {cluster} "
                                + _NOT_RUNNING[record.status].format(c=cluster))


def _why_unreachable(cluster: str) -> str | None:
    from stix.cluster.reconcile import reconcile

    record = state.get_cluster(state.connect(), cluster)
    if record is None or not record.has_stack:
        return None
    done = reconcile(cluster, cleanup=False)
    if done.after in (ClusterStatus.STOPPED, ClusterStatus.PARTIAL, ClusterStatus.TERMINATED):
        return f"the cloud says cluster {cluster} is {done.after.value}: " + "; ".join(done.notes)
    return None


async def _close(transports: list[NodeTransport]) -> None:
    await asyncio.gather(*(t.close() for t in transports))


def exec_task(cluster: str, task: Task | None = None, command: str | None = None, *,
              env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
              detach_run: bool = False, printer: LinePrinter | None = None,
              say: Say = quiet, allow_private_mounts: bool = False) -> ExecResult:
    """Run a task's `run` (files synced, no setup) or a shell command as a new job;
    `allow_private_mounts` as for `up`."""
    from stix.remote.sync import check_task_files
    if (task is None) == (command is None):
        raise UsageError("give a task file or a command")
    if task is None:
        task = Task(run=command, envs=env or {})
        name = command.splitlines()[0][:60] if command else "exec"
    else:
        name = task.name or "exec"
    task = resolve_secrets(task, secrets or {})
    check_task_files(task, allow_private=allow_private_mounts)
    submitted: list[str] = []
    try:
        return asyncio.run(_exec(cluster, task, name, detach_run, printer, say, submitted,
                                 allow_private_mounts))
    except KeyboardInterrupt:
        if submitted:
            raise StillRunningError(cluster, submitted[0]) from None
        raise


async def _exec(cluster: str, task: Task, name: str, detach_run: bool,
                printer: LinePrinter | None, say: Say, submitted: list[str],
                allow_private: bool = False) -> ExecResult:
    from stix.remote import launch

    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    holder = state.lock_holder(conn, cluster)
    if holder and holder["operation"] == "down":
        raise state.ClusterBusyError(f"cluster {cluster!r} is being taken down")
    addresses = record.nodes
    printer = printer or LinePrinter(prefix=len(addresses) > 1)
    state.reconcile(conn, cluster)
    transports = await _open(addresses)
    entry = state.record_start(conn, cluster, "exec")
    try:
        job_id = state.next_job_id(conn, cluster, name, entry)
        spec = run_spec(task, record, job_id, name)
        spec.allow_private = allow_private
        if record.workdir:
            spec.remote_cwd = ac.workdir_of(cluster)
        try:
            if spec.container is not None and spec.local_mounts:
                raise UsageError(f"cluster {cluster!r} runs its tasks in container "
                                 f"{spec.container.image}, which `exec` cannot add file mounts "
                                 f"to ({', '.join(sorted(spec.local_mounts))})",
                                 hint="declare them in the task given to `stix up`")
            # The agent is there since `up`; exec skips re-uploading it (latency).
            await launch.prepare(transports, addresses, spec, printer, setup=False,
                                 upload_agent=False, new_container=False, say=say)
            await launch.start_run(transports, addresses, spec)
        except BaseException as exc:
            state.update_job(conn, cluster, job_id, JobState.FAILED, reason=str(exc)[:500])
            state.record_end(conn, entry, OpStatus.FAILED, str(exc)[:2000])
            raise
        state.update_job(conn, cluster, job_id, JobState.RUNNING)
        state.record_end(conn, entry, OpStatus.SUCCEEDED, f"job {job_id}")
        submitted.append(job_id)
        say(f"job {job_id} submitted")
        if detach_run:
            return ExecResult(cluster, job_id, None)
        outcome = await launch.follow(transports, job_id, printer)
        state.update_job(conn, cluster, job_id, outcome.status, outcome.exit_codes())
        return ExecResult(cluster, job_id, outcome)
    finally:
        await _close(transports)


def _merge(states: list[str]) -> JobState:
    if any(s in ACTIVE for s in states):
        return JobState.RUNNING if JobState.RUNNING in states else JobState.PENDING
    for s in (JobState.FAILED, JobState.UNKNOWN, JobState.CANCELLED):
        if s in states:
            return s
    return JobState.SUCCEEDED if states else JobState.UNKNOWN


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def queue(cluster: str) -> list[dict[str, Any]]:
    """Every job of the cluster as the nodes report it (merged), newest last; the state DB
    is updated on the way, and answers for nodes that cannot be reached."""
    return asyncio.run(_queue(cluster))


async def _ask_status(address: NodeAddress) -> list[ac.JobStatus] | StixError:
    from stix.remote import fanout
    from stix.remote.transport import connect

    try:
        t = await connect(address, CONNECT_TIMEOUT)
    except StixError as exc:
        return exc
    try:
        return await fanout.ask(t, ac.status(), ac.parse_status)
    except StixError as exc:
        return exc
    finally:
        await t.close()


async def _queue(cluster: str) -> list[dict[str, Any]]:
    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    state.reconcile(conn, cluster)
    addresses = record.nodes
    answers = await asyncio.gather(*(_ask_status(a) for a in addresses))
    known = {j.id: j for j in state.list_jobs(conn, cluster)}
    from stix.remote.fanout import SETUP_PREFIX

    per_job: dict[str, dict[str, ac.JobStatus]] = {}
    for a, answer in zip(addresses, answers, strict=True):
        if not isinstance(answer, StixError):
            for job in answer:
                if not job.job_id.startswith(SETUP_PREFIX):  # stix's own, not the user's
                    per_job.setdefault(job.job_id, {})[a.name] = job
    unreachable = [a.name for a, ans in zip(addresses, answers, strict=True)
                   if isinstance(ans, StixError)]
    rows = []
    for job_id in sorted(set(per_job) | set(known), key=lambda i: (len(i), i)):
        nodes = per_job.get(job_id, {})
        statuses: list[str] = []
        for a, answer in zip(addresses, answers, strict=True):
            if a.name in nodes:
                statuses.append(nodes[a.name].status)
            elif isinstance(answer, StixError):
                statuses.append(JobState.UNKNOWN)
        db = known.get(job_id)
        merged = _merge(statuses) if statuses else (db.status if db else JobState.UNKNOWN)
        codes = {n: j.exit_code for n, j in nodes.items()}
        if db is not None and nodes and db.status != merged:
            state.update_job(conn, cluster, job_id, merged, codes)
        first = next(iter(nodes.values()), None)
        ended = [j.ended_at for j in nodes.values() if j.ended_at is not None]
        rows.append({"job_id": job_id,
                     "name": (first.name if first else None) or (db.name if db else None),
                     "status": JobState(merged).value,
                     "submitted_at": _iso(first.submitted_at) if first else None,
                     "started_at": _iso(first.started_at) if first else None,
                     "ended_at": _iso(max(ended)) if ended else None,
                     "exit_codes": codes, "unreachable": unreachable,
                     "reason": (db.reason if db else None)})
    return rows


def _latest_job(conn: Any, cluster: str) -> str:
    jobs = state.list_jobs(conn, cluster)
    if not jobs:
        raise NotFoundError(f"cluster {cluster!r} has no jobs yet")
    return jobs[-1].id


def logs(cluster: str, job_id: str | None = None, *, follow: bool = False,
         node: int | None = None, printer: LinePrinter | None = None) -> JobOutcome:
    """Print a job's log (the latest job by default) from every node, or one; with
    `follow`, until the job ends, re-attaching after a dropped connection. A node that
    cannot be reached is reported as LOST while the others' logs are shown."""
    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    state.reconcile(conn, cluster)
    job_id = job_id or _latest_job(conn, cluster)
    if state.get_job(conn, cluster, job_id) is None:
        known = [j.id for j in state.list_jobs(conn, cluster)]
        raise NotFoundError(f"cluster {cluster!r} has no job {job_id!r}",
                            hint=f"its jobs: {', '.join(known)}" if known else "it has no jobs")
    addresses = _pick(record, node)
    printer = printer or LinePrinter(prefix=len(addresses) > 1)
    outcome = asyncio.run(_logs(addresses, job_id, follow, printer))
    if outcome.status in ac.TERMINAL:
        state.update_job(conn, cluster, job_id, outcome.status, outcome.exit_codes())
    return outcome


async def _logs(addresses: list[NodeAddress], job_id: str, follow: bool,
                printer: LinePrinter) -> JobOutcome:
    from stix.remote import launch
    from stix.remote.fanout import NodeOutcome
    from stix.remote.transport import connect

    async def reach(a: NodeAddress) -> NodeTransport | StixError:
        try:
            return await connect(a, CONNECT_TIMEOUT)
        except StixError as exc:
            return exc

    reached = await asyncio.gather(*(reach(a) for a in addresses))
    transports = [r for r in reached if not isinstance(r, StixError)]
    try:
        outcome = await launch.follow(transports, job_id, printer, follow=follow)
    finally:
        await _close(transports)
    lost = {a.name: NodeOutcome(f"{a.name}, {a.ip}", JobState.LOST, reason=str(r))
            for a, r in zip(addresses, reached, strict=True) if isinstance(r, StixError)}
    by_name = iter(outcome.nodes)
    outcome.nodes = [lost[a.name] if a.name in lost else next(by_name) for a in addresses]
    return outcome


def cancel(cluster: str, job_ids: list[str] | None = None, *, all_jobs: bool = False,
           grace: float = 10) -> dict[str, list[str]]:
    """Cancel jobs on every node; {"cancelled": [...], "already_done": [...]}."""
    if bool(job_ids) == all_jobs:
        raise UsageError("give job_ids or all_jobs=True (--all), one of them")
    return asyncio.run(_cancel(cluster, job_ids if not all_jobs else None, grace))


def _ids(values: set[str]) -> list[str]:
    return sorted(values, key=lambda i: (len(i), i))


async def _cancel(cluster: str, ids: list[str] | None, grace: float) -> dict[str, list[str]]:
    from stix.remote import fanout

    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    transports = await _open(record.nodes)
    try:
        answers = await fanout.cancel_jobs(transports, ids, grace)
    finally:
        await _close(transports)
    errors = [str(a) for a in answers if isinstance(a, BaseException)]
    if errors:
        raise StixError("cancel failed:\n" + "\n".join(f"  {e}" for e in errors))
    replies = [a for a in answers if isinstance(a, ac.CancelReply)]
    cancelled = _ids({str(i) for a in replies for i in a.cancelled})
    done = _ids({str(i) for a in replies for i in a.already_done} - set(cancelled))
    for job_id in cancelled:
        state.update_job(conn, cluster, job_id, JobState.CANCELLED)
    return {"cancelled": cancelled, "already_done": done}


def autostop(cluster: str, idle_minutes: float | None = None, *, down: bool = False,
             cancel: bool = False, wait_for: str | None = None) -> dict[str, Any]:
    """Set (or with `cancel`, clear) the cluster's idle auto-stop. Cloud nodes check it every
    minute (cloud-init's cron) and stop or terminate themselves; existing machines act only
    where their provider has an idle action (a local cluster is torn down, `down` only).
    `wait_for`: what counts as activity (jobs_and_ssh, jobs, none; default the task's)."""
    from stix.clouds import registry

    conn = state.connect()
    record = state.require_cluster(conn, cluster)
    if not cancel and idle_minutes is None:
        raise UsageError("give idle_minutes (-i/--idle-minutes MIN), or cancel (--cancel)")
    if wait_for is not None and wait_for not in ac.WAIT_FOR:
        raise UsageError(f"wait_for (--wait-for) must be one of {', '.join(ac.WAIT_FOR)}, "
                         f"not {wait_for!r}")
    provider = registry.get(record.provider)
    if record.has_stack:
        modes = provider.capabilities.autostop
        wanted = "down" if down else "stop"
        if not cancel and wanted not in modes:
            raise StixError(f"cluster {cluster!r} on {record.provider}: its nodes cannot "
                            f"{wanted} themselves when idle"
                            + (f" (they can: {', '.join(modes)})" if modes else ""))
        problem = None if cancel else registry.cloud(record.provider).autostop_problem(
            record.placement, down)
        if problem is not None:
            raise StixError(f"cluster {cluster!r}: {problem}",
                            hint="set it in the task (resources.autostop: {idle_minutes: N"
                                 f"{', down: true' if down else ''}}}) and run `stix up`")
        answer = asyncio.run(_autostop_cloud(record, idle_minutes, down, cancel, wait_for))
        record.autostop = None if cancel else {
            "idle_minutes": idle_minutes, "down": down,
            "wait_for": wait_for or record.placement.autostop_wait_for or "jobs_and_ssh"}
        state.put_cluster(conn, record)
        return answer
    machines = registry.machines(record.provider)
    action = machines.idle_action(record.name, down)
    if not cancel and action is None:
        if machines.idle_action(record.name, True) is not None:
            raise UsageError(f"a {record.provider} cluster cannot stop its machines; use "
                             "down=True (--down) to tear the cluster down when idle")
        raise StixError(f"cluster {cluster!r} runs on your own {record.provider} machines: "
                        "stix does not stop or tear down those on idle")
    return asyncio.run(_autostop_watched(conn, record, idle_minutes, action, cancel))


async def _autostop_watched(conn: Any, record: ClusterRecord, minutes: float | None,
                            action: str | None, cancel: bool) -> dict[str, Any]:
    """Machines without cron: the head's agent keeps the setting, a detached watcher
    checks it (and runs `action`, a stix command on this machine)."""
    from stix.remote import fanout

    transports = await _open(record.nodes[:1])
    t = transports[0]
    try:
        if cancel:
            return vars(await fanout.ask(t, ac.autostop_disable(), ac.parse_autostop))
        assert minutes is not None and action is not None
        await fanout.upload_agent([t])
        # These machines are shared with other work: only the cluster's jobs count.
        answer = await fanout.ask(t, ac.autostop_set(minutes, action=action, wait_for="jobs"),
                                  ac.parse_autostop)
        watcher = await fanout.ask(t, ac.autostop_watch(interval=30), ac.parse_watch)
        record.autostop_watcher_pid = watcher.pid
        state.put_cluster(conn, record)
        return vars(answer)
    finally:
        await _close(transports)


async def _autostop_cloud(record: ClusterRecord, minutes: float | None, down: bool,
                          cancel: bool, wait_for: str | None) -> dict[str, Any]:
    """Every node saves the setting; its own cron check acts on it (no watcher here)."""
    from stix.remote import fanout
    from stix.remote.cloudinit import autostop_args

    transports = await _open(record.nodes)
    try:
        if cancel:
            cmd = ac.autostop_disable()
        else:
            assert minutes is not None
            cmd = ac.AgentCommand(tuple(autostop_args(record.placement, minutes, down,
                                                      wait_for)))
        answers = await asyncio.gather(*(fanout.ask(t, cmd, ac.parse_autostop)
                                         for t in transports))
        return vars(answers[0])
    finally:
        await _close(transports)


def autostop_left(cluster: str) -> float | None:
    """Seconds until the head node's autostop acts (None: a job or SSH session keeps it
    busy; -1: not known, e.g. the node does not answer)."""
    record = state.require_cluster(state.connect(), cluster)
    if not record.autostop or record.status != ClusterStatus.UP or not record.nodes:
        return -1.0

    async def ask() -> float | None:
        from stix.remote import fanout

        transports = await _open(record.nodes[:1])
        try:
            reply = await fanout.ask(transports[0], ac.autostop_show(), ac.parse_autostop)
        finally:
            await _close(transports)
        return reply.seconds_left if reply.enabled else -1.0

    try:
        return asyncio.run(ask())
    except StixError:
        return -1.0


def ssh_command(cluster: str, node: int | None = None) -> tuple[list[str], str | None]:
    """(argv, working directory) for an interactive shell on a node (head by default)."""
    from stix.remote import container
    from stix.remote.transport import LocalTransport, SshTransport

    record = state.require_cluster(state.connect(), cluster)
    address = _pick(record, node or 0)[0]
    box = container.for_placement(record.placement, [])
    if box is not None:  # SkyPilot's `ssh` into a docker cluster lands in the container
        inside = container.shell_command(box, ac.workdir_of(cluster) if record.workdir
                                         else None)
        if address.local_home:
            return (["env", f"STIX_NODE_HOME={address.local_home}", "bash", "-c", inside],
                    address.local_home)
        argv = SshTransport(address, None).interactive_argv()
        return [*argv[:-1], "-t", argv[-1], inside], None
    if address.local_home:
        return LocalTransport(address).interactive_argv(), address.local_home
    return SshTransport(address, None).interactive_argv(), None
