"""The node phase every provider shares once its machines exist and the record lists them:
connect, agent, sync, setup, submit `run`; then follow the job (outside the lock)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from stix import state
from stix.errors import StixError, UsageError
from stix.remote.fanout import JobOutcome, LinePrinter
from stix.remote.transport import NodeAddress, NodeTransport
from stix.say import Say
from stix.state import ClusterRecord, ClusterStatus, JobState, OpStatus

if TYPE_CHECKING:
    from stix.remote.launch import RunSpec
    from stix.task import Task

NODE_WAIT_TIMEOUT = 300.0
DOWN_CONNECT_TIMEOUT = 15.0


def write_ssh_config(conn: sqlite3.Connection) -> None:
    from stix.remote import sshconfig

    sshconfig.write((c.name, c.nodes) for c in state.list_clusters(conn))


def resolve_secrets(task: Task, given: dict[str, str]) -> Task:
    """Task with --env/--secret values applied; every null one must have been supplied."""
    from stix.task.loader import MAX_ENV_ENTRY, has_control

    for key, value in given.items():
        if has_control(value) or len(key) + len(value.encode()) + 2 > MAX_ENV_ENTRY:
            raise UsageError(f"secret {key}: the value holds a control character or is "
                             f"over {MAX_ENV_ENTRY} bytes")
    unknown = sorted(set(given) - set(task.secrets))
    secrets = {**task.secrets, **given}
    task = task.model_copy(update={"secrets": secrets})
    missing = task.missing_envs()
    if missing:
        raise UsageError(f"the task needs values for {', '.join(missing)}",
                         hint="give them as envs/secrets (CLI: --env KEY=VALUE, "
                              "--secret KEY[=VALUE])")
    if unknown:
        raise UsageError(f"secret {', '.join(unknown)}: not declared under the task's secrets")
    return task


def run_spec(task: Task, record: ClusterRecord, job_id: str,
             name: str | None = None, task_id: str = "") -> RunSpec:
    from stix.remote.launch import RunSpec

    workdir = None
    if isinstance(task.workdir, str):
        workdir = Path(task.workdir).expanduser().resolve()
        if not workdir.is_dir():
            raise StixError(f"workdir {task.workdir!r}: no such directory")
    git = task.workdir if task.workdir is not None and not isinstance(task.workdir, str) else None
    p = record.placement
    from stix.remote import agent_client, container

    binds = [agent_client.workdir_of(record.name), *task.local_mounts(),
             *(b.mount_path for b in p.buckets)]
    return RunSpec(
        cluster=record.name, job_id=job_id, name=name or task.name or "job", run=task.run,
        setup=task.setup, envs={k: v for k, v in task.envs.items() if v is not None},
        secrets={k: v for k, v in task.secrets.items() if v is not None}, workdir=workdir,
        local_mounts=task.local_mounts(), gpus_per_node=p.gpus_per_node,
        cluster_info={"cloud": p.cloud, "region": p.region, "zone": p.zone}, task_id=task_id,
        git_url=git.url if git else None, git_ref=git.ref if git else None,
        container=container.for_placement(p, binds))


def setup_hash(spec: RunSpec, record: ClusterRecord) -> str:
    """What a setup run depends on: its script, envs, secrets (by digest), the files synced
    with it (paths, sizes and modification times, as rsync's quick check), the image and
    the node set. Any change re-runs setup."""
    h = hashlib.sha256()

    def part(*values: object) -> None:
        for value in values:
            h.update(str(value).encode() + b"\0")

    part("setup", spec.setup or "")
    part("git", spec.git_url or "", spec.git_ref or "")
    for section in (spec.envs, spec.secrets):
        for key, value in sorted(section.items()):
            part(key, hashlib.sha256(value.encode()).hexdigest())
    trees = [("workdir", spec.workdir)] if spec.workdir is not None else []
    trees += [(target, Path(source).expanduser())
              for target, source in sorted(spec.local_mounts.items())]
    for target, root in trees:
        part("files", target, *_listing(root))
    part("image", record.placement.image_id or "")
    part("nodes", *(f"{n.name}@{n.host}:{n.port}" for n in record.nodes))
    return h.hexdigest()[:16]


def _listing(root: Path) -> list[str]:
    from stix.remote.sync import collect

    try:
        if root.is_file():
            st = root.stat()
            return [f"{root.name}:{st.st_size}:{st.st_mtime_ns}"]
        fileset = collect(root)
        out = []
        for rel in fileset.files:
            st = (root / rel).lstat()
            out.append(f"{rel}:{st.st_size}:{st.st_mtime_ns}")
        return out
    except OSError:
        return ["unreadable"]


async def start_on_nodes(conn: sqlite3.Connection, record: ClusterRecord, task: Task,
                         printer: LinePrinter, say: Say, *, allow_private: bool = False,
                         task_id: str = "") -> tuple[list[NodeTransport], str | None]:
    """Under the cluster lock: connect, agent, sync, setup, submit `run`. `task_id`: the
    STIX_TASK_ID the run sees (default: one per cluster and job; managed jobs keep one
    across attempts)."""
    from stix.remote import launch

    addresses = record.nodes
    state.reconcile(conn, record.name)
    entry = state.record_start(conn, record.name, "up")
    transports: list[NodeTransport] = []
    job_id: str | None = None
    try:
        digest = setup_hash(run_spec(task, record, "0"), record)
        skip_setup = bool(task.setup) and record.setup_hash == digest
        if skip_setup:
            say("setup and what it depends on are unchanged since the last run; skipped")
        transports = await launch.connect_nodes(addresses, NODE_WAIT_TIMEOUT)
        from stix.remote import keyed

        await keyed.setup(transports, record.placement, say, task=task,  # what cloud-init
                          allow_private=allow_private)  # cannot: buckets with keys
        job_id = state.next_job_id(conn, record.name, task.name, entry) if task.run else None
        spec = run_spec(task, record, job_id or "0", task_id=task_id)
        spec.allow_private = allow_private
        await launch.prepare(transports, addresses, spec, printer, setup=not skip_setup, say=say)
        record.status = ClusterStatus.UP
        record.setup_hash = digest
        if spec.workdir is not None:
            record.workdir = True
        state.put_cluster(conn, record)
        if job_id is not None:
            await launch.start_run(transports, addresses, spec)
            state.update_job(conn, record.name, job_id, JobState.RUNNING)
            say(f"job {job_id} submitted")
    except BaseException as exc:
        state.record_end(conn, entry, OpStatus.FAILED, str(exc)[:2000])
        if job_id is not None:
            state.update_job(conn, record.name, job_id, JobState.FAILED)
        await launch.close_all(transports)
        raise
    state.record_end(conn, entry, OpStatus.SUCCEEDED)
    return transports, job_id


async def finish_on_nodes(conn: sqlite3.Connection, record: ClusterRecord,
                          transports: list[NodeTransport], job_id: str | None,
                          detach_run: bool, printer: LinePrinter) -> JobOutcome | None:
    """Follow the job's logs (outside the lock) unless detached; close the connections."""
    from stix.remote import launch

    outcome = None
    try:
        if job_id is not None and not detach_run:
            outcome = await launch.follow(transports, job_id, printer)
            state.update_job(conn, record.name, job_id, outcome.status, outcome.exit_codes())
    finally:
        await launch.close_all(transports)
    return outcome


async def clean_nodes(record: ClusterRecord, say: Say) -> None:
    """Cancel the cluster's jobs and remove stix's files from every node that answers."""
    from stix.remote import agent_client, container, fanout, hostsfile
    from stix.remote.transport import connect

    box = container.for_placement(record.placement, [])

    async def one(address: NodeAddress) -> None:
        try:
            t: NodeTransport = await connect(address, DOWN_CONNECT_TIMEOUT)
        except StixError as exc:
            say(f"{exc}; its files stay on the machine")
            return
        try:
            await fanout.cancel_jobs([t], None, grace=5)
            if box is not None:
                await t.run(container.remove_command(box))
            if not address.local_home:
                await t.run(agent_client.cleanup(record.name))
                await t.run(hostsfile.block_script(record.name, []))  # a job group's names
        finally:
            await t.close()

    await asyncio.gather(*(one(a) for a in record.nodes))
