"""Benchmark: catalog load, per-task optimize, and `stix optimize` end to end.

Usage: .venv/bin/python benchmarks/optimizer.py [--rows 100000] [--repeat 7] [--write]

Runs pinned to one core. Times are CPU seconds (user + system) of the process doing the
work, medians of `--repeat` runs: these machines are shared, and CPU time is what a
busy neighbour does not inflate. Over two catalogs: the shipped snapshot (catalog_data/)
and a generated one of `--rows` rows (three clouds, 60 regions × 3 zones each, CPU and GPU
types priced by size). Measured:
- load: a new process's `load_catalog()` — "parse" with an empty disk cache, "cached"
  with the parsed-rows cache of $STIX_HOME/cache present (the usual case);
- optimize: per task of TASKS, the first call in a process (which builds the sorted pools
  that task needs) and the steady state (later calls);
- end to end: `python -m stix optimize TASK --json --all-clouds` as a new process, with
  stix's modules byte-compiled first (as any pip install does; PYTHONDONTWRITEBYTECODE is
  set on these machines, so an editable checkout would otherwise recompile them each run).
`--write` replaces the optimizer section of docs/performance.md with the tables.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START, END = "<!-- optimizer-benchmark:start -->", "<!-- optimizer-benchmark:end -->"

TASKS = {
    "default CPU (8+ vCPU, 4 GiB/vCPU)": "name: t",
    "cpus: 8+, memory: 32+": "resources: {cpus: 8+, memory: 32+}",
    "cpus: 16, memory: 64 (exact)": "resources: {cpus: 16, memory: 64}",
    "T4:1": "resources: {accelerators: T4:1}",
    "A100:8 spot": "resources: {accelerators: A100:8, use_spot: true}",
    "[H100:8, A100:8] ordered": "resources: {accelerators: [H100:8, A100:8]}",
    "{L4, A10G, T4} cheapest": "resources: {accelerators: {L4: 1, A10G: 1, T4: 1}}",
    "any_of gcp L4 / aws T4, 4 nodes":
        "num_nodes: 4\nresources: {any_of: [{cloud: gcp, accelerators: L4}, "
        "{cloud: aws, accelerators: T4}]}",
    "H100:8, target time": "resources: {accelerators: {H100: 8, A100: 8}}",
}
_GPUS = [("T4", 16, 0.35), ("L4", 24, 0.6), ("A10G", 24, 0.9), ("V100", 16, 2.5),
         ("A100", 40, 3.2), ("A100-80GB", 80, 4.0), ("H100", 80, 9.0), ("L40S", 48, 1.6)]


def pin_one_core() -> int:
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})  # children inherit it
    return cpu


def generate(root: Path, rows: int, seed: int = 11) -> int:
    """Write at least `rows` offers in stix's format; returns the number written."""
    from stix.catalog.schema import COLUMNS

    rng = random.Random(seed)
    types: list[tuple[str, float, float, str, int, float, float]] = []
    for family, mem_per_cpu, rate in (("gp", 4, 0.048), ("cpu", 2, 0.042), ("mem", 8, 0.063)):
        for gen in range(1, 6):
            for size in (1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192):
                types.append((f"{family}{gen}.{size}x", size, size * mem_per_cpu, "", 0, 0.0,
                              size * rate * (1 - 0.04 * gen)))  # fmt: skip
    for name, mem, price in _GPUS:
        for gen in range(1, 4):
            for count in (1, 2, 4, 8):
                types.append((f"{name.lower()}g{gen}.{count}x", 8 * count, 32 * count, name,
                              count, mem, count * price * (1 + 0.05 * gen)))  # fmt: skip
    regions = [f"region-{i:02d}" for i in range(60)]
    keep = min(1.0, rows / (3 * len(regions) * 3 * len(types)) * 1.05)
    written = 0
    for cloud in ("aws", "gcp", "azure"):
        folder = root / cloud
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "vms.csv").open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(COLUMNS)
            for region in regions:
                factor = 1 + rng.random() * 0.3
                for zone in "abc":
                    for itype, vcpus, mem, acc, count, acc_mem, base in types:
                        if rng.random() > keep:
                            continue
                        price = round(base * factor, 5)
                        spot = "" if rng.random() < 0.15 else f"{price * rng.uniform(0.2, 0.5):.5f}"
                        out.writerow([itype, vcpus, mem, acc, count, acc_mem or "", region,
                                      f"{region}{zone}", price, spot,
                                      "arm64" if itype.endswith("2.4x") else "x86_64",
                                      "observed", "observed" if spot else "none",
                                      "2026-05-12"])  # fmt: skip
                        written += 1
    return written


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _child(code: str, env: dict[str, str]) -> float:
    """CPU seconds of a new Python process running `code` (which prints its own timing)."""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=300)  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


_LOAD = """
import resource, sys
from pathlib import Path
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
from stix.catalog import load_catalog
t = cpu(); load_catalog(Path(sys.argv[1] if len(sys.argv) > 1 else {root!r})); print(cpu() - t)
"""

_OPTIMIZE = """
import resource, json, statistics
from pathlib import Path
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
from stix.catalog import load_catalog
from stix.optimizer import optimize
from stix.task import parse_tasks
catalog = load_catalog(Path({root!r}))
tasks = {tasks!r}
out = {{}}
for label, text in tasks.items():
    task = parse_tasks(text).tasks[0]
    target = "time" if "target time" in label else "cost"
    t = cpu(); optimize(task, catalog, target=target); first = cpu() - t
    runs = []
    for _ in range({repeat}):
        t = cpu(); optimize(task, catalog, target=target); runs.append(cpu() - t)
    out[label] = (first, statistics.median(runs))
print(json.dumps(out)); print(0)
"""


_COLD = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
from stix.catalog import load_catalog
from stix.optimizer import optimize
from stix.task import parse_tasks
task = parse_tasks({text!r}).tasks[0]
t1 = time.perf_counter()
optimize(task, load_catalog(Path({root!r})), target={target!r})
print(time.perf_counter() - t1)
"""


def cold_times(root: Path, repeat: int, env: dict[str, str]) -> dict[str, float]:
    """Per task, wall seconds of load + the first optimize in a new process (imports
    excluded), the parse cache warm: what `stix optimize` spends on the catalog."""
    out = {}
    for label, text in TASKS.items():
        target = "time" if "target time" in label else "cost"
        code = _COLD.format(text=text, root=str(root), target=target)
        out[label] = statistics.median(_child(code, env) for _ in range(repeat))
    return out


def load_times(root: Path, repeat: int, env: dict[str, str]) -> tuple[float, float]:
    import shutil

    cache = Path(env["STIX_HOME"]) / "cache"
    parse = []
    for _ in range(repeat):
        shutil.rmtree(cache, ignore_errors=True)
        parse.append(_child(_LOAD.format(root=str(root)), env))
    cached = [_child(_LOAD.format(root=str(root)), env) for _ in range(repeat)]
    return statistics.median(parse), statistics.median(cached)


def optimize_times(root: Path, repeat: int, env: dict[str, str]) -> dict[str, tuple[float,
                                                                                     float]]:
    import json

    code = _OPTIMIZE.format(root=str(root), tasks=TASKS, repeat=repeat)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=600)  # fmt: skip
    data: dict[str, list[float]] = json.loads(out.stdout.strip().splitlines()[-2])
    return {k: (v[0], v[1]) for k, v in data.items()}


def end_to_end(root: Path, repeat: int, env: dict[str, str],
               task: Path) -> tuple[float, float]:
    """(CPU, wall) seconds of `stix optimize TASK --all-clouds` as a new process."""
    runs, walls = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "stix", "optimize", str(task),
                        "--all-clouds"], env={**env, "STIX_CATALOG_DIR": str(root)},
                       capture_output=True, check=True, timeout=120)  # fmt: skip
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(runs), statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    cpu = pin_one_core()
    import compileall

    compileall.compile_dir(str(REPO / "stix"), quiet=1)
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "STIX_HOME": str(Path(tmp) / "home"), "PYTHONPATH": str(REPO)}
        generated = Path(tmp) / "generated"
        rows = generate(generated, args.rows)
        task = Path(tmp) / "task.yaml"
        task.write_text("name: bench\nresources:\n  accelerators: {L4: 1, A10G: 1, T4: 1}\n"
                        "run: echo\n")  # fmt: skip
        shipped = REPO / "catalog_data"
        shipped_rows = sum(max(0, len(p.read_text().splitlines()) - 1)
                           for p in shipped.glob("*/vms.csv"))  # fmt: skip
        catalogs = [(f"shipped ({shipped_rows:,} rows)", shipped),
                    (f"generated ({rows:,} rows)", generated)]  # fmt: skip
        load = {name: load_times(root, args.repeat, env) for name, root in catalogs}
        opt = {name: optimize_times(root, args.repeat, env) for name, root in catalogs}
        cold = {name: cold_times(root, args.repeat, env) for name, root in catalogs}
        e2e = {name: end_to_end(root, args.repeat, env, task) for name, root in catalogs}
    names = [n for n, _ in catalogs]
    lines += [f"Pinned to CPU {cpu}; CPU seconds, median of {args.repeat} runs; "
              "stix byte-compiled.", "",
              "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]  # fmt: skip
    lines.append("| load, parse (no disk cache) | " + " | ".join(
        f"{load[n][0] * 1000:.0f} ms" for n in names) + " |")
    lines.append("| load, cached (usual) | " + " | ".join(
        f"{load[n][1] * 1000:.0f} ms" for n in names) + " |")
    lines.append("| `stix optimize` end to end (process), CPU / wall | " + " | ".join(
        f"{e2e[n][0] * 1000:.0f} / {e2e[n][1] * 1000:.0f} ms" for n in names) + " |")
    lines += ["", "Cold optimize, per task: a new process's load + first optimize, **wall** "
              "(imports excluded; parse cache warm); then, in one process, the first call after "
              "the other tasks / later calls (CPU):", "",
              "| task | " + " | ".join(f"{n}: cold wall | first / later" for n in names) + " |",
              "|---|" + "---|" * (2 * len(names))]  # fmt: skip
    for label in TASKS:
        lines.append(f"| {label} | " + " | ".join(
            f"{cold[n][label] * 1000:.0f} ms | {opt[n][label][0] * 1000:.1f} / "
            f"{opt[n][label][1] * 1000:.2f} ms" for n in names) + " |")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    if args.write:
        _write(table, args)


NOTES = """What the numbers hold:
- Cold (the issue-13 target, <= 0.3 s at ~90k+ rows): the parse cache keeps each file's
  rows per accelerator, in on-demand price order and in chunks of 2,048, with every row's
  on-demand and spot rank. A new process reads the cache's headers (a few ms), and a task
  reads only the chunks its search touches: a GPU task its accelerator's rows, a CPU task
  whose answer is among the cheaper machines a chunk or two. Pools are row numbers sorted
  by the cached rank (integers), and `Offer`s (NamedTuples, made in C from the cached
  rows) exist only for the slices read. The cyclic collector is paused while rows are made.
- The first call in a long-lived process after other tasks, and later calls, reuse the
  chunks and pools already read. Counting rejections per constraint scans everything, so
  it is done only when read (`OptimizeResult.rejections`, `--json`).
- End to end is mostly Python start-up and imports (typer, which imports pydantic, and the
  pydantic task model: ~0.25 s CPU on this machine); see
  `python -X importtime -m stix optimize ...`. The catalog's share is the cold column.
- The parse without a cache (the first load after a catalog changes) now also checks
  every row (`stix catalog check`), ranks them and writes the chunks: ~1.4 s at 100k rows.
  `stix catalog update`, the background refresh and `stix catalog import` pay it when they
  write, so the next command finds the cache warm.
- These machines are shared (other test suites run beside the benchmark): read wall times
  with the load average given."""


def _write(table: str, args: argparse.Namespace) -> None:
    doc = REPO / "docs" / "performance.md"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    command = f".venv/bin/python benchmarks/optimizer.py --rows {args.rows} --repeat {args.repeat}"
    load = os.getloadavg()[0]
    section = (f"{START}\n## Optimizer\n\nMeasured {time.strftime('%Y-%m-%d')} with\n`{command}`"
               f" (load average {load:.1f} at the end; targets: cold optimize ≤ 0.3 s wall at "
               f"~90k+ rows, optimize ≤ 20 ms per task in a warm process, `stix optimize` end "
               f"to end ≤ 500 ms).\n\n{table}\n\n{NOTES}\n{END}")  # fmt: skip
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
