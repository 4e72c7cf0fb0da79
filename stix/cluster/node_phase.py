"""The node phase every provider shares once its machines exist and the record lists them:
connect, agent, sync, setup, submit `run`; then follow the job (outside the lock)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stix import state
from stix.errors import StixError, UsageError
from stix.remote.fanout import JobOutcome, LinePrinter
from stix.remote.transport import NodeAddress, NodeTransport
from stix.state import ClusterRecord, ClusterStatus, JobState, OpStatus

if TYPE_CHECKING:
    from stix.remote.launch import RunSpec
    from stix.task import Task

Say = Callable[[str], None]
NODE_WAIT_TIMEOUT = 300.0
DOWN_CONNECT_TIMEOUT = 15.0


def write_ssh_config(conn: sqlite3.Connection) -> None:
    from stix.remote import sshconfig

    sshconfig.write((c.name, c.nodes) for c in state.list_clusters(conn))


def resolve_secrets(task: Task, given: dict[str, str]) -> Task:
    """Task with --env/--secret values applied; every null one must have been supplied."""
    unknown = sorted(set(given) - set(task.secrets))
    secrets = {**task.secrets, **given}
    task = task.model_copy(update={"secrets": secrets})
    missing = task.missing_envs()
    if missing:
        raise UsageError(f"the task needs values for {', '.join(missing)}",
                         hint="pass them with --env KEY=VALUE or --secret KEY[=VALUE]")
    if unknown:
        raise UsageError(f"--secret {', '.join(unknown)}: not declared under the task's secrets")
    return task


def run_spec(task: Task, record: ClusterRecord, job_id: str,
             name: str | None = None) -> RunSpec:
    from stix.remote.launch import RunSpec

    workdir = None
    if isinstance(task.workdir, str):
        workdir = Path(task.workdir).expanduser().resolve()
        if not workdir.is_dir():
            raise StixError(f"workdir {task.workdir!r}: no such directory")
    elif task.workdir is not None:
        raise StixError("workdir: a git workdir is not supported yet")
    p = record.placement
    return RunSpec(
        cluster=record.name, job_id=job_id, name=name or task.name or "job", run=task.run,
        setup=task.setup, envs={k: v for k, v in task.envs.items() if v is not None},
        secrets={k: v for k, v in task.secrets.items() if v is not None}, workdir=workdir,
        local_mounts=task.local_mounts(), gpus_per_node=p.gpus_per_node,
        cluster_info={"cloud": p.cloud, "region": p.region, "zone": p.zone})


def setup_hash(task: Task) -> str:
    return hashlib.sha256((task.setup or "").encode()).hexdigest()[:16]


async def start_on_nodes(conn: sqlite3.Connection, record: ClusterRecord, task: Task,
                         printer: LinePrinter, say: Say) -> tuple[list[NodeTransport], str | None]:
    """Under the cluster lock: connect, agent, sync, setup, submit `run`."""
    from stix.remote import launch

    addresses = record.nodes
    digest = setup_hash(task)
    if task.setup and record.setup_hash == digest:
        say("setup unchanged since the last run; skipped")
        task = task.model_copy(update={"setup": None})
    entry = state.record_start(conn, record.name, "up")
    transports: list[NodeTransport] = []
    job_id: str | None = None
    try:
        transports = await launch.connect_nodes(addresses, NODE_WAIT_TIMEOUT)
        job_id = state.next_job_id(conn, record.name, task.name) if task.run else None
        spec = run_spec(task, record, job_id or "0")
        await launch.prepare(transports, addresses, spec, printer, say=say)
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
    from stix.remote import agent_client, fanout
    from stix.remote.transport import connect

    async def one(address: NodeAddress) -> None:
        try:
            t: NodeTransport = await connect(address, DOWN_CONNECT_TIMEOUT)
        except StixError as exc:
            say(f"{exc}; its files stay on the machine")
            return
        try:
            await fanout.cancel_jobs([t], None, grace=5)
            if not address.local_home:
                await t.run(agent_client.CLEANUP)
        finally:
            await t.close()

    await asyncio.gather(*(one(a) for a in record.nodes))
