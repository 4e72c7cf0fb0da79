"""Real latency percentiles and request rates from HAProxy's access log.

`show stat` has only averages over the last 1,024 requests; percentiles need each request.
HAProxy sends one datagram per request (`log-format "stix1 %pid %s %si %sp %ST %Tr %Ta"`)
to a UDP port on 127.0.0.1 that a daemon thread here reads into a sliding window. UDP, not
a unix datagram socket: Linux queues at most `net.unix.max_dgram_qlen` (10 by default)
datagrams on those, so a reader held up for a few milliseconds would lose lines at
thousands of requests per second; a UDP socket queues up to its 4 MB buffer. Nothing
is stored: when this process restarts the window starts empty, which is what it should
say. It also counts requests per worker pid, so a reload can carry over what the old
worker served after its counters were last read.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

TAG = b"stix1"
SYNC = b"stix-sync"


@dataclass(frozen=True)
class Window:
    """What the window holds for one server address, or for the whole frontend."""

    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None


def percentile(sorted_values: list[int], fraction: float) -> float | None:
    """Nearest rank: a value some request really took, never an interpolation."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


class AccessLog:
    """Reads the log port; keeps (arrival, server address, active time in ms) for `window`
    seconds; calls `tick` about twice a second (the load balancer reaps drained slots)."""

    def __init__(self, window: float, tick: Callable[[], None] | None = None) -> None:
        self.window = window
        self.port: int | None = None
        self._tick = tick
        self._entries: deque[tuple[float, str, int]] = deque()
        self._served: Counter[tuple[int, str]] = Counter()  # (worker pid, address): requests
        self._failed: Counter[tuple[int, str]] = Counter()  # ... answered 5xx
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._since = time.monotonic()
        self._synced: set[bytes] = set()
        self._sync_seen = threading.Condition(self._lock)

    def start(self, port: int | None) -> int:
        """Listen on 127.0.0.1:`port` (the one HAProxy was configured with), or on a new
        port when that one is taken or None; returns the port."""
        if self._thread is not None and self.port is not None:
            return self.port
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(("127.0.0.1", port or 0))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.settimeout(0.5)
        self._sock, self.port = sock, int(sock.getsockname()[1])
        self._since = time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"lb-log:{self.port}",
                                        daemon=True)
        self._thread.start()
        return self.port

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._sock is not None:
            self._sock.close()
        self._thread = self._sock = None
        self.port = None

    def _run(self) -> None:
        assert self._sock is not None
        sock = self._sock
        next_tick = time.monotonic() + 0.5
        while not self._stop.is_set():
            try:
                data = sock.recv(2048)
            except TimeoutError:
                data = b""
            except OSError:
                return
            if data:
                self.add_line(data, time.monotonic())
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + 0.5
                self._prune(now)
                if self._tick is not None:
                    with contextlib.suppress(Exception):  # a failed reap is retried next tick
                        self._tick()

    def add_line(self, data: bytes, when: float) -> None:
        """One log datagram: `stix1 <pid> <server> <ip> <port> <status> <Tr> <Ta>`; others
        (server state changes HAProxy also logs) are skipped."""
        parts = data.split()
        if len(parts) == 2 and parts[0] == SYNC:
            with self._lock:
                self._synced.add(parts[1])
                self._sync_seen.notify_all()
            return
        if len(parts) < 8 or parts[0] != TAG:
            return
        try:
            pid, status, active = int(parts[1]), int(parts[5]), int(parts[7])
        except ValueError:
            return
        key = f"{parts[3].decode(errors='replace')} {parts[4].decode(errors='replace')}"
        with self._lock:
            self._entries.append((when, key, max(active, 0)))
            self._served[pid, key] += 1
            if status >= 500:
                self._failed[pid, key] += 1

    def sync(self, timeout: float = 2.0) -> bool:
        """Wait until every datagram sent before now has been read: the reader may lag
        behind a busy HAProxy, and the socket keeps the order of what loopback delivered."""
        if self.port is None or self._thread is None:
            return False
        token = os.urandom(8).hex().encode()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            out.sendto(SYNC + b" " + token, ("127.0.0.1", self.port))
        with self._lock:
            seen = self._sync_seen.wait_for(lambda: token in self._synced, timeout)
            self._synced.discard(token)
        return seen

    def served_by(self, pid: int) -> dict[str, tuple[int, int]]:
        """(requests, 5xx answers) per address ("ip port", "- -" for none) that worker
        `pid` logged while this reader ran."""
        with self._lock:
            return {key: (count, self._failed[worker, key])
                    for (worker, key), count in self._served.items() if worker == pid}

    def _prune(self, now: float) -> None:
        limit = now - self.window
        with self._lock:
            while self._entries and self._entries[0][0] < limit:
                self._entries.popleft()

    def windows(self, now: float | None = None) -> tuple[Window, dict[str, Window]]:
        """The whole frontend's window and one per server address ("ip port")."""
        now = time.monotonic() if now is None else now
        self._prune(now)
        with self._lock:
            entries = list(self._entries)
        span = max(min(self.window, now - self._since), 1.0)
        by_key: dict[str, list[int]] = {}
        for _, key, active in entries:
            by_key.setdefault(key, []).append(active)
        everything = sorted(active for _, _, active in entries)
        per = {key: _window(sorted(values), span) for key, values in by_key.items()}
        return _window(everything, span), per


def _window(values: list[int], span: float) -> Window:
    return Window(requests=len(values), rps=len(values) / span,
                  p50_ms=percentile(values, 0.50), p99_ms=percentile(values, 0.99))
