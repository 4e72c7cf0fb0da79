"""Node fan-out benchmarks against real sshd nodes (run as root for namespaces/test users).

1. The same `setup` on 1, 8 and 32 nodes: connect + agent upload + setup, wall time, and
   time(32)/time(1) (target <= 1.5).
2. `stix exec CLUSTER -- echo ...` on an up cluster: time from starting the CLI process to
   its first log line on stdout (target <= 1 s), for an `ssh` cluster and a `local` one.

    .venv/bin/python benchmarks/nodes.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

SETUP = "for i in $(seq 1 20); do echo \"setup line $i\"; done\npython3 -c 'import json'\nsleep 0.2"


PHASES: dict[int, list[tuple[float, float, float]]] = {}


async def _setup_once(addresses: list) -> float:  # type: ignore[type-arg]
    from stix.remote import fanout
    from stix.remote.wait import wait_for_nodes

    sink: list[bytes] = []
    start = time.perf_counter()
    ts = await wait_for_nodes(addresses, 60)
    connected = time.perf_counter()
    await fanout.upload_agent(ts)
    uploaded = time.perf_counter()
    envs = [{"STIX_NODE_RANK": str(r)} for r in range(len(ts))]
    await fanout.run_setup(ts, SETUP, envs, fanout.LinePrinter(sink.append))
    end = time.perf_counter()
    PHASES.setdefault(len(ts), []).append((connected - start, uploaded - connected,
                                           end - uploaded))
    for t in ts:
        await t.close()
    return end - start


def _first_line_seconds(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = time.perf_counter() - start
    proc.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1,8,32")
    args = parser.parse_args()
    from sshd_fixtures import make_hosts, running_nodes

    root = Path(tempfile.mkdtemp(prefix="stix-bench-"))
    os.environ["STIX_HOME"] = str(root / "home")
    hosts = make_hosts(root)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"nodes: {'network namespaces' if hosts.netns_ok else 'loopback ports'}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    try:
        results = {}
        for n in sizes:
            with running_nodes(hosts, n, root) as nodes:
                addresses = [node.address(hosts.key) for node in nodes]
                runs = []
                for _ in range(args.repeat):
                    hosts.wipe_homes()
                    runs.append(asyncio.run(_setup_once(addresses)))
                results[n] = statistics.median(runs)
                phases = [statistics.median(p) for p in zip(*PHASES[n], strict=True)]
                print(f"setup on {n:>2} node(s): median {results[n]:.2f} s "
                      f"(runs: {', '.join(f'{r:.2f}' for r in runs)}; connect "
                      f"{phases[0]:.2f} s, agent upload {phases[1]:.2f} s, setup "
                      f"{phases[2]:.2f} s)")
        if 1 in results and max(sizes) in results:
            print(f"time({max(sizes)})/time(1) = {results[max(sizes)] / results[1]:.2f}")
        _exec_bench(hosts, root, args.repeat)
    finally:
        hosts.teardown()


def _exec_bench(hosts, root: Path, repeat: int) -> None:  # type: ignore[no-untyped-def]
    import yaml
    from sshd_fixtures import running_nodes

    env = dict(os.environ)
    stix = [sys.executable, "-m", "stix"]
    with running_nodes(hosts, 1, root) as nodes:
        node = nodes[0]
        pools = {"bench": {"hosts": [{"address": node.host.address, "port": node.port,
                                      "user": node.host.user,
                                      "identity_file": str(hosts.key)}]}}
        home = Path(env["STIX_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        (home / "ssh_node_pools.yaml").write_text(yaml.safe_dump(pools))
        task = root / "bench.yaml"
        for infra, name in (("ssh/bench", "bench-ssh"), ("local", "bench-local")):
            task.write_text(f"resources:\n  infra: {infra}\nrun: echo ready\n")
            subprocess.run([*stix, "up", str(task), "-c", name], env=env, check=True,
                           capture_output=True)
            times = [_first_line_seconds([*stix, "exec", name, "--", "echo first"], env)
                     for _ in range(repeat)]
            print(f"stix exec to first log line ({infra}): median "
                  f"{statistics.median(times):.2f} s (runs: "
                  f"{', '.join(f'{t:.2f}' for t in times)})")
            subprocess.run([*stix, "down", name, "-y"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
