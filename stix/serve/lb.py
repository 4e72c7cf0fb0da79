"""A service's endpoint: a real HAProxy that stix configures and drives, never a Python proxy.

One HAProxy (master-worker, daemonized) per service, everything under `workdir` (0700):
its config (0600), pidfile, runtime socket, master socket and `state.json` (which replica
holds which server slot; the access log's UDP port on 127.0.0.1). The process outlives
the stix server: a new `LoadBalancer` on the same workdir adopts it without touching
traffic.

Replica changes never restart it. Replicas live in `server-template` slots that the
runtime API points at an address and enables, and a removed replica is put in `drain`
(no new requests, in-flight ones finish) and only freed (`maint`) once it serves none.
Only when more replicas than slots are wanted is there a graceful reload (the master's
`reload`: the new worker takes the listening sockets over, the old one finishes its
requests), so no connection is refused or cut either way.

What is retried on another replica (HAProxy 2.6's `retries 3`, `option redispatch 1`:
each retry goes to a different server):
- `conn-failure`, any method: the connection (or TLS handshake) to the replica failed,
  so not one byte of the request reached it (refused, reset, timed out after 2 s);
- `empty-response`, only GET, HEAD, OPTIONS, TRACE, PUT and DELETE: the request was sent
  but the replica closed without a byte of answer (it died mid-request). For other methods
  (POST: most inference APIs) `http-request disable-l7-retry` keeps this off, so a
  half-processed POST is answered 502 instead of being run twice. HAProxy retries at layer
  7 only requests that fit one buffer (tune.bufsize, 16 kB).
Not retried: a response that had started (its bytes are the client's now), response
timeouts (10 minutes: long generations are legitimate), 5xx answers from the replica.

HAProxy's own checks are not the readiness probe (the controller runs that and calls
`set_backends`); they only take a dead replica out fast: `observe layer4 error-limit 1
on-error mark-down` marks a server down at its first refused or timed-out connection
(that request is redispatched), and a TCP check every second (`rise 1 fall 2`) brings it
back once it accepts connections again, or finds it dead without traffic.

Numbers: counters from the runtime API's `show stat` (since HAProxy started; kept across a
reload); rps and latency percentiles (%Ta: from the request received to the end of the
answer, which leaves out keep-alive idle time that %Tt counts) from the access log over
the last `window` seconds (`stix.serve.lb_log`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stix.serve import lb_haproxy as hx
from stix.serve import lb_state
from stix.serve.lb_haproxy import LoadBalancerError
from stix.serve.lb_log import AccessLog

__all__ = ["Backend", "BackendStats", "FrontendStats", "LoadBalancer", "LoadBalancerError"]


@dataclass(frozen=True)
class Backend:
    name: str  # a replica id such as "r3" ([a-z0-9-], unique per service)
    host: str
    port: int


@dataclass(frozen=True)
class BackendStats:
    name: str
    state: str  # HAProxy's view: "UP", "DOWN", "MAINT", "DRAIN", "NOLB" ...
    inflight: int  # requests being served by it now
    requests_total: int  # since the LB started
    errors_total: int  # 5xx answers + connection/response errors + attempts retried elsewhere
    rps: float  # requests per second over the last `window` seconds
    p50_ms: float | None  # latency over the last `window` seconds (None: no request)
    p99_ms: float | None


@dataclass(frozen=True)
class FrontendStats:
    inflight: int
    requests_total: int
    errors_total: int  # 5xx answers the clients got + answers cut short by a replica
    rps: float
    p50_ms: float | None
    p99_ms: float | None


_SERVER_ERRORS = ("hrsp_5xx", "econ", "eresp", "wretr")


class LoadBalancer:
    """One service's HAProxy. Safe to call from several threads; several objects (or
    processes) on one workdir serialize on a lock file and share `state.json`."""

    def __init__(self, workdir: Path, *, port: int, host: str = "0.0.0.0",
                 policy: str = "round_robin", tls: tuple[Path, Path] | None = None,
                 slots: int = 64, window: float = 10.0) -> None:
        if policy not in hx.BALANCE:
            raise LoadBalancerError(f"load_balancing_policy {policy!r}: use one of "
                                    + ", ".join(sorted(hx.BALANCE)))
        if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= 4096:
            raise LoadBalancerError(f"slots {slots!r}: an integer from 1 to 4096")
        if not window > 0:
            raise LoadBalancerError(f"window {window!r}: must be positive")
        self.workdir = Path(workdir).absolute()
        self.port = hx.check_port(port)
        self.host = hx.check_host(host, "listen host")
        self.policy = policy
        self.tls = (Path(tls[0]), Path(tls[1])) if tls else None
        self.slots = slots
        self.window = float(window)
        self.config = self.workdir / "haproxy.cfg"
        self.pidfile = self.workdir / "haproxy.pid"
        self.admin_socket = hx.check_socket_path(self.workdir / "admin.sock")
        self.master_socket = hx.check_socket_path(self.workdir / "master.sock")
        self.state_file = self.workdir / "state.json"
        self.tls_pem = self.workdir / "endpoint.pem" if self.tls else None
        self._lock = threading.RLock()
        self._log = AccessLog(self.window, tick=self._reap_quietly)

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    # -- process ---------------------------------------------------------------------

    def start(self) -> None:
        """Start HAProxy, or adopt the one already running from this workdir (reloading it
        gracefully only if this object's settings differ from what it runs)."""
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.workdir, 0o700)
        binary = hx.haproxy_binary()
        with self._locked():
            if self._master() is not None:
                state = self._load_state()
                port = self._log.start(state.get("log_port"))
                if port != state.get("log_port"):
                    state["log_port"] = port
                    self._save_state(state)
                if self.config.read_text() != self._render(state):
                    active = {slot: {**entry, "base_requests": 0, "base_errors": 0}
                              for slot, entry in state["assigned"].items()
                              if not entry["draining"]}
                    self._reload(state, active, state["slots"])
                return
            for stale in (self.pidfile, self.admin_socket, self.master_socket):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
            state = lb_state.fresh(self.slots)
            state["log_port"] = self._log.start(None)
            hx.write_private(self.config, self._render(state))
            hx.check_config(binary, self.config)
            self._save_state(state)
            hx.start_process(binary, self.config, self.pidfile, self.master_socket,
                             self.workdir / "haproxy.start.log")
            hx.wait_ready(self.admin_socket, state["slots"])

    def alive(self) -> bool:
        return self._master() is not None

    def stop(self) -> None:
        """Stop the HAProxy started from this workdir (in-flight requests are cut: this is
        `serve down`) and this object's log reader."""
        if not self.workdir.is_dir():
            return
        with self._locked():
            pid = self._master()
            if pid is not None:
                hx.stop_process(pid)
            for path in (self.pidfile, self.state_file):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        self._log.close()

    def close(self) -> None:
        """Stop reading the access log; HAProxy keeps serving (a stix server shutting down)."""
        self._log.close()

    # -- backends --------------------------------------------------------------------

    def set_backends(self, backends: list[Backend]) -> None:
        """Make `backends` the replicas in rotation, dropping no request: new ones are
        enabled before removed ones are put in drain; a drained slot is freed later."""
        wanted = self._check(backends)
        with self._locked():
            state = self._load_state()
            self._reap(state)
            slots: dict[str, dict[str, Any]] = state["assigned"]
            kept: set[str] = set()  # names whose slot already points at the wanted address
            leaving: list[str] = []  # slots to drain: replica removed, or moved elsewhere
            for slot, entry in slots.items():
                target = wanted.get(entry["name"])
                if target is not None and (entry["ip"], entry["port"]) == target[1:] \
                        and entry["name"] not in kept:
                    kept.add(entry["name"])
                    if entry["draining"]:
                        hx.set_server(self.admin_socket, int(slot), "state", "ready")
                        entry["draining"] = False
                elif not entry["draining"]:
                    leaving.append(slot)
            adding = [name for name in sorted(wanted) if name not in kept]
            free = [slot for slot in range(1, state["slots"] + 1) if str(slot) not in slots]
            if len(adding) > len(free):
                self._grow(state, wanted)
                return
            rows = hx.show_stat(self.admin_socket) if adding else {}
            for name, number in zip(adding, free[:len(adding)], strict=True):
                backend, ip, port = wanted[name]
                row = rows.get(f"{hx.SLOT_PREFIX}{number}", {})
                hx.set_server(self.admin_socket, number, "addr", ip, "port", str(port))
                hx.set_server(self.admin_socket, number, "health", "up")
                hx.set_server(self.admin_socket, number, "state", "ready")
                slots[str(number)] = {
                    "name": name, "host": backend.host, "ip": ip, "port": port,
                    "draining": False, "base_requests": hx.counter(row, "stot"),
                    "base_errors": hx.counter(row, *_SERVER_ERRORS)}
            for slot in leaving:
                hx.set_server(self.admin_socket, int(slot), "state", "drain")
                slots[slot]["draining"] = True
            self._save_state(state)
            hx.write_private(self.config, self._render(state))

    def draining(self) -> list[str]:
        """Replicas removed from rotation that still serve requests (in drain, or on an old
        worker after a reload): stop their nodes only once they are not listed here."""
        with self._locked():
            state = self._load_state()
            self._reap(state)
            names = {entry["name"] for entry in state["assigned"].values() if entry["draining"]}
            if state["reload_drain"]:
                if hx.processes(self.master_socket).old_workers:
                    names.update(state["reload_drain"])
                else:
                    state["reload_drain"] = []
                    self._save_state(state)
            return sorted(names)

    # -- numbers ---------------------------------------------------------------------

    def stats(self) -> list[BackendStats]:
        """Every replica in rotation or draining, by name."""
        with self._locked():
            state = self._load_state()
            self._reap(state)
            rows = hx.show_stat(self.admin_socket)
        _, windows = self._log.windows()
        merged: dict[str, dict[str, Any]] = {}
        for slot, entry in sorted(state["assigned"].items(), key=lambda item: item[1]["draining"]):
            row = rows.get(f"{hx.SLOT_PREFIX}{slot}", {})
            carried = state["carried"].get(entry["name"], [0, 0])
            window = windows.get(f"{entry['ip']} {entry['port']}")
            into = merged.setdefault(entry["name"], {
                "state": (row.get("status") or "UNKNOWN").split()[0], "inflight": 0,
                "requests": carried[0], "errors": carried[1], "windows": []})
            into["inflight"] += hx.counter(row, "scur", "qcur")
            into["requests"] += hx.counter(row, "stot") - entry["base_requests"]
            into["errors"] += hx.counter(row, *_SERVER_ERRORS) - entry["base_errors"]
            if window is not None:
                into["windows"].append(window)
        out = []
        for name, got in sorted(merged.items()):
            best = max(got["windows"], key=lambda w: w.requests, default=None)
            out.append(BackendStats(
                name=name, state=got["state"], inflight=got["inflight"],
                requests_total=got["requests"], errors_total=got["errors"],
                rps=sum(w.rps for w in got["windows"]),
                p50_ms=best.p50_ms if best else None, p99_ms=best.p99_ms if best else None))
        return out

    def frontend(self) -> FrontendStats:
        with self._locked():
            state = self._load_state()
            rows = hx.show_stat(self.admin_socket)
        front, backend = rows.get("FRONTEND", {}), rows.get("BACKEND", {})
        window, _ = self._log.windows()
        carried = state["frontend_carried"]
        return FrontendStats(
            inflight=hx.counter(backend, "scur", "qcur"),
            requests_total=carried[0] + hx.counter(front, "req_tot"),
            errors_total=carried[1] + hx.counter(front, "hrsp_5xx")
            + hx.counter(backend, "srv_abrt"),
            rps=window.rps, p50_ms=window.p50_ms, p99_ms=window.p99_ms)

    # -- inside ----------------------------------------------------------------------

    def _check(self, backends: list[Backend]) -> dict[str, tuple[Backend, str, int]]:
        wanted: dict[str, tuple[Backend, str, int]] = {}
        addresses: dict[tuple[str, int], str] = {}
        for backend in backends:
            name = hx.check_name(backend.name)
            if name in wanted:
                raise LoadBalancerError(f"backend {name!r} is listed twice")
            port = hx.check_port(backend.port, f"backend {name} port")
            ip = hx.resolve(hx.check_host(backend.host, f"backend {name} host"), port)
            if (ip, port) in addresses:
                raise LoadBalancerError(f"backends {addresses[ip, port]!r} and {name!r} are "
                                        f"the same address {hx.join_address(ip, port)}")
            addresses[ip, port] = name
            wanted[name] = (backend, ip, port)
        return wanted

    def _grow(self, state: dict[str, Any], wanted: dict[str, tuple[Backend, str, int]]) -> None:
        """More replicas than slots: a graceful reload with room for them (and for replacing
        each of them without another reload)."""
        total = max(state["slots"], self.slots)
        while total < 2 * len(wanted):
            total *= 2
        assigned = {
            str(number): {"name": name, "host": wanted[name][0].host, "ip": wanted[name][1],
                          "port": wanted[name][2], "draining": False, "base_requests": 0,
                          "base_errors": 0}
            for number, name in enumerate(sorted(wanted), start=1)}
        self._reload(state, assigned, total)

    def _reload(self, state: dict[str, Any], assigned: dict[str, dict[str, Any]],
                slots: int) -> None:
        """Reload HAProxy gracefully onto `assigned` in `slots` slots. The old worker
        finishes every request it holds (replicas left out drain there). Its counters are
        carried over: `show stat` just before, plus what its access log says it served
        after (it is gone before it could be asked again). A request in flight at that
        instant may be counted twice, none is left out."""
        leaving = state["assigned"]
        removed = {entry["name"] for entry in leaving.values()} - {
            entry["name"] for entry in assigned.values()}
        state["reload_drain"] = sorted(set(state["reload_drain"]) | removed)
        state["slots"], state["assigned"] = slots, assigned
        hx.write_private(self.config, self._render(state))
        workers = hx.processes(self.master_socket).workers
        self._log.sync()
        logged = [self._log.served_by(pid) for pid in workers]
        rows = hx.show_stat(self.admin_socket)
        hx.reload(hx.haproxy_binary(), self.config, self.master_socket, self.admin_socket,
                  slots)
        self._log.sync()  # the old worker's last log lines are read
        after: dict[str, list[int]] = {}
        for pid, seen in zip(workers, logged, strict=True):
            for key, (count, failed) in self._log.served_by(pid).items():
                got = after.setdefault(key, [0, 0])
                got[0] += count - seen.get(key, (0, 0))[0]
                got[1] += failed - seen.get(key, (0, 0))[1]
        for slot, entry in leaving.items():
            row = rows.get(f"{hx.SLOT_PREFIX}{slot}", {})
            late = after.get(f"{entry['ip']} {entry['port']}", [0, 0])
            carried = state["carried"].setdefault(entry["name"], [0, 0])
            carried[0] += hx.counter(row, "stot") - entry["base_requests"] + late[0]
            carried[1] += hx.counter(row, *_SERVER_ERRORS) - entry["base_errors"] + late[1]
        front, backend = rows.get("FRONTEND", {}), rows.get("BACKEND", {})
        state["frontend_carried"][0] += hx.counter(front, "req_tot") \
            + sum(late[0] for late in after.values())
        state["frontend_carried"][1] += hx.counter(front, "hrsp_5xx") \
            + hx.counter(backend, "srv_abrt") + sum(late[1] for late in after.values())
        self._save_state(state)

    def _reap(self, state: dict[str, Any]) -> None:
        """Free the slots of drained replicas that serve nothing any more."""
        draining = [slot for slot, entry in state["assigned"].items() if entry["draining"]]
        if not draining:
            return
        rows = hx.show_stat(self.admin_socket)
        freed = False
        for slot in draining:
            row = rows.get(f"{hx.SLOT_PREFIX}{slot}")
            if row is None or hx.counter(row, "scur", "qcur") == 0:
                if row is not None:
                    hx.set_server(self.admin_socket, int(slot), "state", "maint")
                del state["assigned"][slot]
                freed = True
        if freed:
            self._save_state(state)

    def _reap_quietly(self) -> None:
        """The log reader's tick: skipped while someone else holds the lock (a reload may be
        waiting for this very thread to read the log)."""
        if not self.state_file.exists() or not self._lock.acquire(blocking=False):
            return
        try:
            with self._locked(), contextlib.suppress(LoadBalancerError):
                if self._master() is not None:
                    self._reap(self._load_state())
        finally:
            self._lock.release()

    def _render(self, state: dict[str, Any]) -> str:
        if self.tls and self.tls_pem:
            self._write_pem()
        log_port = state.get("log_port") or self._log.port
        if log_port is None:
            raise LoadBalancerError("the load balancer was not started from this object")
        servers = {int(slot): (entry["ip"], entry["port"])
                   for slot, entry in state["assigned"].items() if not entry["draining"]}
        return hx.render_config(
            admin_socket=self.admin_socket, log_port=log_port, bind_host=self.host,
            port=self.port, policy=self.policy, tls_pem=self.tls_pem, slots=state["slots"],
            servers=servers)

    def _write_pem(self) -> None:
        """HAProxy wants the certificate and its key in one file (0600, in the workdir)."""
        assert self.tls is not None and self.tls_pem is not None
        keyfile, certfile = self.tls
        try:
            cert, key = certfile.read_text(), keyfile.read_text()
        except OSError as exc:
            raise LoadBalancerError(f"TLS file unreadable: {exc}") from exc
        text = cert.rstrip("\n") + "\n" + key.rstrip("\n") + "\n"
        if not self.tls_pem.exists() or self.tls_pem.read_text() != text:
            hx.write_private(self.tls_pem, text)

    def _master(self) -> int | None:
        return hx.master_pid(self.pidfile, self.config)

    def _load_state(self) -> dict[str, Any]:
        return lb_state.load(self.state_file) or lb_state.recover(self.admin_socket, self.slots)

    def _save_state(self, state: dict[str, Any]) -> None:
        lb_state.save(self.state_file, state)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock, lb_state.file_lock(self.workdir / "lock"):
            yield
