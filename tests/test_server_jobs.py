"""Managed jobs end to end: a real stix server process on loopback (uvicorn, SQLite on
disk), jobs on `ssh` pool hosts made of real sshd nodes in network namespaces, and on
this machine (`local`). Nodes are killed, the server is restarted, runs fail."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stix import api
from stix.server import process
from stix.server.models import JobView

STEP = """umask 000  # the checkpoint is shared by the users of both hosts
ck={ck}
n=$(cat $ck 2>/dev/null || echo 0)
echo "attempt $STIX_JOB_ATTEMPT resumes after step $n ($STIX_TASK_ID)"
while [ $n -lt {steps} ]; do n=$((n+1)); echo "step $n"; echo $n > $ck; sleep {pause}; done
echo finished
"""


@pytest.fixture
def server(stix_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[process.Running]:
    for key, value in {"STIX_SERVER_PROBE_SECONDS": "0.5",
                       "STIX_SERVER_CONFIRM_LOSS_SECONDS": "6"}.items():
        monkeypatch.setenv(key, value)
    running = process.start()
    yield running
    process.stop()


@pytest.fixture
def shared() -> Iterator[Path]:
    """A directory the sshd nodes' users can write (a persistent bucket's stand-in); pytest's
    own temporary tree is private to the user running the tests."""
    path = Path(tempfile.mkdtemp(prefix="stix-ckpt-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _wait(job_id: int, done: Callable[[JobView], bool], what: str,
          timeout: float = 180) -> JobView:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [job] = [j for j in api.jobs_queue(everything=True) if j.id == job_id]
        if done(job):
            return job
        time.sleep(0.3)
    logs = (process.log_path().read_text()[-3000:] if process.log_path().is_file() else "")
    raise AssertionError(f"job {job_id}: timed out waiting for {what}: {job}\n{logs}")


def _logs(job_id: int, attempt: int | None = None, controller: bool = False) -> str:
    out: list[str] = []
    api.jobs_logs(job_id, attempt=attempt, controller=controller,
                  write=lambda label, text: out.append(f"[{label}] {text}"))
    return "".join(out)


def _task(tmp_path: Path, name: str, body: str, resources: str, extra: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nresources:\n{resources}{extra}run: |\n"
                    + "".join(f"  {line}\n" for line in body.splitlines()))
    return path


def _pool(stix_home: Path, nodes: list[Any], key: Path) -> None:
    hosts = [{"address": n.host.address, "port": n.port, "user": n.host.user} for n in nodes]
    (stix_home / "ssh_node_pools.yaml").write_text(yaml.safe_dump(
        {"lab": {"identity_file": str(key), "hosts": hosts}}))


@pytest.mark.sshd
@pytest.mark.slow
def test_a_killed_node_is_recovered_on_another_host_from_its_checkpoint(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, stix_home: Path,
        tmp_path: Path, server: process.Running, shared: Path) -> None:
    from sshd_fixtures import kill_user_processes

    nodes = sshd_nodes(2)
    if nodes[0].host.address == nodes[1].host.address:
        pytest.skip("needs network namespaces (two machines)")
    _pool(stix_home, nodes, sshd_hosts.key)
    ck = shared / "ckpt"
    task = _task(tmp_path, "train", STEP.format(ck=ck, steps=10, pause=1), "  infra: ssh/lab\n")
    accepted = api.jobs_launch(task)
    _wait(accepted.id, lambda j: j.status.value == "RUNNING" and ck.exists()
          and int(ck.read_text() or 0) >= 2, "two steps")
    [job] = [j for j in api.jobs_queue() if j.id == accepted.id]
    first_host = job.attempts[0].placement["hosts"][0]  # type: ignore[index]
    victim = next(n for n in nodes if first_host.startswith(n.host.address + ":"))
    victim.kill()  # the machine is gone: its sshd, and everything its user ran
    kill_user_processes(victim.host.user)
    lost_at = int(ck.read_text())
    done = _wait(accepted.id, lambda j: j.status.terminal, "the job to finish")
    assert done.status.value == "SUCCEEDED", done
    assert done.recoveries == 1 and len(done.attempts) == 2
    first, second = done.attempts
    # Lost as a node, not failed as code: unanswered probes, or (when a probe lands while
    # the node's sshd is still up and its runner is already killed) the run died with it.
    assert first.status == "LOST" and any(
        why in (first.reason or "") for why in ("did not answer", "died with its node"))
    assert second.status == "SUCCEEDED"
    assert second.placement["hosts"] != first.placement["hosts"]  # type: ignore[index]
    assert ck.read_text().strip() == "10"
    later = _logs(accepted.id, attempt=2)
    assert f"attempt 2 resumes after step {lost_at}" in later and "finished" in later
    assert f"step {lost_at + 1}" in later and "step 1\n" not in later
    assert "step 1" in _logs(accepted.id, attempt=1)  # the lost attempt's logs are kept
    # the same task id in both attempts, for code that keys checkpoints on it
    assert later.count(f"stix-job-{accepted.id}-train") == 1
    assert f"stix-job-{accepted.id}-train" in _logs(accepted.id, attempt=1)
    detail = api.jobs_queue(everything=True)[0]
    assert detail.id == accepted.id
    assert api.status() == []  # every attempt's cluster is gone


@pytest.mark.sshd
@pytest.mark.slow
def test_a_short_outage_recovers_nothing(sshd_nodes: Callable[[int], list[Any]],
                                         sshd_hosts: Any, stix_home: Path, tmp_path: Path,
                                         server: process.Running, shared: Path) -> None:
    import signal

    [node] = sshd_nodes(1)
    _pool(stix_home, [node], sshd_hosts.key)
    ck = shared / "ck"
    task = _task(tmp_path, "steady", STEP.format(ck=ck, steps=10, pause=1), "  infra: ssh/lab\n")
    accepted = api.jobs_launch(task)
    _wait(accepted.id, lambda j: j.status.value == "RUNNING" and ck.exists(), "the run")
    assert node.proc is not None
    os.kill(node.proc.pid, signal.SIGSTOP)  # sshd answers nothing for a while
    try:
        time.sleep(4)  # under the 6 s confirmation window
    finally:
        os.kill(node.proc.pid, signal.SIGCONT)
    done = _wait(accepted.id, lambda j: j.status.terminal, "the job to finish")
    assert done.status.value == "SUCCEEDED" and done.recoveries == 0
    assert len(done.attempts) == 1


def test_user_failures_are_restarted_up_to_the_budget(stix_home: Path, tmp_path: Path,
                                                     server: process.Running) -> None:
    counter = tmp_path / "runs"
    task = _task(tmp_path, "flaky", f"echo run >> {counter}\nexit 3",
                 "  infra: local\n  cpus: 1+\n  memory: 0.5+\n"
                 "  job_recovery:\n    max_restarts_on_errors: 2\n")
    accepted = api.jobs_launch(task)
    done = _wait(accepted.id, lambda j: j.status.terminal, "the job to fail")
    assert done.status.value == "FAILED" and done.restarts == 2
    assert [a.status for a in done.attempts] == ["FAILED"] * 3
    assert "exit 3 after 2 restart(s)" in (done.reason or "")
    assert counter.read_text().count("run") == 3
    # exit codes listed in recover_on_exit_codes are restarted without counting
    marker = tmp_path / "once"
    task = _task(tmp_path, "retry", f"if [ ! -e {marker} ]; then touch {marker}; exit 42; fi",
                 "  infra: local\n  cpus: 1+\n  memory: 0.5+\n"
                 "  job_recovery:\n    recover_on_exit_codes: [42]\n")
    again = api.jobs_launch(task)
    done = _wait(again.id, lambda j: j.status.terminal, "the job to finish")
    assert done.status.value == "SUCCEEDED" and done.restarts == 0
    assert [a.status for a in done.attempts] == ["FAILED", "SUCCEEDED"]


def test_a_restarted_server_resumes_without_relaunching(stix_home: Path, tmp_path: Path,
                                                       server: process.Running) -> None:
    ck = tmp_path / "ck"
    task = _task(tmp_path, "long", STEP.format(ck=ck, steps=6, pause=1),
                 "  infra: local\n  cpus: 1+\n  memory: 0.5+\n")
    accepted = api.jobs_launch(task)
    _wait(accepted.id, lambda j: j.status.value == "RUNNING" and ck.exists(), "the run")
    process.stop()
    time.sleep(1)
    restarted = process.start()
    assert restarted.pid != server.pid
    done = _wait(accepted.id, lambda j: j.status.terminal, "the job to finish")
    assert done.status.value == "SUCCEEDED" and len(done.attempts) == 1
    assert _logs(accepted.id).count("resumes after step") == 1  # the run started once
    assert ck.read_text().strip() == "6"


def test_cancel_tears_the_cluster_down_and_bad_input_is_refused(
        stix_home: Path, tmp_path: Path, server: process.Running) -> None:
    from stix.errors import StixError

    task = _task(tmp_path, "idle", "sleep 300", "  infra: local\n  cpus: 1+\n  memory: 0.5+\n")
    accepted = api.jobs_launch(task)
    _wait(accepted.id, lambda j: j.status.value == "RUNNING", "the run")
    assert api.jobs_cancel(ids=[accepted.id]) == [accepted.id]
    done = _wait(accepted.id, lambda j: j.status.terminal, "the cancel")
    assert done.status.value == "CANCELLED" and api.status() == []
    # refused at launch, with `stix up`'s messages, before anything reaches the server
    bad = _task(tmp_path, "huge", "true", "  infra: gcp\n  accelerators: H100:64\n")
    with pytest.raises(StixError, match="nothing fits"):
        api.jobs_launch(bad)
    missing = tmp_path / "secret.yaml"
    missing.write_text("name: s\nresources: {infra: local, cpus: 1+, memory: 0.5+}\n"
                       "secrets: {TOKEN: null}\nrun: 'true'\n")
    with pytest.raises(StixError, match="needs values for TOKEN"):
        api.jobs_launch(missing)
    assert [j.id for j in api.jobs_queue(everything=True)] == [accepted.id]


def test_a_pipeline_runs_its_tasks_in_order_as_one_job(stix_home: Path, tmp_path: Path,
                                                       server: process.Running) -> None:
    out = tmp_path / "stage"
    local = "resources: {infra: local, cpus: 1+, memory: 0.5+}\n"
    pipeline = tmp_path / "pipe.yaml"
    pipeline.write_text(
        "name: twostep\n---\n"
        f"name: prep\n{local}run: echo prepared > {out}\n---\n"
        f"name: train\n{local}run: |\n  cat {out}\n  echo trained $STIX_JOB_ATTEMPT\n")
    accepted = api.jobs_launch(pipeline)
    done = _wait(accepted.id, lambda j: j.status.terminal, "the pipeline")
    assert done.status.value == "SUCCEEDED" and done.name == "twostep" and done.tasks == 2
    assert [(a.task_index, a.status) for a in done.attempts] == [(0, "SUCCEEDED"),
                                                                 (1, "SUCCEEDED")]
    second = _logs(accepted.id, attempt=2)
    assert "prepared" in second and "trained 2" in second
    assert api.status() == []  # each task's cluster went when it finished


def test_a_job_that_cannot_be_provisioned_retries_then_fails_with_its_attempts(
        stix_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stix import state
    from stix.placement import Placement
    from stix.remote.transport import NodeAddress

    monkeypatch.setenv("STIX_SERVER_PROBE_SECONDS", "0.5")
    monkeypatch.setenv("STIX_SERVER_PROVISION_RETRY_MINUTES", "0.05")  # 3 s
    key = tmp_path / "id"
    key.write_text("unused: nothing connects\n")
    (stix_home / "ssh_node_pools.yaml").write_text(yaml.safe_dump(
        {"lab": {"identity_file": str(key), "hosts": [{"address": "198.51.100.9"}]}}))
    task = _task(tmp_path, "wait", "true", "  infra: ssh/lab\n")
    busy = Placement(cluster="other", cloud="ssh", region="lab", instance_type="lab",
                         num_nodes=1, vcpus=1, memory_gib=1, hourly_price=0.0)
    now = time.time()
    state.put_cluster(state.connect(), state.ClusterRecord(
        "other", "ssh", busy, state.ClusterStatus.UP, now, now, 0.0,
        [NodeAddress("node-0", "198.51.100.9", 22, identity_file=str(key), cluster="other")]))
    process.start()
    try:
        accepted = api.jobs_launch(task)
        done = _wait(accepted.id, lambda j: j.status.terminal, "the job to give up", 120)
    finally:
        process.stop()
    assert done.status.value == "FAILED_NO_RESOURCE", done
    assert len(done.attempts) >= 2 and all(a.status == "FAILED" for a in done.attempts)
    assert "within 0.05 min" in (done.reason or "") and "in use by: other" in (done.reason or "")
    assert all(a.cluster in (done.reason or "") for a in done.attempts)


def test_cancel_while_launching_leaves_nothing(stix_home: Path, tmp_path: Path,
                                               server: process.Running) -> None:
    ran = tmp_path / "ran"
    task = _task(tmp_path, "slow", f"touch {ran}; sleep 300",
                 "  infra: local\n  cpus: 1+\n  memory: 0.5+\n", extra="setup: sleep 4\n")
    accepted = api.jobs_launch(task)
    _wait(accepted.id, lambda j: j.status.value == "STARTING", "the launch")
    api.jobs_cancel(ids=[accepted.id])
    done = _wait(accepted.id, lambda j: j.status.terminal, "the cancel")
    assert done.status.value == "CANCELLED" and api.status() == []
    assert [a.status for a in done.attempts] == ["CANCELLED"]


def test_sky_jobs_from_python(stix_home: Path, tmp_path: Path, server: process.Running,
                              capfd: pytest.CaptureFixture[str]) -> None:
    import stix as sky

    task = sky.Task(name="pyjob", run="echo from python $STIX_JOB_ATTEMPT $GREETING",
                    resources=sky.Resources(cloud=sky.Local(), cpus="1+", memory="0.5+"))
    job_id, _ = sky.get(sky.jobs.launch(task))
    done = _wait(job_id, lambda j: j.status.terminal, "the job")
    assert done.status.value == "SUCCEEDED" and done.name == "pyjob"
    assert [j.id for j in sky.get(sky.jobs.queue())] == [job_id]
    assert sky.jobs.tail_logs(job_id=job_id, follow=False) == 0
    assert "from python 1" in capfd.readouterr().out
    with sky.Dag() as dag:
        sky.Task(name="one", run="true", resources=sky.Resources(cloud="local"))
        sky.Task(name="two", run="true", resources=sky.Resources(cloud="local"))
    two, _ = sky.get(sky.jobs.launch(dag, name="both"))
    both = _wait(two, lambda j: j.status.terminal, "the Dag")
    assert both.status.value == "SUCCEEDED" and both.tasks == 2
