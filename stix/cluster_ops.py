"""Cluster lifecycle on machines stix does not provision (`local`, `ssh`): up, down, status.

Each operation holds the cluster's lock in the state DB only while it changes the cluster
(allocation, sync, setup, submit; or teardown); following a job's logs happens outside it,
so `stix down` from another terminal is never blocked by a terminal showing logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stix import state
from stix.errors import StixError, UsageError
from stix.placement import Placement
from stix.remote.fanout import JobOutcome, LinePrinter
from stix.remote.transport import NodeAddress, NodeTransport

if TYPE_CHECKING:
    from stix.task import Task

Say = Callable[[str], None]
NODE_PROVIDERS = ("local", "ssh")
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
NODE_WAIT_TIMEOUT = 300.0
DOWN_CONNECT_TIMEOUT = 15.0
CLEANUP = "rm -rf .stix/agent .stix/agent.py .stix/tmp stix_workdir"


def _quiet(_: str) -> None:
    return None


@dataclass
class UpResult:
    cluster: str
    created: bool
    job_id: str | None
    outcome: JobOutcome | None  # None when the run was detached or the task has no run

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code if self.outcome else 0


def check_cluster_name(name: str) -> str:
    if not CLUSTER_NAME.match(name):
        raise UsageError(f"cluster name {name!r}: use letters, digits, '-' and '_' "
                         "(start with a letter or digit, at most 63)")
    return name


def default_cluster_name(task: Task) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", task.name or "").strip("-_")[:40]
    return base or f"stix-{os.urandom(3).hex()}"


def addresses_of(record: state.ClusterRecord) -> list[NodeAddress]:
    return [NodeAddress.from_dict(n) for n in record.nodes]


def node_provider(name: str) -> object:
    from stix import providers
    from stix.providers.existing import ExistingMachines

    provider = providers.get(name)
    if not isinstance(provider, ExistingMachines):
        raise StixError(f"provider {name!r} provisions machines: cloud provisioning is not "
                        "available in this stix build yet")
    return provider


def _write_ssh_config(conn: sqlite3.Connection) -> None:
    from stix.remote import sshconfig

    sshconfig.write((c.name, addresses_of(c)) for c in state.list_clusters(conn))


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


def run_spec(task: Task, cluster: str, job_id: str, placement: dict[str, object],
             name: str | None = None) -> object:
    from stix.remote.launch import RunSpec

    workdir = None
    if isinstance(task.workdir, str):
        workdir = Path(task.workdir).expanduser().resolve()
        if not workdir.is_dir():
            raise StixError(f"workdir {task.workdir!r}: no such directory")
    elif task.workdir is not None:
        raise StixError("workdir: a git workdir is not supported on local/ssh clusters yet")
    acc = placement.get("accelerator")
    gpus = float(acc.get("count", 0)) if isinstance(acc, dict) else 0.0
    return RunSpec(
        cluster=cluster, job_id=job_id, name=name or task.name or "job", run=task.run,
        setup=task.setup, envs={k: v for k, v in task.envs.items() if v is not None},
        secrets={k: v for k, v in task.secrets.items() if v is not None}, workdir=workdir,
        local_mounts=task.local_mounts(), gpus_per_node=gpus,
        cluster_info={k: placement.get(k) for k in ("cloud", "region", "zone")})


def up(task_file: str | Path, *, cluster: str | None = None,
       env: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
       detach_run: bool = False, printer: LinePrinter | None = None,
       say: Say = _quiet, engine: str | None = None, infra_only: bool = False,
       confirm: Callable[[str], bool] | None = None,
       on_event: Callable[[Any], None] | None = None) -> UpResult:
    """Load the task, place it (existing machines, or a cloud through the engine), and run
    the node phase."""
    from stix.task import load_task

    task = resolve_secrets(load_task(task_file, env), secrets or {})
    name = check_cluster_name(cluster or default_cluster_name(task))
    if _on_existing_machines(task, name):
        return asyncio.run(_up(task, name, detach_run, printer, say))
    return _up_cloud(task, name, detach_run=detach_run, printer=printer, say=say,
                     engine=engine, infra_only=infra_only, confirm=confirm, on_event=on_event)


def _on_existing_machines(task: Task, cluster: str) -> bool:
    record = state.get_cluster(state.connect(), cluster)
    if record is not None:
        return record.provider in NODE_PROVIDERS
    clouds = {c.cloud for c in task.resources.candidates()}
    return bool(clouds) and clouds <= set(NODE_PROVIDERS)


def _up_cloud(task: Task, cluster: str, *, detach_run: bool, printer: LinePrinter | None,
              say: Say, engine: str | None, infra_only: bool,
              confirm: Callable[[str], bool] | None,
              on_event: Callable[[Any], None] | None) -> UpResult:
    """Provision through the engine under the cluster lock, then the shared node phase; the
    lock is released before following logs, as on existing machines."""
    from stix import provision

    conn = state.connect()
    with contextlib.ExitStack() as held:
        held.enter_context(state.cluster_lock(conn, cluster, "up"))
        created = state.get_cluster(conn, cluster) is None
        result = provision.provision(task, cluster, engine_name=engine, confirm=confirm,
                                     on_event=on_event, say=say, conn=conn)
        record = result.record
        _write_ssh_config(conn)
        if infra_only:
            return UpResult(cluster, created, None, None)
        if record.provider == "kubernetes":
            ns = record.extra.get("outputs", {}).get("namespace", cluster)
            say(f"pods are up: kubectl -n {ns} get pods; running setup/run inside pods "
                "(over kubectl exec) is not available in this stix build yet")
            return UpResult(cluster, created, None, None)
        lock = held.pop_all()

    async def node_phase() -> UpResult:
        nonlocal printer
        printer = printer or LinePrinter(prefix=len(record.nodes) > 1)
        with lock:
            transports, job_id = await start_on_nodes(conn, record, task, printer, say)
        outcome = await finish_on_nodes(conn, record, transports, job_id, detach_run, printer)
        return UpResult(cluster, created, job_id, outcome)

    return asyncio.run(node_phase())


def _placement(task: Task, cluster: str) -> tuple[object, Placement]:
    candidates = task.resources.candidates()
    clouds = {c.cloud for c in candidates}
    if len(candidates) != 1 or not clouds <= set(NODE_PROVIDERS):
        wanted = ", ".join(sorted(str(c) for c in clouds)) or "any cloud"
        raise StixError(f"the task needs {wanted}: cloud provisioning is not available in this "
                        "stix build yet; run it with `infra: local` or `infra: ssh/<pool>`")
    provider = node_provider(candidates[0].cloud or "")
    from stix.providers.existing import ExistingMachines

    assert isinstance(provider, ExistingMachines)
    return provider, provider.placement(task, cluster, candidates[0])


async def _up(task: Task, cluster: str, detach_run: bool,
              printer: LinePrinter | None, say: Say) -> UpResult:
    from stix.providers.existing import ExistingMachines

    conn = state.connect()
    with state.cluster_lock(conn, cluster, "up"):
        record = state.get_cluster(conn, cluster)
        created = record is None
        if record is None:
            provider, placement = _placement(task, cluster)
            assert isinstance(provider, ExistingMachines)
            with state.transaction(conn):
                nodes = provider.allocate(conn, placement)
                now = time.time()
                record = state.ClusterRecord(
                    cluster, placement.cloud, placement.model_dump(mode="json"), "INIT", now,
                    now, placement.total_hourly_price, [n.to_dict() for n in nodes])
                state.put_cluster(conn, record)
            _write_ssh_config(conn)
            say(f"cluster {cluster}: {len(nodes)} node(s) on {placement.cloud}"
                f"{'/' + placement.region if placement.cloud == 'ssh' else ''}")
        elif task.num_nodes != len(record.nodes):
            raise StixError(f"cluster {cluster!r} has {len(record.nodes)} node(s) but the task "
                            f"wants {task.num_nodes}", hint=f"`stix down {cluster}` first")
        printer = printer or LinePrinter(prefix=len(record.nodes) > 1)
        transports, job_id = await start_on_nodes(conn, record, task, printer, say)
    outcome = await finish_on_nodes(conn, record, transports, job_id, detach_run, printer)
    return UpResult(cluster, created, job_id, outcome)


async def start_on_nodes(conn: sqlite3.Connection, record: state.ClusterRecord, task: Task,
                         printer: LinePrinter, say: Say) -> tuple[list[NodeTransport], str | None]:
    """The node phase under the cluster lock: connect, agent, sync, setup, submit `run`.
    Shared by every provider once its machines exist and `record.nodes` lists them."""
    from stix.remote import launch

    addresses = addresses_of(record)
    setup_hash = hashlib.sha256((task.setup or "").encode()).hexdigest()[:16]
    if task.setup and record.extra.get("setup_hash") == setup_hash:
        say("setup unchanged since the last run; skipped")
        task = task.model_copy(update={"setup": None})
    entry = state.record_start(conn, record.name, "up")
    transports: list[NodeTransport] = []
    job_id: str | None = None
    try:
        transports = await launch.connect_nodes(addresses, NODE_WAIT_TIMEOUT)
        job_id = state.next_job_id(conn, record.name, task.name) if task.run else None
        spec = run_spec(task, record.name, job_id or "0", record.placement)
        assert isinstance(spec, launch.RunSpec)
        await launch.prepare(transports, addresses, spec, printer, say=say)
        record.status = "UP"
        record.extra["setup_hash"] = setup_hash
        if spec.workdir is not None:
            record.extra["workdir"] = True  # later `exec -- CMD` runs in it
        state.put_cluster(conn, record)
        if job_id is not None:
            await launch.start_run(transports, addresses, spec)
            state.update_job(conn, record.name, job_id, "RUNNING")
            say(f"job {job_id} submitted")
    except BaseException as exc:
        state.record_end(conn, entry, "FAILED", str(exc)[:2000])
        if job_id is not None:
            state.update_job(conn, record.name, job_id, "FAILED")
        await launch.close_all(transports)
        raise
    state.record_end(conn, entry, "SUCCEEDED")
    return transports, job_id


async def finish_on_nodes(conn: sqlite3.Connection, record: state.ClusterRecord,
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


def status(cluster: str | None = None) -> list[state.ClusterRecord]:
    conn = state.connect()
    if cluster is not None:
        return [state.require_cluster(conn, cluster)]
    return state.list_clusters(conn)


def down(cluster: str, *, say: Say = _quiet, purge: bool = False,
         on_event: Callable[[Any], None] | None = None) -> bool:
    """Cancel jobs, clean the nodes, release the machines (or destroy the cluster's stack),
    forget the cluster. False when there was no such cluster (already down is not an
    error)."""
    conn = state.connect()
    existing = state.get_cluster(conn, cluster)
    if existing is None:
        return False
    if existing.extra.get("engine"):
        from stix import provision

        return provision.destroy(cluster, purge=purge, on_event=on_event, say=say)
    with state.cluster_lock(conn, cluster, "down"):
        record = state.get_cluster(conn, cluster)
        if record is None:
            return False
        entry = state.record_start(conn, cluster, "down")
        try:
            asyncio.run(_clean_nodes(record, say))
            _stop_watcher(record)
            provider = node_provider(record.provider)
            from stix.providers.existing import ExistingMachines

            assert isinstance(provider, ExistingMachines)
            provider.release(addresses_of(record))
            state.delete_cluster(conn, cluster)
            _write_ssh_config(conn)
        except BaseException as exc:
            state.record_end(conn, entry, "FAILED", str(exc)[:2000])
            raise
        state.record_end(conn, entry, "SUCCEEDED")
    return True


async def _clean_nodes(record: state.ClusterRecord, say: Say) -> None:
    from stix.remote import fanout
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
                await t.run(CLEANUP)
        finally:
            await t.close()

    await asyncio.gather(*(one(a) for a in addresses_of(record)))


def _stop_watcher(record: state.ClusterRecord) -> None:
    """Stop the local autostop watcher of this cluster, if one runs (checked by cmdline)."""
    pid = record.extra.get("autostop_watcher_pid")
    if not isinstance(pid, int):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    homes = [n.get("local_home") for n in record.nodes]
    if b"autostop" in cmdline and any(h and h.encode() in cmdline for h in homes):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
