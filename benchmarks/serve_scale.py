"""Measure: from load rising to a new replica serving, excluding provisioning.

Usage: .venv/bin/python benchmarks/serve_scale.py [--runs N]

A real stix server (in a temporary STIX_HOME), HAProxy in front, replicas as `local`
clusters (tests/fixtures/serve/replica.py). The service scales on requests in flight
(target 1 per replica, upscale delay 0). Each run holds 4 slow requests open and times:
- decide: load starts → the controller's scale-up decision (the load balancer's numbers
  reaching the autoscaler);
- serve: the new replica's cluster is up → it takes traffic (readiness probe + load
  balancer change);
- provisioning (the new replica's `stix up`, excluded from the target) is printed apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPLICA = ROOT / "tests" / "fixtures" / "serve" / "replica.py"
TASK = f"""\
name: bench
resources: {{infra: local}}
run: exec python3 {REPLICA}
service:
  readiness_probe: {{path: /health, initial_delay_seconds: 30, timeout_seconds: 2}}
  ports: 8080
  replica_policy:
    min_replicas: 1
    max_replicas: 2
    target_inflight_per_replica: 1
    upscale_delay_seconds: 0
    downscale_delay_seconds: 3
"""


def _hold(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            urllib.request.urlopen(f"{url}/slow?s=2", timeout=30).read()
        except OSError:
            time.sleep(0.05)


def one_run(api: object, endpoint: str) -> tuple[float, float, float]:
    def view() -> object:
        (v,) = api.serve_status(["bench"])  # type: ignore[attr-defined]
        return v

    def until(check: object, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not check():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {view()}")
            time.sleep(0.02)

    until(lambda: len(view().replicas) == 1 and view().desired == 1)  # type: ignore[attr-defined]
    before = {r.number for r in view().replicas}  # type: ignore[attr-defined]
    stop = threading.Event()
    start = time.time()
    threads = [threading.Thread(target=_hold, args=(endpoint, stop), daemon=True)
               for _ in range(4)]
    for t in threads:
        t.start()
    until(lambda: view().desired == 2)  # type: ignore[attr-defined]
    decided = time.time()

    def new() -> object:
        return next((r for r in view().replicas if r.number not in before), None)  # type: ignore[attr-defined]

    until(lambda: new() is not None and new().status.value == "READY")  # type: ignore[attr-defined]
    served = time.time()
    rep = new()
    up_at = rep.started_at  # type: ignore[attr-defined]  # set again when its cluster is up
    stop.set()
    for t in threads:
        t.join(timeout=30)
    return decided - start, served - up_at, up_at - decided


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="stix-bench-serve-")
    os.environ["STIX_HOME"] = home
    os.environ["STIX_CATALOG_REFRESH_HOURS"] = "0"
    sys.path.insert(0, str(ROOT))
    from stix import api
    from stix.server import process

    task = Path(home) / "bench.yaml"
    task.write_text(TASK)
    process.start()
    try:
        endpoint = api.serve_up(task, name="bench").endpoint
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(endpoint, timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        rows = [one_run(api, endpoint) for _ in range(args.runs)]
    finally:
        api.serve_down(None, all_services=True)
        deadline = time.monotonic() + 60
        while api.serve_status() and time.monotonic() < deadline:
            time.sleep(0.5)
        process.stop()
    for name, i in (("load → scale-up decision", 0), ("replica up → serving", 1),
                    ("provisioning (excluded)", 2)):
        values = [r[i] for r in rows]
        print(f"{name:28} median {statistics.median(values):6.2f} s  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
