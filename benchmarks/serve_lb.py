"""Benchmark: the latency the service endpoint (HAProxy driven by stix/serve/lb.py) adds to
a request, against calling the replica directly, at fixed request rates on loopback.

Usage: .venv/bin/python benchmarks/serve_lb.py [--rates 500 2000] [--seconds 10] [--rounds 3]

Method: one replica, a small asyncio HTTP/1.1 server in its own process answering "ok"
(keep-alive); one LoadBalancer in front of it (the real stix code: start, set_backends).
Load is wrk (C, one thread) paced wrk2-style with its Lua `delay()`: each of C keep-alive
connections waits 20,000/rate ms after an answer before its next request, C (about 20)
calibrated by 2 s runs on the direct path so that the offered rate is `rate`; the achieved
rate is measured and printed, and both paths get the same C. Debian's wrk has no fixed-rate
-R; pacing per connection is the honest substitute, and wrk measures each request from
send to the end of its answer (no pacing time included). Rounds alternate
direct and through the LB; each cell is the median over rounds of wrk's p50 and p99.
Everything (wrk, HAProxy's two threads, the replica) shares this machine's cores.
Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class _Replica(asyncio.Protocol):
    """Answers every request on a connection with "ok" (requests carry no body)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.buffer = self.buffer[end + 4:]
            self.transport.write(ANSWER)


def serve(port: int) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            _Replica, "127.0.0.1", port, backlog=1024)
        print("ready", flush=True)
        await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PACE = """\
function delay() return {delay_ms} end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def run_wrk(url: str, rate: int, seconds: int, script_dir: Path,
            connections: int | None = None) -> dict[str, float]:
    """One paced wrk run (each connection pauses 20,000/rate ms after an answer, so 20
    connections offer about `rate`): achieved rate, p50 and p99 in ms, errors."""
    connections = connections or 20
    script = script_dir / f"pace-{rate}.lua"
    script.write_text(PACE.format(delay_ms=max(1, round(20_000 / rate))))
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script),
                           url], capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    requests, micros, p50, p99, errors = (int(v) for v in line.split()[1:])
    return {"rps": requests / (micros / 1e6), "p50": p50 / 1000, "p99": p99 / 1000,
            "errors": errors, "connections": connections}


def calibrate(url: str, rate: int, script_dir: Path) -> int:
    """Connections that offer `rate` on the direct path: a cycle is the pause plus the
    answer's latency plus timer slack, so 20 connections fall a little short."""
    connections = 20
    for _ in range(3):
        got = run_wrk(url, rate, 2, script_dir, connections)
        connections = max(1, round(connections * rate / got["rps"]))
    return connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the replica process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    from stix.serve.lb import Backend, LoadBalancer

    replica_port, lb_port = free_port(), free_port()
    replica = subprocess.Popen([sys.executable, __file__, "--serve", str(replica_port)],
                               stdout=subprocess.PIPE, text=True)
    assert replica.stdout is not None and replica.stdout.readline().strip() == "ready"
    with tempfile.TemporaryDirectory(prefix="stix-lb-bench-") as tmp:
        lb = LoadBalancer(Path(tmp) / "lb", port=lb_port, host="127.0.0.1")
        try:
            lb.start()
            lb.set_backends([Backend("r1", "127.0.0.1", replica_port)])
            time.sleep(0.5)
            targets = {"direct": f"http://127.0.0.1:{replica_port}/",
                       "lb": f"http://127.0.0.1:{lb_port}/"}
            for url in targets.values():
                run_wrk(url, 500, 2, Path(tmp))  # warm up both paths
            print("| rate (req/s) | path | wrk connections | achieved req/s | p50 ms | p99 ms "
                  "| errors |")
            print("|---|---|---|---|---|---|---|")
            summary = []
            for rate in args.rates:
                connections = calibrate(targets["direct"], rate, Path(tmp))
                runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
                for _ in range(args.rounds):
                    for name, url in targets.items():
                        runs[name].append(run_wrk(url, rate, args.seconds, Path(tmp),
                                                  connections))
                cells = {}
                for name, got in runs.items():
                    cells[name] = {key: statistics.median(r[key] for r in got)
                                   for key in ("rps", "p50", "p99")}
                    errors = sum(r["errors"] for r in got)
                    print(f"| {rate} | {name} | {connections} | {cells[name]['rps']:.0f} | "
                          f"{cells[name]['p50']:.3f} | {cells[name]['p99']:.3f} | {errors:.0f} |")
                summary.append((rate, cells["lb"]["p50"] - cells["direct"]["p50"],
                                cells["lb"]["p99"] - cells["direct"]["p99"]))
            print()
            print("| rate (req/s) | added p50 ms (target ≤ 1) | added p99 ms (target ≤ 5) |")
            print("|---|---|---|")
            for rate, p50, p99 in summary:
                print(f"| {rate} | {p50:.3f} | {p99:.3f} |")
            front = lb.frontend()
            print(f"\nHAProxy's own view over the last {lb.window:.0f} s: p50 {front.p50_ms} ms, "
                  f"p99 {front.p99_ms} ms (%Ta, whole milliseconds), "
                  f"{front.requests_total} requests, {front.errors_total} errors")
        finally:
            lb.stop()
            replica.kill()
            replica.wait()


if __name__ == "__main__":
    main()
