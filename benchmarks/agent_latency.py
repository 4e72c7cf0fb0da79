"""Benchmark: the node agent's own costs, on this machine, without SSH in the way.

Usage: .venv/bin/python benchmarks/agent_latency.py [--python /usr/bin/python3] [--repeat 15]

Measures the median wall time of `--repeat` runs each of:
- call: one cheap agent command (`status` with 10 jobs recorded) from process start to exit,
  as wall time and as CPU time (user+sys of that process: steadier on a shared machine);
- submit: `submit` until it prints the job's pid (bash has been started by the runner);
- first byte: from the start of `submit` to the first log byte seen by a `logs --follow`
  started right after it returns (the job prints at once) -- the node's share of
  "exec to first log line";
- follow lag: how long after a running job writes a line (its own clock, `date +%s.%N`)
  a `logs --follow` reader receives it (the log poll interval bounds it).
Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENT = Path(__file__).resolve().parents[1] / "stix" / "remote" / "agent.py"


def run(python: str, env: dict[str, str], *args: str, stdin: bytes = b"") -> bytes:
    return subprocess.run([python, str(AGENT), *args], input=stdin, env=env,
                          capture_output=True, check=True).stdout


def first_byte(python: str, env: dict[str, str], job_id: str, script: str) -> float:
    start = time.perf_counter()
    run(python, env, "submit", "--job-id", job_id, stdin=script.encode())
    follower = subprocess.Popen([python, str(AGENT), "logs", job_id, "--follow"], env=env,
                                stdout=subprocess.PIPE)
    assert follower.stdout is not None
    os.read(follower.stdout.fileno(), 1)
    elapsed = time.perf_counter() - start
    follower.communicate()
    return elapsed


def follow_lag(python: str, env: dict[str, str], job_id: str, lines: int) -> list[float]:
    script = f"for i in $(seq {lines}); do sleep 0.2; date +%s.%N; done\n"
    run(python, env, "submit", "--job-id", job_id, stdin=script.encode())
    follower = subprocess.Popen([python, str(AGENT), "logs", job_id, "--follow"], env=env,
                                stdout=subprocess.PIPE)
    assert follower.stdout is not None
    lags = []
    for line in follower.stdout:
        lags.append(time.time() - float(line))
    follower.wait()
    return lags[1:]  # the first line may predate the reader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=shutil.which("python3", path="/usr/bin:/bin"))
    parser.add_argument("--repeat", type=int, default=15)
    opts = parser.parse_args()
    python = opts.python or sys.executable
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, STIX_AGENT_HOME=home)
        for i in range(10):
            run(python, env, "submit", "--job-id", f"warm{i}", stdin=b"true")
        calls, cpus, submits, firsts = [], [], [], []
        for i in range(opts.repeat):
            start, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            json.loads(run(python, env, "status"))
            calls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
            start = time.perf_counter()
            run(python, env, "submit", "--job-id", f"s{i}", stdin=b"true")
            submits.append(time.perf_counter() - start)
            firsts.append(first_byte(python, env, f"f{i}", "echo first\n"))
        lags = follow_lag(python, env, "lag", opts.repeat + 1)
    ms = lambda xs: f"{statistics.median(xs) * 1000:.0f} ms"  # noqa: E731
    version = subprocess.run([python, "--version"], capture_output=True, text=True).stdout
    print(f"agent under {python} ({version.strip()}), median of {opts.repeat}:")
    print(f"  call (status, 10 jobs)     {ms(calls)} wall, {ms(cpus)} CPU")
    print(f"  (load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  submit (to pid)            {ms(submits)}")
    print(f"  submit -> first log byte   {ms(firsts)}")
    print(f"  follow lag (max {max(lags) * 1000:.0f} ms)    {ms(lags)}")


if __name__ == "__main__":
    main()
