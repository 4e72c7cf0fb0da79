"""Wall time of cheap CLI commands (start-up cost: imports), median of N runs.

    .venv/bin/python benchmarks/cli_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = [["--help"], ["--version"], ["status"], ["validate", "examples/hello.yaml"],
            ["show-task", "examples/finetune-a100.yaml", "--json"]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "STIX_HOME": tempfile.mkdtemp()}
    print("| command | median wall | min |")
    print("|---|---|---|")
    for cmd in COMMANDS:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "stix", *cmd], cwd=REPO, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times.append(time.perf_counter() - start)
        print(f"| `stix {' '.join(cmd)}` | {statistics.median(times):.2f} s | {min(times):.2f} s |")


if __name__ == "__main__":
    main()
