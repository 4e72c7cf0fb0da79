"""The service endpoint's data path (stix/serve/lb.py): a real HAProxy on loopback in front
of real HTTP servers in their own processes (tests/lb_backend.py), under real traffic.

Run alone: `.ci/test -m haproxy`. Skips, saying so, where haproxy is not installed.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stix.serve import lb_haproxy
from stix.serve.lb import Backend, LoadBalancer, LoadBalancerError

HERE = Path(__file__).parent
HAPROXY = shutil.which("haproxy", path=os.environ.get("PATH", "") + ":/usr/sbin")


def needs_haproxy(test: Callable[..., None]) -> Callable[..., None]:
    skip = pytest.mark.skipif(HAPROXY is None,
                              reason="haproxy is not installed (apt-get install haproxy)")
    return skip(pytest.mark.haproxy(test))  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Replicas:
    """Backend server processes by name; `kill` is SIGKILL, as when a node dies."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str, delay: float = 0.0) -> Backend:
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(HERE / "lb_backend.py"), name, str(port),
                                 str(delay)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        self.procs[name], self.ports[name] = proc, port
        return Backend(name, "127.0.0.1", port)

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait()

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait()


class Load:
    """Client threads sending requests over keep-alive connections (as real clients do)
    until stopped; every answer that is not a whole 200 is an error, with its reason."""

    def __init__(self, port: int, *, threads: int = 4, path: str = "/",
                 pause: float = 0.0) -> None:
        self.port, self.path, self.pause = port, path, pause
        self.answers: Counter[str] = Counter()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    @property
    def total(self) -> int:
        return sum(self.answers.values()) + len(self.errors)

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self._stop.is_set():
            try:
                conn.request("GET", self.path)
                response = conn.getresponse()
                body = response.read().decode()
                outcome = body if response.status == 200 else f"status {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                outcome = f"error {exc!r}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            with self._lock:
                if outcome.startswith(("status ", "error ")):
                    self.errors.append(outcome)
                else:
                    self.answers[outcome] += 1
            if self.pause:
                time.sleep(self.pause)
        conn.close()


def get(url_port: int, path: str = "/", method: str = "GET") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=10)
    try:
        conn.request(method, path, body=b"x" if method == "POST" else None)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def replicas() -> Iterator[Replicas]:
    made = Replicas()
    yield made
    made.stop_all()


@pytest.fixture
def make_lb(tmp_path: Path) -> Iterator[Callable[..., LoadBalancer]]:
    made: list[LoadBalancer] = []

    def make(name: str = "lb", **kwargs: object) -> LoadBalancer:
        kwargs.setdefault("port", free_port())
        kwargs.setdefault("host", "127.0.0.1")
        lb = LoadBalancer(tmp_path / name, **kwargs)  # type: ignore[arg-type]
        made.append(lb)
        return lb

    yield make
    for lb in made:
        lb.stop()


# -- input checks (no HAProxy needed) ----------------------------------------------------


@pytest.mark.parametrize("backend, message", [
    (Backend("R1", "127.0.0.1", 80), "backend name 'R1'"),
    (Backend("r1;x", "127.0.0.1", 80), "backend name"),
    (Backend("r1", "127.0.0.1", 0), "port 0"),
    (Backend("r1", "127.0.0.1", True), "port True"),  # type: ignore[arg-type]
    (Backend("r1", "bad host\n", 80), "not an IP address or host name"),
    (Backend("r1", 'x"y', 80), "not an IP address or host name"),
])
def test_bad_backends_are_refused(tmp_path: Path, backend: Backend, message: str) -> None:
    lb = LoadBalancer(tmp_path / "lb", port=free_port())
    with pytest.raises(LoadBalancerError, match=message):
        lb.set_backends([backend])


def test_bad_settings_and_duplicates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(LoadBalancerError, match="load_balancing_policy 'fastest'"):
        LoadBalancer(tmp_path, port=8080, policy="fastest")
    with pytest.raises(LoadBalancerError, match="port 70000"):
        LoadBalancer(tmp_path, port=70000)
    with pytest.raises(LoadBalancerError, match="listen host"):
        LoadBalancer(tmp_path, port=8080, host="0.0.0.0:80")
    lb = LoadBalancer(tmp_path / "lb", port=8080)
    with pytest.raises(LoadBalancerError, match="listed twice"):
        lb.set_backends([Backend("r1", "127.0.0.1", 81), Backend("r1", "127.0.0.1", 82)])
    with pytest.raises(LoadBalancerError, match=r"same address 127\.0\.0\.1:81"):
        lb.set_backends([Backend("r1", "127.0.0.1", 81), Backend("r2", "127.0.0.1", 81)])


def test_config_values_are_quoted_or_refused(tmp_path: Path) -> None:
    common = dict(log_port=5140, bind_host="::1", port=8443,
                  policy="least_load", tls_pem=None, slots=4, servers={2: ("::1", 9000)})
    text = lb_haproxy.render_config(admin_socket=tmp_path / "admin.sock", **common)  # type: ignore[arg-type]
    assert 'bind "[::1]:8443"' in text and 'balance "leastconn"' in text
    assert 'server "s2" "[::1]:9000"' in text
    assert 'server-template s 1-1 "127.0.0.1:1" disabled' in text
    assert 'server-template s 3-4 "127.0.0.1:1" disabled' in text
    with pytest.raises(LoadBalancerError, match="cannot go into HAProxy's config"):
        lb_haproxy.render_config(admin_socket=tmp_path / 'x"\n  stats socket /tmp/open', **common)  # type: ignore[arg-type]


# -- a real HAProxy -----------------------------------------------------------------------


@needs_haproxy
@pytest.mark.parametrize("policy", ["round_robin", "least_load"])
def test_traffic_spreads_over_backends(make_lb: Callable[..., LoadBalancer],
                                       replicas: Replicas, policy: str) -> None:
    lb = make_lb(policy=policy)
    lb.start()
    assert stat.S_IMODE(lb.workdir.stat().st_mode) == 0o700
    assert stat.S_IMODE(lb.config.stat().st_mode) == 0o600
    lb.set_backends([replicas.start(name) for name in ("r1", "r2", "r3")])
    seen = Counter(get(lb.port)[1] for _ in range(30))
    assert set(seen) == {"r1", "r2", "r3"}
    assert min(seen.values()) >= 5, seen
    totals = {s.name: s.requests_total for s in lb.stats()}
    assert totals == dict(seen)
    assert lb.frontend().requests_total == 30
    assert lb.endpoint == f"http://127.0.0.1:{lb.port}"


@needs_haproxy
def test_changes_under_load_drop_no_request(make_lb: Callable[..., LoadBalancer],
                                            replicas: Replicas) -> None:
    """Adds, removals, a full replacement and a reload for more replicas than slots, while
    four clients send requests: not one fails, and a long request on a removed replica
    finishes (it was drained, not cut)."""
    lb = make_lb(slots=4)
    lb.start()
    lb.set_backends([replicas.start("r1"), replicas.start("r2")])
    r3, r4, r5 = (replicas.start(name) for name in ("r3", "r4", "r5"))
    long_answer: list[tuple[int, str]] = []
    slow = threading.Thread(target=lambda: long_answer.append(get(lb.port, "/sleep/2.5")))
    slow.start()
    wait_for(lambda: sum(s.inflight for s in lb.stats()) == 1)
    holder = next(s.name for s in lb.stats() if s.inflight)
    other = "r2" if holder == "r1" else "r1"
    with Load(lb.port, pause=0.002) as load:
        time.sleep(0.3)
        lb.set_backends([Backend(other, "127.0.0.1", replicas.ports[other]),
                         r3])  # the long request's replica leaves
        assert lb.draining() == [holder]  # runtime API: in drain, its slot kept
        assert lb_haproxy.processes(lb.master_socket).reloads == 0
        time.sleep(0.3)
        lb.set_backends([r4, r5])  # all replaced:
        assert lb_haproxy.processes(lb.master_socket).reloads == 1  # 5 slots needed of 4
        time.sleep(0.3)
        lb.set_backends([r3, r4, r5])
        time.sleep(0.3)
        slow.join()
        wait_for(lambda: lb.draining() == [])
    time.sleep(0.2)
    assert long_answer == [(200, holder)]
    assert load.errors == [], load.errors[:5]
    assert load.total > 200
    assert {"r3", "r4", "r5"} <= set(load.answers)
    assert {s.name for s in lb.stats()} == {"r3", "r4", "r5"}
    assert lb.frontend().requests_total >= load.total


@needs_haproxy
def test_a_dying_backend_costs_few_requests(make_lb: Callable[..., LoadBalancer],
                                            replicas: Replicas) -> None:
    """SIGKILL of a replica mid-stream: GETs in flight on it are retried on the others,
    a POST in flight is not (it answers 502), a streaming answer already started is cut.
    Bound for the steady GET stream: at most 2 failed requests (HAProxy redispatches both
    refused connections and empty answers of idempotent requests)."""
    lb = make_lb()
    lb.start()
    lb.set_backends([replicas.start(name) for name in ("r1", "r2", "r3")])
    for _ in range(3):
        get(lb.port)
    outcomes: dict[str, tuple[int, str] | str] = {}

    def call(key: str, path: str, method: str = "GET") -> None:
        try:
            outcomes[key] = get(lb.port, path, method)
        except (OSError, http.client.HTTPException) as exc:
            outcomes[key] = repr(exc)

    callers = []
    for number, method in enumerate(["GET"] * 3 + ["POST"] * 3):  # round robin: one each
        callers.append(threading.Thread(target=call, args=(f"{method} {number % 3}",
                                                           "/sleep/1.5", method)))
        callers[-1].start()
        wait_for(lambda n=number: sum(s.inflight for s in lb.stats()) == n + 1)
    with Load(lb.port, threads=4, path="/sleep/0.02") as load:
        time.sleep(0.5)
        replicas.kill("r2")  # it holds a slow GET and a slow POST
        time.sleep(1.5)
        for caller in callers:
            caller.join()
    assert len(load.errors) <= 2, load.errors
    after = Counter(load.answers)
    assert after["r1"] > 20 and after["r3"] > 20
    slow_gets = [outcomes[f"GET {n}"] for n in range(3)]
    assert all(isinstance(o, tuple) and o[0] == 200 and o[1] in ("r1", "r3") for o in slow_gets), \
        slow_gets
    posts = sorted(o[0] if isinstance(o, tuple) else 0 for k, o in outcomes.items()
                   if k.startswith("POST"))
    assert posts == [200, 200, 502], outcomes  # the one on r2 is not replayed
    states = {s.name: s.state for s in lb.stats()}
    assert states["r2"] == "DOWN" and states["r1"] == states["r3"] == "UP"
    assert next(s for s in lb.stats() if s.name == "r2").errors_total >= 2
    assert lb.frontend().errors_total >= 1  # the POST's 502


@needs_haproxy
def test_a_replica_that_moves_is_drained_at_its_old_address(
        make_lb: Callable[..., LoadBalancer], replicas: Replicas) -> None:
    lb = make_lb()
    lb.start()
    old = replicas.start("old")
    lb.set_backends([Backend("r1", old.host, old.port)])
    answers: list[tuple[int, str]] = []
    slow = threading.Thread(target=lambda: answers.append(get(lb.port, "/sleep/1")))
    slow.start()
    wait_for(lambda: lb.frontend().inflight == 1)
    new = replicas.start("new")
    lb.set_backends([Backend("r1", new.host, new.port)])  # same name, another address
    assert lb.draining() == ["r1"]
    assert {get(lb.port)[1] for _ in range(5)} == {"new"}
    slow.join()
    assert answers == [(200, "old")]
    wait_for(lambda: lb.draining() == [])
    assert [(s.name, s.state) for s in lb.stats()] == [("r1", "UP")]
    assert lb_haproxy.processes(lb.master_socket).reloads == 0


@needs_haproxy
def test_inflight_counts_a_long_request(make_lb: Callable[..., LoadBalancer],
                                        replicas: Replicas) -> None:
    lb = make_lb()
    lb.start()
    lb.set_backends([replicas.start("r1"), replicas.start("r2")])
    streaming = threading.Thread(target=get, args=(lb.port, "/stream/15"))
    streaming.start()
    wait_for(lambda: sum(s.inflight for s in lb.stats()) == 1)
    assert lb.frontend().inflight == 1
    streaming.join()
    wait_for(lambda: lb.frontend().inflight == 0)
    assert sum(s.inflight for s in lb.stats()) == 0


@needs_haproxy
def test_percentiles_reflect_a_slow_backend(make_lb: Callable[..., LoadBalancer],
                                            replicas: Replicas) -> None:
    lb = make_lb(window=30.0)
    lb.start()
    lb.set_backends([replicas.start("fast"), replicas.start("slow", delay=0.2)])
    for _ in range(20):
        get(lb.port)
    wait_for(lambda: sum(s.requests_total for s in lb.stats()) == 20
             and all(s.p50_ms is not None for s in lb.stats()))
    time.sleep(0.2)  # the last log lines are on their way
    by_name = {s.name: s for s in lb.stats()}
    fast, slow = by_name["fast"], by_name["slow"]
    assert slow.p50_ms is not None and 200 <= slow.p50_ms < 400
    assert fast.p50_ms is not None and fast.p50_ms < 50
    assert fast.p99_ms is not None and slow.p99_ms is not None and slow.p99_ms >= 200
    front = lb.frontend()
    assert front.p99_ms is not None and front.p99_ms >= 200
    assert front.p50_ms is not None and front.p50_ms < 400
    assert fast.rps > 0 and slow.rps > 0 and abs(fast.rps - slow.rps) < 0.2


@needs_haproxy
def test_a_new_object_adopts_the_running_haproxy(make_lb: Callable[..., LoadBalancer],
                                                 replicas: Replicas) -> None:
    """A stix server restart: the next LoadBalancer on the same workdir finds HAProxy
    running, keeps it (same master, no reload) and traffic never stops; one with other
    settings reloads it gracefully."""
    first = make_lb()
    first.start()
    first.set_backends([replicas.start("r1"), replicas.start("r2")])
    pid = lb_haproxy.master_pid(first.pidfile, first.config)
    with Load(first.port, pause=0.002) as load:
        time.sleep(0.3)
        first.close()  # the old server process goes away; HAProxy does not
        second = make_lb(port=first.port)
        second.start()
        assert lb_haproxy.master_pid(second.pidfile, second.config) == pid
        assert lb_haproxy.processes(second.master_socket).reloads == 0  # never reloaded
        assert {s.name for s in second.stats()} == {"r1", "r2"}
        second.set_backends([Backend("r2", "127.0.0.1", replicas.ports["r2"]),
                             replicas.start("r3")])
        time.sleep(0.3)
        second.close()
        third = make_lb(port=first.port, policy="least_load")  # settings changed: a reload
        third.start()
        assert lb_haproxy.processes(third.master_socket).reloads == 1
        assert lb_haproxy.master_pid(third.pidfile, third.config) == pid
        assert 'balance "leastconn"' in third.config.read_text()
        time.sleep(0.3)
    assert load.errors == []
    assert {"r1", "r2", "r3"} <= set(load.answers)
    assert {s.name for s in third.stats()} == {"r2", "r3"}
    assert third.frontend().requests_total >= load.total


@needs_haproxy
def test_tls_endpoint_serves_https(make_lb: Callable[..., LoadBalancer], replicas: Replicas,
                                   tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    lb = make_lb(tls=(key, cert))
    lb.start()
    assert lb.endpoint == f"https://127.0.0.1:{lb.port}"
    assert lb.tls_pem is not None and stat.S_IMODE(lb.tls_pem.stat().st_mode) == 0o600
    lb.set_backends([replicas.start("r1")])
    context = ssl.create_default_context(cafile=str(cert))
    conn = http.client.HTTPSConnection("localhost", lb.port, context=context, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"r1")
    conn.close()
    with pytest.raises((OSError, http.client.HTTPException)):  # no plain HTTP on it
        get(lb.port)


@needs_haproxy
def test_stop_ends_haproxy(make_lb: Callable[..., LoadBalancer]) -> None:
    lb = make_lb()
    lb.start()
    assert lb.alive()
    lb.stop()
    assert not lb.alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", lb.port), timeout=1).close()

