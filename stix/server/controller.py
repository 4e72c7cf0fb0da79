"""The managed-jobs controller: a loop in the server that moves every unfinished job along,
reading and writing only the database, so a server that restarts picks every job up where
it was — a running one is watched again, never launched twice.

Each step of a job runs in a worker thread (provisioning and teardown block for minutes);
at most one step per job at a time, and at most `max_concurrent_launches` provisionings.
Each attempt's cluster goes through the same path as `stix up` (placement, stack, engine
with failover, node phase) in the server's own project, and is torn down when the attempt
ends. A run is watched every `probe_seconds`: its status and new log bytes from every
node. Nodes that stop answering count as lost only after `confirm_loss_seconds`, or at
once when their cloud says the instances are gone.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from stix.errors import StixError
from stix.server import joblogs, store
from stix.server.models import JobStatus
from stix.server.recovery import Policy, after_exit, avoid_after_loss
from stix.server.settings import ServerSettings, server_home
from stix.server.store import Attempt, Job

log = logging.getLogger("stix.server.controller")
TICK_SECONDS = 0.5


class Controller:
    def __init__(self, db: Engine, settings: ServerSettings) -> None:
        self.db = db
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=settings.max_concurrent_launches + 8,
                                       thread_name_prefix="stix-job")
        self.launches = threading.BoundedSemaphore(settings.max_concurrent_launches)
        self.busy: set[int] = set()
        self.launching = 0  # launches under way (each holds a slot of `launches`)
        self.last_probe: dict[int, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        from stix.serve.controller import ServiceController

        self.services = ServiceController(db)  # serving runs beside managed jobs

    # -- the loop ---------------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="stix-controller", daemon=True)
        self.thread.start()
        self.services.start()

    def stop(self) -> None:
        self.services.stop()
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:  # the loop must outlive any one bad step; the step logs it
                log.exception("controller tick failed")
            self.stopping.wait(TICK_SECONDS)

    def tick(self) -> None:
        with self.lock:
            slots = self.settings.max_concurrent_launches - self.launching
        for brief in store.active(self.db):
            with self.lock:
                if brief.id in self.busy:
                    continue
            step = self._step_for(brief)
            if step is None:
                continue
            if step == self._launch:
                if slots <= 0:
                    continue  # stays PENDING, in submission order, for a later tick
                slots -= 1
            with self.lock:
                self.busy.add(brief.id)
            self.pool.submit(self._run_step, step, brief.id)

    def _step_for(self, job: store.Brief) -> Any:
        if job.cancel_requested and job.status != JobStatus.CANCELLING:
            return self._cancel
        if job.status == JobStatus.PENDING:
            if job.provisioning_since is not None and not self._retry_due(job):
                return None
            return self._launch
        if job.status == JobStatus.STARTING:
            return self._resume_start
        if job.status == JobStatus.RUNNING:
            due = self.last_probe.get(job.id, 0.0) + self.settings.probe_seconds
            return self._watch if time.monotonic() >= due else None
        if job.status == JobStatus.RECOVERING:
            return self._recover
        if job.status == JobStatus.CANCELLING:
            return self._cancel
        return None

    def _run_step(self, step: Any, job_id: int) -> None:
        job = store.load(self.db, job_id)
        try:
            if job is None or job.status.terminal:
                return
            step(job)
        except Exception as exc:  # a bug in stix: the job fails with it, the server lives
            assert job is not None
            log.exception("job %s: %s failed", job.id, step.__name__)
            reason = f"controller error in {step.__name__}: {exc}\n{traceback.format_exc()}"
            store.event(self.db, job.id, "error", reason[:4000])
            store.set_job(self.db, job.id, status=JobStatus.FAILED_CONTROLLER,
                          reason=reason[:2000])
            self._teardown_latest(job)
        finally:
            with self.lock:
                self.busy.discard(job_id)

    # -- launching an attempt ---------------------------------------------------------------

    def _retry_due(self, job: store.Brief) -> bool:
        latest = store.latest_attempt(self.db, job.id)
        ended = latest.running_at or latest.started_at if latest else 0.0
        return time.time() >= ended + min(60.0, 5.0 * max(1, job.recoveries + 1))

    def _launch(self, job: Job, attempt: Attempt | None = None) -> None:
        if not self.launches.acquire(blocking=False):
            return  # every launch slot is taken: stays PENDING for a later tick
        with self.lock:
            self.launching += 1
        try:
            self._launch_held(job, attempt)
        finally:
            with self.lock:
                self.launching -= 1
            self.launches.release()

    def _launch_held(self, job: Job, attempt: Attempt | None) -> None:
        from stix.cluster import lifecycle
        from stix.errors import TaskError, UsageError
        from stix.optimizer import NothingFitsError
        from stix.remote.fanout import JobFailedError

        task = self._task(job)
        if attempt is None:
            attempt = store.new_attempt(self.db, job, cluster_name(job) + "-{n}")
        store.set_job(self.db, job.id, status=JobStatus.STARTING)
        say = joblogs.say_into(joblogs.provision_log(job.id, attempt.number))
        say(f"attempt {attempt.number}: launching {attempt.cluster}")
        avoid = self._avoid(job, task)
        if avoid:
            say(f"avoiding {', '.join(avoid)} (lost by an earlier attempt)")
        env = {"STIX_JOB_ID": str(job.id), "STIX_JOB_ATTEMPT": str(attempt.number)}
        task = task.model_copy(update={"envs": {**task.envs, **env}})
        try:
            result = lifecycle.up_task(
                task, cluster=attempt.cluster, secrets=job.secrets, detach_run=True,
                say=say, printer=file_printer(joblogs.provision_log(job.id, attempt.number)),
                allow_private_mounts=job.spec.allow_private_mounts, avoid=avoid,
                project=server_project(), task_id=task_id(job))
        except (TaskError, UsageError, NothingFitsError) as exc:
            self._end_attempt(attempt, "FAILED", str(exc))
            self._teardown(attempt.cluster, say)
            return self._fail(job, JobStatus.FAILED_PRECHECKS, str(exc))
        except JobFailedError as exc:
            self._end_attempt(attempt, "FAILED_SETUP", str(exc))
            self._teardown(attempt.cluster, say)
            return self._fail(job, JobStatus.FAILED_SETUP, str(exc))
        except StixError as exc:
            from stix.remote.transport import NodeUnreachableError

            say(f"provisioning failed: {exc}")
            if isinstance(exc, NodeUnreachableError):  # its hosts are avoided next time
                store.set_attempt(self.db, attempt.id,
                                  placement=where_it_runs(attempt.cluster))
            self._end_attempt(attempt, "LOST" if isinstance(exc, NodeUnreachableError)
                              else "FAILED", f"provisioning failed: {exc}")
            self._teardown(attempt.cluster, say)
            return self._provisioning_failed(job, str(exc))
        placement = where_it_runs(attempt.cluster)
        store.set_attempt(self.db, attempt.id, status="RUNNING", agent_job=result.job_id,
                          placement=placement, running_at=time.time())
        latest = store.load(self.db, job.id)
        if latest is not None and latest.cancel_requested:  # cancelled while it launched
            return self._cancel(latest)
        store.set_job(self.db, job.id, status=JobStatus.RUNNING, provisioning_since=None)
        store.event(self.db, job.id, "running",
                    f"attempt {attempt.number} runs on {describe_where(placement)}")
        if result.job_id is None:  # a task without `run`: nothing to watch
            self._finished(job, store.attempt(self.db, job.id, attempt.number) or attempt, {})

    def _provisioning_failed(self, job: Job, reason: str) -> None:
        since = job.provisioning_since or time.time()
        window = self.settings.provision_retry_minutes * 60
        if time.time() - since >= window:
            tried = [a.cluster for a in _attempts(self.db, job.id)]
            return self._fail(job, JobStatus.FAILED_NO_RESOURCE,
                              f"no placement could be provisioned within "
                              f"{self.settings.provision_retry_minutes:g} min "
                              f"(attempts: {', '.join(tried)}); last: {reason}")
        store.event(self.db, job.id, "retry", f"provisioning failed, retrying: {reason}"[:2000])
        store.set_job(self.db, job.id, status=JobStatus.PENDING, provisioning_since=since)

    def _resume_start(self, job: Job) -> None:
        """A STARTING job whose launch a previous server did not finish: take over what the
        attempt left (its run may already have been submitted), or launch it again."""
        from stix import state

        attempt = store.latest_attempt(self.db, job.id)
        if attempt is None or attempt.status != "STARTING":
            return self._launch(job)
        record = state.get_cluster(state.connect(), attempt.cluster)
        if record is not None and record.status.value == "UP":
            agent_job = _last_agent_job(record)
            if agent_job is not None:
                store.set_attempt(self.db, attempt.id, status="RUNNING", agent_job=agent_job,
                                  placement=where_it_runs(attempt.cluster),
                                  running_at=time.time())
                store.set_job(self.db, job.id, status=JobStatus.RUNNING)
                store.event(self.db, job.id, "resumed",
                            f"attempt {attempt.number}: its run was already submitted")
                return None
        return self._launch(job, attempt)

    # -- watching a run ---------------------------------------------------------------------

    def _watch(self, job: Job) -> None:
        from stix import state
        from stix.server.probe import probe

        self.last_probe[job.id] = time.monotonic()
        attempt = store.latest_attempt(self.db, job.id)
        if attempt is None or attempt.agent_job is None:
            return None
        record = state.get_cluster(state.connect(), attempt.cluster)
        if record is None:
            return self._lost(job, attempt, "its cluster was removed outside the server")
        offsets = {n.name: _size(joblogs.node_log(job.id, attempt.number, n.name))
                   for n in record.nodes}
        seen, new = asyncio.run(probe(record.nodes, attempt.agent_job, offsets))
        for node, data in new.items():
            joblogs.append(joblogs.node_log(job.id, attempt.number, node), data)
        if seen.unreachable:
            return self._unreachable(job, attempt, record, seen.unreachable)
        if attempt.unreachable_since is not None:
            store.set_attempt(self.db, attempt.id, unreachable_since=None)
            store.event(self.db, job.id, "reachable", "every node answers again")
        if not seen.finished:
            return None
        gone = [n.name for n in seen.nodes if n.exit_code is None and n.status != "SUCCEEDED"
                and n.reason and "runner" in n.reason]
        if gone:  # the node rebooted under the run (a host event): a loss, not the code
            return self._lost(job, attempt, f"the run died with its node(s) {', '.join(gone)}")
        return self._finished(job, attempt, seen.exit_codes())

    def _unreachable(self, job: Job, attempt: Attempt, record: Any, nodes: list[str]) -> None:
        now = time.time()
        since = attempt.unreachable_since or now
        if attempt.unreachable_since is None:
            store.set_attempt(self.db, attempt.id, unreachable_since=now)
            store.event(self.db, job.id, "unreachable", f"no answer from {', '.join(nodes)}")
        verdict = _cloud_verdict(record, nodes)
        if verdict is not None:
            return self._lost(job, attempt, verdict)
        if now - since >= self.settings.confirm_loss_seconds:
            return self._lost(job, attempt, f"{', '.join(nodes)} did not answer for "
                                            f"{now - since:.0f} s")
        return None

    def _finished(self, job: Job, attempt: Attempt, codes: dict[str, int | None]) -> None:
        task = self._task(job)
        decision = after_exit(codes, Policy.of_task(task), job.restarts)
        self._end_attempt(attempt, "SUCCEEDED" if decision.outcome == "done" else "FAILED",
                          decision.reason, codes)
        say = joblogs.say_into(joblogs.provision_log(job.id, attempt.number))
        self._teardown(attempt.cluster, say)
        if decision.outcome == "done":
            if job.task_index + 1 < len(job.spec.tasks):
                store.event(self.db, job.id, "next", f"task {job.task_index + 1} done")
                store.set_job(self.db, job.id, task_index=job.task_index + 1,
                              status=JobStatus.PENDING)
                return None
            store.event(self.db, job.id, "succeeded", decision.reason)
            return store.set_job(self.db, job.id, status=JobStatus.SUCCEEDED)
        if decision.outcome == "fail":
            return self._fail(job, JobStatus.FAILED, decision.reason)
        store.event(self.db, job.id, "restart", decision.reason)
        restarts = job.restarts + (1 if decision.outcome == "restart" else 0)
        store.set_job(self.db, job.id, restarts=restarts, status=JobStatus.PENDING)
        return None

    def _lost(self, job: Job, attempt: Attempt, reason: str) -> None:
        store.event(self.db, job.id, "lost", f"attempt {attempt.number}: {reason}; recovering")
        self._end_attempt(attempt, "LOST", reason)
        store.set_job(self.db, job.id, status=JobStatus.RECOVERING,
                      recoveries=job.recoveries + 1)

    def _recover(self, job: Job) -> None:
        """The lost attempt's cluster goes (what answers is cleaned), then a new attempt."""
        attempt = store.latest_attempt(self.db, job.id)
        if attempt is not None:
            say = joblogs.say_into(joblogs.provision_log(job.id, attempt.number))
            if not self._teardown(attempt.cluster, say):
                store.event(self.db, job.id, "teardown", f"{attempt.cluster} could not be "
                            "torn down yet; trying again")
                return None  # still RECOVERING: the next tick tries again
        store.set_job(self.db, job.id, status=JobStatus.PENDING)
        return None

    # -- ending -----------------------------------------------------------------------------

    def _cancel(self, job: Job) -> None:
        from stix import state
        from stix.server.probe import stop_run

        store.set_job(self.db, job.id, status=JobStatus.CANCELLING)
        attempt = store.latest_attempt(self.db, job.id)
        if attempt is not None:
            say = joblogs.say_into(joblogs.provision_log(job.id, attempt.number))
            record = state.get_cluster(state.connect(), attempt.cluster)
            if record is not None and attempt.agent_job:
                asyncio.run(stop_run(record.nodes, attempt.agent_job))
            if attempt.ended_at is None:
                self._end_attempt(attempt, "CANCELLED", "cancelled")
            if not self._teardown(attempt.cluster, say):
                return None  # still CANCELLING: the next tick tries again
        store.event(self.db, job.id, "cancelled", "cancelled; its cluster is gone")
        store.set_job(self.db, job.id, status=JobStatus.CANCELLED, reason="cancelled")

    def _fail(self, job: Job, status: JobStatus, reason: str) -> None:
        store.event(self.db, job.id, "failed", reason[:4000])
        store.set_job(self.db, job.id, status=status, reason=reason[:2000])

    def _end_attempt(self, attempt: Attempt, status: str, reason: str,
                     codes: dict[str, int | None] | None = None) -> None:
        store.set_attempt(self.db, attempt.id, status=status, reason=reason[:2000],
                          exit_codes=codes, ended_at=time.time())

    def _teardown(self, cluster: str, say: Any) -> bool:
        """Down the attempt's cluster; False (said in its log) when that failed."""
        from stix.cluster import lifecycle

        try:
            if lifecycle.down(cluster, say=say):
                say(f"cluster {cluster} is down")
            return True
        except StixError as exc:
            say(f"tearing {cluster} down failed: {exc}")
            return False

    def _teardown_latest(self, job: Job) -> None:
        attempt = store.latest_attempt(self.db, job.id)
        if attempt is None:
            return
        try:
            self._teardown(attempt.cluster, joblogs.say_into(
                joblogs.provision_log(job.id, attempt.number)))
        except Exception:  # already failing: the cluster stays listed in `stix status`
            log.exception("job %s: teardown of %s failed", job.id, attempt.cluster)

    # -- what an attempt needs --------------------------------------------------------------

    def _task(self, job: Job) -> Any:
        from stix.task import parse_tasks
        from stix.yamlio import dump

        doc = job.spec.tasks[job.task_index]
        return parse_tasks(dump(doc), f"job {job.id} task {job.task_index}").tasks[0]

    def _avoid(self, job: Job, task: Any) -> list[str]:
        lost = [a.placement for a in _attempts(self.db, job.id)
                if a.status == "LOST" and a.placement and a.task_index == job.task_index]
        return avoid_after_loss(Policy.of_task(task), lost)


# -- helpers ------------------------------------------------------------------------------


def cluster_name(job: Job) -> str:
    from stix.names import normalize

    base = normalize(job.name)[:24].rstrip("-") or "job"
    return f"{base}-j{job.id}"


def task_id(job: Job) -> str:
    """The same across every attempt of a job, so code can resume from its checkpoint."""
    return f"stix-job-{job.id}-{job.name}"


_PROJECT_LOCK = threading.Lock()


def server_project() -> Path:
    """The stix project whose stacks/ holds the clusters of managed jobs and services
    (made once: launches in several threads ask for it at the same moment)."""
    from stix.stack.project import init_project

    root = server_home() / "project"
    with _PROJECT_LOCK:
        if not (root / "Pulumi.yaml").is_file():
            init_project(root)
    return root


def where_it_runs(cluster: str) -> dict[str, Any]:
    from stix import state

    record = state.get_cluster(state.connect(), cluster)
    if record is None:
        return {}
    p = record.placement
    return {"cloud": p.cloud, "region": p.region, "zone": p.zone,
            "instance_type": p.instance_type, "spot": p.use_spot, "stack": record.has_stack,
            "hosts": [] if record.has_stack else [f"{n.host}:{n.port}" for n in record.nodes]}


def describe_where(where: dict[str, Any]) -> str:
    if where.get("hosts"):
        return f"{where['cloud']} {', '.join(where['hosts'])}"
    return "/".join(str(x) for x in (where.get("cloud"), where.get("region"), where.get("zone"))
                    if x)


def _cloud_verdict(record: Any, nodes: list[str]) -> str | None:
    """The cloud's word on nodes that do not answer: a loss when it says they are gone."""
    from stix.clouds import registry
    from stix.clouds.base import Cloud

    provider = registry.get(record.provider)
    if not isinstance(provider, Cloud):
        return None
    try:
        states = provider.node_states(record.placement, record.outputs)
    except StixError:
        return None  # the API did not answer either: time decides
    if states is None:
        return None
    gone = [n for n in nodes if n not in states or states[n].power in ("stopped", "stopping",
                                                                        "terminated")]
    if not gone:
        return None
    return f"{record.provider} says {', '.join(gone)} {'is' if len(gone) == 1 else 'are'} gone"


def _last_agent_job(record: Any) -> str | None:
    from stix.remote import agent_client as ac
    from stix.remote import fanout
    from stix.remote.transport import connect

    async def ask() -> str | None:
        t = await connect(record.nodes[0], 10.0)
        try:
            jobs = await fanout.ask(t, ac.status(), ac.parse_status)
        finally:
            await t.close()
        runs = [j for j in jobs if not j.job_id.startswith("setup-")]
        return runs[-1].job_id if runs else None

    try:
        return asyncio.run(ask())
    except StixError:
        return None


def _attempts(db: Engine, job_id: int) -> list[Attempt]:
    out = []
    number = 1
    while (a := store.attempt(db, job_id, number)) is not None:
        out.append(a)
        number += 1
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def file_printer(path: Path) -> Any:
    """A LinePrinter that writes setup output into a log file (an attempt's provision log,
    a replica's log)."""
    from stix.remote.fanout import LinePrinter

    return LinePrinter(sink=lambda data: joblogs.append(path, data), prefix=True)
