"""Benchmark: `stix plan TASK --check` as CI runs it, one fresh process per run.

Usage: .venv/bin/python benchmarks/plan.py [--repeat 3]

For a 1-node CPU task pinned to each cloud, and a 64-node task on AWS, in a throw-away
stix project (no git): the wall time and the CPU time (user + sys of the child; the
machines are shared, so CPU time is the steadier figure), median of `--repeat`, for
- cold: no synthesis cache (the Pulumi SDK and the provider package are imported),
- warm: a re-plan of an unchanged stack (the graph comes from $STIX_HOME/cache/graphs).
Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = {
    "aws, 1 node": ("aws", 1),
    "gcp, 1 node": ("gcp", 1),
    "azure, 1 node": ("azure", 1),
    "aws, 64 nodes": ("aws", 64),
}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "stix", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"stix {' '.join(args)} failed:\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "STIX_HOME": str(root / "home"), "HOME": str(root / "home")}
        subprocess.run([sys.executable, "-m", "stix", "init", str(root / "p")], env=env,
                       check=True, capture_output=True)  # fmt: skip
        project = root / "p"
        for label, (cloud, nodes) in CASES.items():
            task = project / f"{cloud}-{nodes}.yaml"
            task.write_text(f"name: b-{cloud}-{nodes}\nnum_nodes: {nodes}\n"
                            f"resources:\n  infra: {cloud}\n  cpus: 2+\nrun: echo hi\n")
            _run(["plan", task.name], project, env)  # write the stack once (and a key)
            cold = [_run(["plan", task.name, "--check"], project,
                         {**env, "STIX_SYNTH_CACHE": "0"}) for _ in range(opts.repeat)]
            warm = [_run(["plan", task.name, "--check"], project, env)
                    for _ in range(opts.repeat)]
            rows.append((label, cold, warm))

    def med(runs: list[tuple[float, float]], i: int) -> str:
        return f"{statistics.median(r[i] for r in runs):.2f} s"

    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print("| task | cold wall | cold CPU | warm wall | warm CPU |")
    print("|------|------:|------:|------:|------:|")
    for label, cold, warm in rows:
        print(f"| {label} | {med(cold, 0)} | {med(cold, 1)} | {med(warm, 0)} | {med(warm, 1)} |")


if __name__ == "__main__":
    main()
