"""The service controller: a loop in the stix server that keeps every service's replicas,
load balancer and rollout where its spec says, reading and writing only the database (and
the load balancer, which runs detached) — so a server restart picks every service up where
it was, with its replicas and its endpoint untouched.

One tick per service at a time: probe the replicas (the readiness probe decides who takes
traffic), read the load balancer's numbers, decide how many replicas the load needs (with
the policy's delays), move an update along, then launch or retire replicas (in worker
threads: a replica is a stix cluster, made through `stix up`'s path) and hand the load
balancer the replicas that are ready.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from stix.serve import store
from stix.serve.models import ReplicaStatus, ServiceStatus
from stix.serve.replicas import (
    controller_log,
    head_address,
    port_for,
    probe,
    replica_log,
    replica_plan,
    service_dir,
    with_port,
)
from stix.serve.spec import ServiceSpec, desired_replicas
from stix.serve.store import Replica, Service
from stix.server.controller import file_printer
from stix.server.joblogs import say_into

log = logging.getLogger("stix.serve.controller")
TICK_SECONDS = 1.0
NOT_READY_AFTER = 3  # failed probes in a row before a ready replica leaves rotation
FAILED_AFTER = 10  # ... before a replica that is not ready is replaced
UPDATE_ATTEMPTS = 2  # new-version replicas that may fail before an update rolls back
DRAIN_SECONDS = 30.0  # at most this long for a retired replica's requests to finish


def spec_of(service: Service, version: int | None = None) -> tuple[Any, ServiceSpec]:
    """The Task and its ServiceSpec for one version of a service."""
    from stix.serve.spec import load_service
    from stix.task import Task

    task = Task.from_yaml_config(service.config(version))
    return task, load_service(task)


@dataclass
class _Scaling:
    """The autoscaler's memory between ticks (lost on restart: the delays start over)."""

    wanted: int | None = None
    since: float = 0.0


@dataclass
class _State:
    scaling: _Scaling = field(default_factory=_Scaling)
    busy: set[int] = field(default_factory=set)  # replica ids with a launch/teardown running
    failed_updates: int = 0


class ServiceController:
    def __init__(self, db: Engine, max_workers: int = 16) -> None:
        self.db = db
        self.pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="stix-serve")
        self.lock = threading.Lock()
        self.state: dict[int, _State] = {}
        self.stepping: set[int] = set()
        self.balancers: dict[int, Any] = {}
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # -- the loop ---------------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="stix-serve", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """The loop stops; load balancers and replicas keep running for the next server."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("service controller tick failed")
            self.stopping.wait(TICK_SECONDS)

    def tick(self) -> None:
        for service in store.every(self.db):
            with self.lock:
                if service.id in self.stepping:
                    continue
                self.stepping.add(service.id)
            self.pool.submit(self._step_safely, service.id)

    def _step_safely(self, service_id: int) -> None:
        try:
            service = store.by_id(self.db, service_id)
            if service is not None:
                self.step(service)
        except Exception as exc:
            log.exception("service %s: step failed", service_id)
            store.event(self.db, service_id, "error", f"controller error: {exc}")
        finally:
            with self.lock:
                self.stepping.discard(service_id)

    # -- one service ------------------------------------------------------------------------

    def step(self, service: Service) -> None:
        st = self.state.setdefault(service.id, _State())
        say = say_into(controller_log(service.name))
        lb = self._balancer(service)
        reps = store.replicas_of(self.db, service.id, live_only=True)
        if service.down_requested:
            return self._shut_down(service, reps, lb, st, say)
        _task, spec = spec_of(service)
        self._probe_all(service, reps, say)
        reps = store.replicas_of(self.db, service.id, live_only=True)
        self._autoscale(service, spec, lb, st, say)
        service = store.by_id(self.db, service.id) or service
        serving = self._rollout(service, reps, st, say)
        service = store.by_id(self.db, service.id) or service
        self._reconcile(service, st, say)
        reps = store.replicas_of(self.db, service.id, live_only=True)
        ready = [r for r in reps if r.status == ReplicaStatus.READY and r.version in serving]
        self._route(lb, ready)
        self._set_status(service, reps, ready)

    def _balancer(self, service: Service) -> Any:
        from stix.serve.lb import LoadBalancer

        lb = self.balancers.get(service.id)
        if lb is None:
            _task, spec = spec_of(service)
            tls = None
            if spec.tls is not None:
                tls = (Path(spec.tls.keyfile).expanduser(), Path(spec.tls.certfile).expanduser())
            policy = {"least_load": "least_load"}.get(spec.load_balancing_policy,
                                                       spec.load_balancing_policy)
            lb = LoadBalancer(service_dir(service.name) / "lb", port=service.lb_port,
                              policy=policy, tls=tls)
            self.balancers[service.id] = lb
        if not lb.alive():
            lb.start()
        return lb

    def _route(self, lb: Any, ready: list[Replica]) -> None:
        from stix.serve.lb import Backend

        lb.set_backends([Backend(f"r{r.number}", r.host or "", r.port or 0) for r in ready
                         if r.host and r.port])

    def _set_status(self, service: Service, reps: list[Replica], ready: list[Replica]) -> None:
        if service.target_version != service.version:
            status = ServiceStatus.UPDATING
        elif ready:
            status = ServiceStatus.READY
        else:
            status = ServiceStatus.NO_REPLICA
        if status != service.status:
            store.set_service(self.db, service.id, status=status)

    # -- readiness --------------------------------------------------------------------------

    def _probe_all(self, service: Service, reps: list[Replica], say: Any) -> None:
        from stix import state

        conn = state.connect()
        for rep in reps:
            if rep.status not in (ReplicaStatus.STARTING, ReplicaStatus.READY,
                                  ReplicaStatus.NOT_READY) or rep.id in self._busy(service):
                continue
            if state.get_cluster(conn, rep.cluster) is None:
                self._fail(service, rep, "its cluster is gone", say)
                continue
            _task, spec = spec_of(service, rep.version)
            ok, why = probe(rep, spec)
            self._after_probe(service, rep, spec, ok, why, say)

    def _after_probe(self, service: Service, rep: Replica, spec: ServiceSpec, ok: bool,
                     why: str, say: Any) -> None:
        now = time.time()
        if ok:
            if rep.status != ReplicaStatus.READY:
                store.set_replica(self.db, rep.id, status=ReplicaStatus.READY, ready_at=now,
                                  probe_failures=0, reason=None)
                say(f"replica {rep.number} (v{rep.version}) is ready: "
                    f"{spec.readiness_probe.path} answered")
                store.event(self.db, service.id, "ready", f"replica {rep.number} ready")
            elif rep.probe_failures:
                store.set_replica(self.db, rep.id, probe_failures=0)
            return
        failures = rep.probe_failures + 1
        if rep.status == ReplicaStatus.STARTING:
            if now - rep.started_at > spec.readiness_probe.initial_delay_seconds:
                return self._fail(service, rep, f"not ready after "
                                  f"{spec.readiness_probe.initial_delay_seconds:g} s: {why}", say)
            store.set_replica(self.db, rep.id, probe_failures=failures)
            return None
        if rep.status == ReplicaStatus.READY and failures >= NOT_READY_AFTER:
            say(f"replica {rep.number} leaves rotation: {why} ({failures} probes failed)")
            store.set_replica(self.db, rep.id, status=ReplicaStatus.NOT_READY,
                              probe_failures=failures, reason=why)
            return None
        if rep.status == ReplicaStatus.NOT_READY and failures >= FAILED_AFTER:
            return self._fail(service, rep, f"stayed not ready: {why}", say)
        store.set_replica(self.db, rep.id, probe_failures=failures)
        return None

    def _fail(self, service: Service, rep: Replica, why: str, say: Any) -> None:
        say(f"replica {rep.number} failed ({why}); it is replaced")
        store.event(self.db, service.id, "replica_failed", f"replica {rep.number}: {why}")
        store.set_replica(self.db, rep.id, status=ReplicaStatus.FAILED, reason=why,
                          ended_at=time.time())
        if rep.version == service.target_version != service.version:
            self.state.setdefault(service.id, _State()).failed_updates += 1
        self._teardown(service, rep, keep_status=True)

    # -- scaling ----------------------------------------------------------------------------

    def _autoscale(self, service: Service, spec: ServiceSpec, lb: Any, st: _State,
                   say: Any) -> None:
        policy = spec.policy
        front = lb.frontend()
        raw = desired_replicas(policy, qps=front.rps, inflight=front.inflight)
        now = time.time()
        current = service.desired
        if raw == current:
            st.scaling = _Scaling()
            return
        if current == 0 and raw > 0:  # a cold start: the first request waits for a replica
            return self._decide(service, raw, f"cold start: {front.rps:.2f} req/s at the "
                                f"endpoint with no replica", say)
        delay = policy.upscale_delay_seconds if raw > current else policy.downscale_delay_seconds
        if st.scaling.wanted != raw:
            st.scaling = _Scaling(raw, now)
        if now - st.scaling.since >= delay:
            verb = "up" if raw > current else "down"
            why = (f"scale {verb} {current} → {raw}: {front.rps:.2f} req/s and "
                   f"{front.inflight} in flight at the endpoint for {delay:g} s "
                   f"(targets: {policy.target_qps_per_replica or '-'} req/s, "
                   f"{policy.target_inflight_per_replica or '-'} in flight per replica)")
            self._decide(service, raw, why, say)
            st.scaling = _Scaling()

    def _decide(self, service: Service, desired: int, why: str, say: Any) -> None:
        say(why)
        store.event(self.db, service.id, "scale", why)
        store.set_service(self.db, service.id, desired=desired, decision=why)

    # -- updates ----------------------------------------------------------------------------

    def _rollout(self, service: Service, reps: list[Replica], st: _State, say: Any) -> set[int]:
        """The versions whose ready replicas take traffic now; moves an update along."""
        old, new = service.version, service.target_version
        if old == new:
            return {old}
        news = [r for r in reps if r.version == new]
        olds = [r for r in reps if r.version != new]
        ready_new = [r for r in news if r.status == ReplicaStatus.READY]
        if st.failed_updates >= UPDATE_ATTEMPTS:
            why = (f"update to version {new} failed: {st.failed_updates} of its replicas "
                   "never passed the readiness probe; rolled back to version "
                   f"{old}")
            say(why)
            store.event(self.db, service.id, "update_failed", why)
            for rep in news:
                self._teardown(service, rep)
            store.set_service(self.db, service.id, target_version=old, update_mode=None,
                              reason=why)
            st.failed_updates = 0
            return {old}
        if service.update_mode == "blue_green":
            if len(ready_new) >= max(1, service.desired):
                for rep in olds:
                    self._teardown(service, rep)
                return self._finish_update(service, say)
            return {old}
        # rolling: each new ready replica retires one old one; both serve meanwhile
        ready_olds = [r for r in olds if r.status == ReplicaStatus.READY]
        surplus = len(ready_new) + len(ready_olds) - max(1, service.desired)
        for rep in sorted(olds, key=lambda r: (r.status == ReplicaStatus.READY, r.number)):
            if surplus <= 0 and rep.status == ReplicaStatus.READY:
                break
            self._teardown(service, rep)
            if rep.status == ReplicaStatus.READY:
                surplus -= 1
        if not [r for r in olds if r.id not in self._busy(service)] and len(ready_new) >= min(
                1, service.desired):
            return self._finish_update(service, say)
        return {old, new}

    def _finish_update(self, service: Service, say: Any) -> set[int]:
        new = service.target_version
        say(f"update to version {new} done")
        store.event(self.db, service.id, "updated", f"version {new} serves")
        store.set_service(self.db, service.id, version=new, update_mode=None, reason=None)
        self.state.setdefault(service.id, _State()).failed_updates = 0
        return {new}

    # -- replicas ---------------------------------------------------------------------------

    def _busy(self, service: Service) -> set[int]:
        with self.lock:
            return set(self.state.setdefault(service.id, _State()).busy)

    def _reconcile(self, service: Service, st: _State, say: Any) -> None:
        """Launch or retire replicas of the target version so their count meets `desired`,
        with the spot policy's on-demand floor and fallback."""
        version = service.target_version
        task, spec = spec_of(service, version)
        reps = [r for r in store.replicas_of(self.db, service.id, live_only=True)
                if r.version == version]
        want = service.desired
        if service.update_mode == "blue_green" or service.version == version:
            pass
        elif service.update_mode == "rolling":
            # one surge replica at a time while the rollout runs
            starting = [r for r in reps if r.status != ReplicaStatus.READY]
            if starting:
                want = len(reps)
        spot_ready = sum(r.spot and r.status == ReplicaStatus.READY for r in reps)
        plan = replica_plan(want, spot=bool(task.resources.use_spot), policy=spec.policy,
                            spot_ready=spot_ready)
        for spot, count in plan.items():
            mine = [r for r in reps if r.spot == spot]
            for _ in range(count - len(mine)):
                rep = store.new_replica(self.db, service, version, spot)
                say(f"launching replica {rep.number} (v{version}"
                    f"{', spot' if spot else ''})")
                self._launch(service, rep)
            if len(mine) > count:
                # retire the newest not-ready ones first, then the newest ready ones
                order = sorted(mine, key=lambda r: (r.status == ReplicaStatus.READY,
                                                    -r.number))
                for rep in order[:len(mine) - count]:
                    say(f"retiring replica {rep.number}")
                    self._teardown(service, rep)

    def _launch(self, service: Service, rep: Replica) -> None:
        with self.lock:
            self.state.setdefault(service.id, _State()).busy.add(rep.id)
        self.pool.submit(self._launch_now, service, rep)

    def _launch_now(self, service: Service, rep: Replica) -> None:
        from stix.cluster import lifecycle
        from stix.server.controller import server_project

        say = say_into(replica_log(service.name, rep.number))
        try:
            task, spec = spec_of(service, rep.version)
            port, on_this_machine = port_for(task, spec)
            env = {"STIX_REPLICA_PORT": str(port), "STIX_SERVICE": service.name,
                   "STIX_REPLICA": str(rep.number)}
            update: dict[str, Any] = {"envs": {**task.envs, **env}, "service": None}
            resources = task.resources.model_copy(update={"use_spot": rep.spot or None})
            if not on_this_machine:
                resources = with_port(resources, port)
            task = task.model_copy(update={**update, "resources": resources})
            secrets = {k: v for k, v in service.secrets.items() if k in task.secrets}
            # Hosts a replica failed on are not used again (a dead machine would take the
            # new replica down with it).
            avoid = sorted({r.host for r in store.replicas_of(self.db, service.id)
                            if r.status == ReplicaStatus.FAILED and r.host})
            lifecycle.up_task(task, cluster=rep.cluster, secrets=secrets, detach_run=True,
                              say=say, printer=file_printer(replica_log(service.name,
                                                                        rep.number)),
                              project=server_project(), avoid=avoid)
            host = head_address(rep.cluster)
            store.set_replica(self.db, rep.id, status=ReplicaStatus.STARTING, host=host,
                              port=port, started_at=time.time())
            say(f"replica {rep.number} is up at {host}:{port}; waiting for "
                f"{spec.readiness_probe.path}")
        except Exception as exc:
            say(f"launch failed: {exc}")
            store.set_replica(self.db, rep.id, status=ReplicaStatus.FAILED,
                              reason=f"launch failed: {exc}"[:2000], ended_at=time.time())
            store.event(self.db, service.id, "replica_failed",
                        f"replica {rep.number}: launch failed: {exc}")
            if rep.version == service.target_version != service.version:
                self.state.setdefault(service.id, _State()).failed_updates += 1
            self._down_cluster(rep.cluster, say)
        finally:
            with self.lock:
                self.state.setdefault(service.id, _State()).busy.discard(rep.id)

    def _teardown(self, service: Service, rep: Replica, keep_status: bool = False) -> None:
        with self.lock:
            busy = self.state.setdefault(service.id, _State()).busy
            if rep.id in busy:
                return
            busy.add(rep.id)
        if not keep_status:
            store.set_replica(self.db, rep.id, status=ReplicaStatus.SHUTTING_DOWN)
        self.pool.submit(self._teardown_now, service, rep, keep_status)

    def _teardown_now(self, service: Service, rep: Replica, keep_status: bool) -> None:
        say = say_into(replica_log(service.name, rep.number))
        try:
            if rep.status == ReplicaStatus.READY:
                self._drain(service, rep, say)
            self._down_cluster(rep.cluster, say)
            if not keep_status:
                store.set_replica(self.db, rep.id, status=ReplicaStatus.TERMINATED,
                                  ended_at=time.time())
        finally:
            with self.lock:
                self.state.setdefault(service.id, _State()).busy.discard(rep.id)

    def _drain(self, service: Service, rep: Replica, say: Any) -> None:
        """Out of rotation first (the next tick routes around it), then wait for the
        requests it still serves, so retiring a replica fails none."""
        lb = self.balancers.get(service.id)
        deadline = time.monotonic() + DRAIN_SECONDS
        time.sleep(2 * TICK_SECONDS)
        while lb is not None and time.monotonic() < deadline:
            mine = [s for s in lb.stats() if s.name == f"r{rep.number}"]
            if not mine or mine[0].inflight == 0:
                return
            time.sleep(0.2)
        if lb is not None:
            say(f"replica {rep.number}: still serving after {DRAIN_SECONDS:g} s of drain")

    def _down_cluster(self, cluster: str, say: Any) -> None:
        from stix.cluster import lifecycle

        try:
            lifecycle.down(cluster, say=say)
        except Exception as exc:  # logged; `stix status` still lists what is left
            say(f"teardown of {cluster} failed: {exc}")

    def _shut_down(self, service: Service, reps: list[Replica], lb: Any, st: _State,
                   say: Any) -> None:
        if service.status != ServiceStatus.SHUTTING_DOWN:
            store.set_service(self.db, service.id, status=ServiceStatus.SHUTTING_DOWN)
            say("shutting down")
        self._route(lb, [])
        for rep in reps:
            if rep.status != ReplicaStatus.SHUTTING_DOWN:
                self._teardown(service, rep)
        left = [r for r in store.replicas_of(self.db, service.id, live_only=False)
                if r.status == ReplicaStatus.SHUTTING_DOWN or r.id in self._busy(service)]
        if not left:
            lb.stop()
            self.balancers.pop(service.id, None)
            say("down")
            store.remove(self.db, service.id)
            self.state.pop(service.id, None)


# -- helpers --------------------------------------------------------------------------------
