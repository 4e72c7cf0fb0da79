"""`image_id: docker:IMAGE` on machines stix does not run as containers: setup, run, exec
and `stix ssh` happen inside the cluster's container, with the workdir, the mounts and the
task's env; a cancel reaches the job inside; `down` removes the container.

Real: Debian's podman running an image built here from this machine's binaries
(tests/container_support.py); the `local` provider is the node.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stix import api
from stix.errors import UsageError
from stix.remote import container as ct
from stix.remote.fanout import LinePrinter
from tests.container_support import IMAGE, MARK, Runtime, find_runtime, podman

TASK = f"""\
name: boxed
resources:
  infra: local
  image_id: docker:{IMAGE}
workdir: ./wd
file_mounts:
  ~/data: ./data
envs:
  GREETING: hello there
secrets:
  TOKEN: null
setup: |
  echo "setup in: $(cat {MARK})" && touch /root/setup-ran
run: |
  cat {MARK}
  echo "$GREETING / $TOKEN / rank $SKYPILOT_NODE_RANK"
  cat hello.txt ~/data/d.txt
  pwd
  ls /root/setup-ran
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return find_runtime(tmp_path_factory.mktemp("image"))


@pytest.fixture
def boxed(runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          stix_home: Path) -> Iterator[Path]:
    for key, value in runtime.env.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "wd").mkdir()
    (tmp_path / "wd" / "hello.txt").write_text("from the workdir\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.txt").write_text("from a file mount\n")
    task = tmp_path / "boxed.yaml"
    task.write_text(TASK)
    monkeypatch.chdir(tmp_path)
    yield task
    podman(runtime, "rm", "-f", "-t", "0", "stix-boxed")
    deadline = time.monotonic() + 30  # the next test makes one of the same name
    while podman(runtime, "container", "exists", "stix-boxed").returncode == 0 and (
            time.monotonic() < deadline):
        time.sleep(0.2)


def _printer() -> tuple[LinePrinter, list[str]]:
    lines: list[str] = []
    return LinePrinter(lambda b: lines.extend(b.decode().splitlines()), prefix=False), lines


def _container_id(rt: Runtime) -> str:
    return podman(rt, "container", "inspect", "--format", "{{.Id}}", "stix-boxed").stdout


def test_setup_and_run_happen_inside_with_the_files_and_the_env(boxed: Path,
                                                                runtime: Runtime) -> None:
    printer, lines = _printer()
    said: list[str] = []
    result = api.up(boxed, secrets={"TOKEN": "s3cret"}, printer=printer, say=said.append)
    assert result.exit_code == 0, lines
    assert not Path(MARK).exists()  # the host is not the image
    assert "setup in: inside the stix test image" in lines
    assert lines[-6:] == ["inside the stix test image", "hello there / s3cret / rank 0",
                          "from the workdir", "from a file mount",
                          "/root/stix_workdir/boxed", "/root/setup-ran"]
    assert any(f"starting container {IMAGE}" in s for s in said)
    first = _container_id(runtime)

    # exec enters the same container (what setup left is there)
    printer, lines = _printer()
    done = api.exec_task("boxed", command=f"ls /root/setup-ran && cat {MARK} && pwd",
                         printer=printer)
    assert done.outcome is not None and done.outcome.exit_code == 0, lines
    assert lines == ["/root/setup-ran", "inside the stix test image", "/root/stix_workdir/boxed"]

    # an unchanged `up` keeps the container and skips setup; a changed mount remakes it,
    # and setup runs again in the new one
    said.clear()
    assert api.up(boxed, secrets={"TOKEN": "s3cret"}, printer=_printer()[0],
                  say=said.append).exit_code == 0
    assert _container_id(runtime) == first
    assert any("setup and what it depends on are unchanged" in s for s in said)
    text = boxed.read_text().replace("  ~/data: ./data", "  ~/data: ./data\n  ~/more: ./data")
    boxed.write_text(text)
    printer, lines = _printer()
    assert api.up(boxed, secrets={"TOKEN": "s3cret"}, printer=printer).exit_code == 0, lines
    assert _container_id(runtime) != first and "setup in: inside the stix test image" in lines

    assert api.down("boxed") is True
    assert podman(runtime, "container", "exists", "stix-boxed").returncode == 1


def test_a_cancel_stops_the_job_inside_the_container(boxed: Path, runtime: Runtime) -> None:
    assert api.up(boxed, secrets={"TOKEN": "x"}, printer=_printer()[0]).exit_code == 0
    started = api.exec_task("boxed", command="sleep 4242; echo not cancelled",
                            detach_run=True)
    assert started.job_id is not None

    def sleeping() -> bool:
        out = subprocess.run(["pgrep", "-f", "sleep 4242"], capture_output=True, text=True)
        return bool(out.stdout.strip())

    deadline = time.monotonic() + 30
    while not sleeping() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sleeping()
    assert api.cancel("boxed", [started.job_id], grace=5)["cancelled"] == [started.job_id]
    deadline = time.monotonic() + 30
    while sleeping() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not sleeping()
    assert api.down("boxed") is True


def test_ssh_lands_inside(boxed: Path, runtime: Runtime) -> None:
    assert api.up(boxed, secrets={"TOKEN": "x"}, printer=_printer()[0]).exit_code == 0
    argv, cwd = api.ssh_command("boxed")
    # a terminal for `-it`: util-linux's script gives the shell one
    done = subprocess.run(["script", "-qec", " ".join(_shell_quote(a) for a in argv),
                           "/dev/null"], input=f"cat {MARK}; pwd; exit\n", text=True,
                          capture_output=True, cwd=cwd, timeout=60,
                          env={**os.environ, **runtime.env})
    assert "inside the stix test image" in done.stdout
    assert "/root/stix_workdir/boxed" in done.stdout
    api.down("boxed")


def test_exec_cannot_add_mounts_to_the_container(boxed: Path, runtime: Runtime,
                                                 tmp_path: Path) -> None:
    assert api.up(boxed, secrets={"TOKEN": "x"}, printer=_printer()[0]).exit_code == 0
    extra = tmp_path / "exec.yaml"
    extra.write_text("file_mounts:\n  ~/late: ./data\nrun: ls ~/late\n")
    from stix.task import load_task

    with pytest.raises(UsageError, match="cannot add file mounts"):
        api.exec_task("boxed", load_task(extra))
    api.down("boxed")


def _shell_quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


# ---- the scripts themselves, without a runtime --------------------------------------------


def test_no_runtime_is_exit_90_and_explained(tmp_path: Path) -> None:
    box = ct.Container(image="x/y:1", cluster="c", binds=("~/stix_workdir/c",))
    done = subprocess.run(["/bin/bash", "-c", ct.start_script(box, create=True)],
                          env={"PATH": str(tmp_path), "HOME": str(tmp_path)}, timeout=30)
    assert done.returncode == 90
    assert ct.explain_exit(90) == "no container runtime (docker or podman) runs on the node"


@pytest.mark.parametrize("ref", ["docker:ubuntu latest", "docker:$(id)", "docker:a;b",
                                 "docker:", "docker:-rf"])
def test_image_references_that_are_not_are_refused(ref: str) -> None:
    assert ct.image_problem(ref) is not None


@pytest.mark.parametrize("ref", ["docker:vllm/vllm-openai:latest",
                                 "docker:nvcr.io/nvidia/pytorch:24.01-py3",
                                 "docker:ghcr.io/o/i@sha256:" + "a" * 64,
                                 "docker:localhost:5000/team/img:v1"])
def test_real_references_pass(ref: str) -> None:
    assert ct.image_problem(ref) is None


def test_values_reach_the_scripts_quoted() -> None:
    box = ct.Container(image="x/y:1", cluster="c", gpus=True,
                       binds=("~/stix_workdir/c", "~/it's here", "/data"))
    script = ct.start_script(box, create=True,
                             login=ct.RegistryLogin("me; rm -rf /", "pw", "r.io"))
    assert "'me; rm -rf /'" in script and "pw" not in script  # the password is on stdin
    assert '-v "$hh"/\'it\'"\'"\'s here\':"$chome"/\'it\'"\'"\'s here\'' in script
    assert "-v /data:/data" in script and "--gpus all" in script
    job = ct.wrap(box, "echo 'hi'; rm -rf ~", ["TOKEN", "A"], "stix_workdir/c")
    assert "-e A -e PYTHONUNBUFFERED -e TOKEN" in job and "TOKEN=" not in job
    assert '-w "$chome"/stix_workdir/c' in job


def test_a_partial_login_is_refused() -> None:
    with pytest.raises(ct.ContainerError, match="missing: SKYPILOT_DOCKER_SERVER"):
        ct.login_from({"SKYPILOT_DOCKER_USERNAME": "u", "SKYPILOT_DOCKER_PASSWORD": "p"})
    assert ct.login_from({"OTHER": "x"}) is None


@pytest.mark.sshd
def test_on_an_ssh_machine_through_sudo(runtime: Runtime, sshd_nodes: Any, sshd_hosts: Any,
                                        stix_home: Path, tmp_path: Path) -> None:
    """A machine of an ssh pool whose login may use the runtime only through sudo (as on
    most servers): the runtime is found through `sudo -n`, the job's env still reaches the
    container by name, and `down` removes the container. One node: this machine's podman
    is shared by every namespace, so two "machines" would share one container store."""
    import shutil

    import yaml

    if shutil.which("sudo") is None:
        pytest.skip("sudo is not installed (.ci/install installs it)")
    (node,) = sshd_nodes(1)
    user = node.host.user
    rules = Path(f"/etc/sudoers.d/stix-test-{user}")
    keep = f'Defaults:{user} env_keep += "CONTAINERS_CONF"\n' if runtime.env else ""
    rules.write_text(f"{keep}{user} ALL=(ALL) NOPASSWD: ALL\n")
    rules.chmod(0o440)
    try:
        node.kill()
        if runtime.env:  # this machine's podman settings, for the login's sessions
            with node.config.open("a") as f:
                f.write(f"SetEnv CONTAINERS_CONF={runtime.env['CONTAINERS_CONF']}\n")
        node.start(host_sys=True)
        (stix_home / "ssh_node_pools.yaml").write_text(yaml.safe_dump({"lab": {
            "identity_file": str(sshd_hosts.key),
            "hosts": [{"address": node.host.address, "port": node.port, "user": user}]}}))
        (tmp_path / "wd").mkdir()
        (tmp_path / "wd" / "w.txt").write_text("synced over ssh\n")
        task = tmp_path / "t.yaml"
        task.write_text(f"name: remote\nworkdir: {tmp_path / 'wd'}\nresources:\n"
                        f"  infra: ssh/lab\n  image_id: docker:{IMAGE}\n"
                        "envs: {WHO: pool}\n"
                        f"run: cat {MARK} w.txt; echo \"$WHO $SKYPILOT_NUM_NODES\"; id -u\n")
        printer, lines = _printer()
        result = api.up(task, cluster="boxssh", printer=printer)
        assert result.exit_code == 0, lines
        assert lines[-4:] == ["inside the stix test image", "synced over ssh", "pool 1", "0"]
        record = (node.host.home / ".stix" / "containers" / "stix-boxssh").read_text()
        assert record.startswith("sudo -n podman\n")
        assert api.down("boxssh") is True
        assert podman(runtime, "container", "exists", "stix-boxssh").returncode == 1
    finally:
        rules.unlink(missing_ok=True)
        podman(runtime, "rm", "-f", "-t", "0", "stix-boxssh")


def test_a_private_registry_login_gets_the_password_on_stdin(
        boxed: Path, runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No registry is reachable here: a `podman` in front of the real one records what
    `login` was given (and passes everything else on)."""
    shim = tmp_path / "shim"
    shim.mkdir()
    record = tmp_path / "login.txt"
    (shim / "podman").write_text(
        "#!/bin/bash\n"
        f'if [ "$1" = login ]; then echo "$*" > {record}; cat >> {record}; exit 0; fi\n'
        f'exec {runtime.binary} "$@"\n')
    (shim / "podman").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}:{os.environ['PATH']}")
    text = boxed.read_text().replace(
        "envs:\n", "envs:\n  SKYPILOT_DOCKER_USERNAME: robot\n"
                   "  SKYPILOT_DOCKER_SERVER: registry.example:5000\n").replace(
        "secrets:\n", "secrets:\n  SKYPILOT_DOCKER_PASSWORD: null\n")
    boxed.write_text(text)
    result = api.up(boxed, secrets={"TOKEN": "x", "SKYPILOT_DOCKER_PASSWORD": "pa ss\nword"},
                    printer=_printer()[0])
    assert result.exit_code == 0
    assert record.read_text() == ("login -u robot --password-stdin registry.example:5000\n"
                                  "pa ss\nword")
    api.down("boxed")
