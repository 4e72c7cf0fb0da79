"""Benchmark: the stix server's managed-jobs control plane on this machine.

Usage: .venv/bin/python benchmarks/server_jobs.py [--jobs 200,1000] [--repeat 20] [--recovery]

A real server process on loopback (uvicorn, SQLite on disk) in a temporary STIX_HOME:
- queue: the median time of `jobs queue --all` with N finished jobs (one attempt each) in
  the database, over the HTTP API, and of the whole `stix jobs queue --all --json` process;
- submit: the median wall time of the HTTP call that submits a checked job until the
  server answers with its id (accepted = queued: the job is in the database), and of the
  whole `stix.api.jobs_launch` (loading and checking the task first), while the server
  takes on `--watched` jobs (`sleep` on `local` clusters);
- memory: the server's resident set watching those jobs, per job over the idle server;
- with --recovery (root, network namespaces): two sshd hosts as an `ssh` pool, a job on
  one, its host killed; the time from the kill to the relaunch on the other host started
  (the new attempt's record), probe 0.5 s and confirmation window 6 s as the tests use.
Results go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL = "resources: {infra: local, cpus: 1+, memory: 0.5+}\n"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def prefill(count: int, spec: object) -> None:
    """`count` finished jobs with one attempt each, written straight into the database
    (the server is not running): what `jobs queue --all` lists after a busy week."""
    from stix.server import store
    from stix.server.db import make_engine, migrate
    from stix.server.models import JobSpec, JobStatus
    from stix.server.settings import load_settings

    assert isinstance(spec, JobSpec)
    engine = make_engine(load_settings().database_url())
    migrate(engine)
    for _ in range(count):
        job_id = store.submit(engine, spec)
        job = store.load(engine, job_id)
        assert job is not None
        attempt = store.new_attempt(engine, job, f"idle-j{job_id}-1")
        now = time.time()
        store.set_attempt(engine, attempt.id, status="SUCCEEDED", running_at=now,
                          ended_at=now, exit_codes={"node-0": 0},
                          placement={"cloud": "local", "region": "local"})
        store.set_job(engine, job_id, status=JobStatus.SUCCEEDED, ended_at=now)
    engine.dispose()


def queue_part(counts: list[int], repeat: int, watched: int, work: Path) -> dict[str, object]:
    from stix import api
    from stix.managed import spec_for
    from stix.server import process
    from stix.server.client import connect

    task = work / "idle.yaml"
    task.write_text(f"name: idle\n{LOCAL}run: sleep 3600\n")
    spec = spec_for(task)
    out: dict[str, object] = {}
    listed = 0
    for target in sorted(counts):
        prefill(target - listed, spec)
        listed = target
        server = process.start()
        client = connect()
        http = []
        for _ in range(repeat):
            start = time.perf_counter()
            jobs = client.queue(everything=True)
            http.append(time.perf_counter() - start)
        cli = []
        for _ in range(max(3, repeat // 4)):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "stix", "jobs", "queue", "--all", "--json"],
                           check=True, capture_output=True)
            cli.append(time.perf_counter() - start)
        out[f"queue_{target}"] = {"jobs": len(jobs), "http_ms": median_ms(http),
                                  "cli_process_ms": median_ms(cli)}
        client.close()
        process.stop()

    # submit latency and memory per watched job, on a server that watches `watched` jobs
    server = process.start()
    client = connect()
    idle = rss_kib(server.pid)
    submit, whole = [], []
    for i in range(watched):
        start = time.perf_counter()
        if i % 2:
            client.launch(spec)
            submit.append(time.perf_counter() - start)
        else:
            api.jobs_launch(task)
            whole.append(time.perf_counter() - start)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if all(j.status.value == "RUNNING" for j in client.queue()):
            break
        time.sleep(1)
    time.sleep(10)  # a few probe rounds
    busy = rss_kib(server.pid)
    out["submit_http_ms"] = median_ms(submit)
    out["jobs_launch_ms"] = median_ms(whole)
    out["watched"] = {"jobs": watched, "rss_idle_kib": idle, "rss_kib": busy,
                      "kib_per_job": round((busy - idle) / watched, 1)}
    api.jobs_cancel(everything=True)
    client.close()
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and api.jobs_queue():
        time.sleep(1)
    process.stop()
    return out


def recovery_part(work: Path) -> dict[str, object]:
    sys.path.insert(0, str(ROOT / "tests"))
    import yaml
    from sshd_fixtures import kill_user_processes, make_hosts, running_nodes

    from stix import api
    from stix.server import process

    os.environ["STIX_SERVER_PROBE_SECONDS"] = "0.5"
    os.environ["STIX_SERVER_CONFIRM_LOSS_SECONDS"] = "6"
    (work / "sshd").mkdir()
    hosts = make_hosts(work / "sshd")
    try:
        with running_nodes(hosts, 2, work) as nodes:
            pool = [{"address": n.host.address, "port": n.port, "user": n.host.user}
                    for n in nodes]
            (Path(os.environ["STIX_HOME"]) / "ssh_node_pools.yaml").write_text(yaml.safe_dump(
                {"lab": {"identity_file": str(hosts.key), "hosts": pool}}))
            task = work / "long.yaml"
            task.write_text("name: long\nresources: {infra: ssh/lab}\nrun: sleep 120\n")
            process.start()
            job = api.jobs_launch(task)
            while True:
                [view] = [j for j in api.jobs_queue() if j.id == job.id]
                if view.status.value == "RUNNING":
                    break
                time.sleep(0.2)
            host = str(view.attempts[0].placement["hosts"][0])  # type: ignore[index]
            victim = next(n for n in nodes if host.startswith(n.host.address + ":"))
            killed = time.time()
            victim.kill()
            kill_user_processes(victim.host.user)
            while True:
                [view] = [j for j in api.jobs_queue() if j.id == job.id]
                if len(view.attempts) > 1:
                    break
                time.sleep(0.2)
            first, second = view.attempts[:2]
            api.jobs_cancel(everything=True)
            while api.jobs_queue():
                time.sleep(0.5)
            process.stop()
            return {"loss_to_relaunch_s": round(second.started_at - killed, 1),
                    "loss_recorded_s": round((first.ended_at or 0) - killed, 1),
                    "confirm_window_s": 6, "probe_s": 0.5, "reason": first.reason}
    finally:
        hosts.teardown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="200,1000")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--watched", type=int, default=50)
    parser.add_argument("--recovery", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stix-bench-") as tmp:
        work = Path(tmp)
        os.environ["STIX_HOME"] = str(work / "home")
        os.chdir(work)
        result: dict[str, object] = {}
        result.update(queue_part([int(n) for n in args.jobs.split(",")], args.repeat,
                                 args.watched, work))
        print(json.dumps(result, indent=2), flush=True)
        if args.recovery:
            result["recovery"] = recovery_part(work)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
