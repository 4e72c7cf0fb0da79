"""Benchmark: how long `load_catalog()` takes on a generated catalog of N rows.

Usage: .venv/bin/python benchmarks/catalog_load.py [--rows 100000] [--repeat 5]

Writes a synthetic catalog (three clouds, realistic column values) to a temp folder and
times, as CPU time of this process (the machines are shared), the median of `--repeat`:
- parse: the CSVs parsed from scratch (no disk cache), indexes built;
- disk-cached: a new process's first load, served from $STIX_HOME/cache;
- in-process: a second `load_catalog()` in the same process;
- first query: `with_accelerator("A100")` and `with_accelerator(None)` right after a load
  (where Offer objects are made).
Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stix.catalog.loader import Catalog, clear_cache, load_catalog
from stix.catalog.schema import COLUMNS

_GPUS = [("T4", 16.0), ("L4", 24.0), ("A10G", 24.0), ("A100", 40.0), ("A100-80GB", 80.0),
         ("H100", 80.0), ("V100", 16.0), ("L40S", 48.0)]  # fmt: skip


def generate(root: Path, rows: int, seed: int = 7) -> None:
    """Write `rows` rows split across aws/gcp/azure in stix's vms.csv format."""
    rng = random.Random(seed)
    clouds = ("aws", "gcp", "azure")
    per_cloud = rows // len(clouds)
    for index, cloud in enumerate(clouds):
        count = per_cloud + (rows - per_cloud * len(clouds) if index == 0 else 0)
        folder = root / cloud
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "vms.csv").open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(COLUMNS)
            for i in range(count):
                vcpus = 2 ** rng.randint(0, 7)
                gpu = rng.choice(_GPUS) if rng.random() < 0.3 else None
                region = f"region-{rng.randint(1, 40)}"
                zone = "" if cloud == "azure" else f"{region}{'abcd'[rng.randint(0, 3)]}"
                price = round(vcpus * 0.04 + (3.0 if gpu else 0.0) * rng.random(), 5)
                spot = "" if rng.random() < 0.1 else f"{price * 0.3:.5f}"
                out.writerow([
                    f"type{i % 900}.x{vcpus}", vcpus, vcpus * 4,
                    gpu[0] if gpu else "", 2 ** rng.randint(0, 3) if gpu else 0,
                    gpu[1] if gpu else "", region, zone, price, spot,
                    "arm64" if rng.random() < 0.1 else "x86_64", "observed",
                    "observed" if spot else "none", "2026-05-12",
                ])  # fmt: skip


def _median(repeat: int, setup: Callable[[], None], fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        setup()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "catalog"
        os.environ["STIX_HOME"] = str(Path(tmp) / "home")
        generate(root, args.rows)
        cache = Path(tmp) / "home" / "cache" / "catalog"

        def cold() -> None:
            clear_cache()
            for f in cache.glob("*"):
                f.unlink()

        parse = _median(args.repeat, cold, lambda: load_catalog(root))
        disk = _median(args.repeat, clear_cache, lambda: load_catalog(root))
        memo = _median(args.repeat, lambda: None, lambda: load_catalog(root))
        fresh: list[Catalog] = []

        def reload() -> None:
            clear_cache()
            fresh[:] = [load_catalog(root)]

        gpu = _median(args.repeat, reload, lambda: fresh[0].with_accelerator("A100"))
        cpu = _median(args.repeat, reload, lambda: fresh[0].with_accelerator(None))
        rows = len(load_catalog(root))
    print(f"rows={rows}  parse={parse:.3f}s  disk-cached={disk:.3f}s  "
          f"in-process={memo * 1000:.3f}ms  first with_accelerator('A100')={gpu * 1000:.1f}ms  "
          f"first with_accelerator(None)={cpu * 1000:.1f}ms")


if __name__ == "__main__":
    main()
