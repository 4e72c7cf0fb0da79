"""The `local` provider end to end through the real CLI: up, exec, queue, logs, cancel,
status, down — each a separate `stix` process, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

EXAMPLE = REPO / "examples" / "local-hello.yaml"


def stix(*args: str, cwd: Path,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stix", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=120)


def test_local_cluster_lifecycle(tmp_path: Path, stix_home: Path) -> None:
    (tmp_path / "data.txt").write_text("synced\n")
    up = stix("up", str(EXAMPLE), cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert up.stdout.splitlines() == ["setup runs once per cluster",
                                      f"hello from {os.uname().nodename}, node 0/1"]
    assert "job 1 succeeded" in up.stdout + up.stderr

    status = json.loads(stix("status", "--json", cwd=tmp_path).stdout)
    assert [(c["name"], c["provider"], c["status"]) for c in status] == [
        ("local-hello", "local", "UP")]

    failed = stix("exec", "local-hello", "--", "cat data.txt; echo $STIX_NUM_NODES; exit 4",
                  cwd=tmp_path)
    assert failed.returncode == 4
    assert failed.stdout.splitlines() == ["synced", "1"]
    assert "(node-0, 127.0.0.1) failed with exit code 4" in failed.stderr

    argv = stix("exec", "local-hello", "--", "printf", "%s|", "a b", "$HOME", cwd=tmp_path)
    assert argv.returncode == 0 and argv.stdout == "a b|$HOME|\n"

    detached = stix("exec", "local-hello", "-d", "--", "sleep 300", cwd=tmp_path)
    assert detached.returncode == 0 and "job 4" in detached.stderr

    queue = json.loads(stix("queue", "local-hello", "--json", cwd=tmp_path).stdout)
    assert [(j["job_id"], j["status"]) for j in queue] == [
        ("1", "SUCCEEDED"), ("2", "FAILED"), ("3", "SUCCEEDED"), ("4", "RUNNING")]
    assert queue[1]["exit_codes"] == {"node-0": 4}

    cancel = stix("cancel", "local-hello", "--all", "--json", cwd=tmp_path)
    assert json.loads(cancel.stdout) == {"cancelled": ["4"], "already_done": []}
    queue = json.loads(stix("queue", "local-hello", "--json", cwd=tmp_path).stdout)
    assert queue[-1]["status"] == "CANCELLED"

    logs = stix("logs", "local-hello", "1", cwd=tmp_path)
    assert logs.returncode == 0 and logs.stdout.endswith("node 0/1\n")
    follow = stix("logs", "local-hello", "2", "--follow", cwd=tmp_path)
    assert follow.stdout == "synced\n1\n" and follow.returncode == 4

    down = stix("down", "local-hello", "--yes", cwd=tmp_path)
    assert down.returncode == 0 and "is down" in down.stdout
    assert not (stix_home / "local" / "local-hello").exists()
    again = stix("down", "local-hello", "--yes", cwd=tmp_path)
    assert again.returncode == 0 and "does not exist" in again.stdout
    gone = stix("logs", "local-hello", cwd=tmp_path)
    assert gone.returncode == 3 and "no cluster named 'local-hello'" in gone.stderr


def test_two_local_clusters_do_not_collide(tmp_path: Path, stix_home: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text("resources:\n  infra: local\nrun: echo $STIX_CLUSTER > mark; pwd\n")
    a = stix("up", str(task), "-c", "a", cwd=tmp_path)
    b = stix("up", str(task), "-c", "b", cwd=tmp_path)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert a.stdout != b.stdout
    assert (stix_home / "local/a/node-0/mark").read_text() == "a\n"
    assert (stix_home / "local/b/node-0/mark").read_text() == "b\n"
    for name in ("a", "b"):
        assert stix("down", name, "-y", cwd=tmp_path).returncode == 0


def test_cloud_task_without_pulumi_cli_is_one_clear_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin"}  # no pulumi CLI anywhere
    result = stix("up", str(REPO / "examples" / "hello.yaml"), "--yes", cwd=tmp_path, env=env)
    assert result.returncode == 4, result.stderr
    assert "the pulumi CLI is not installed" in result.stderr
    assert "stix install-pulumi" in result.stderr and "Traceback" not in result.stderr
    status = stix("status", "--json", cwd=tmp_path, env=env)
    assert status.returncode == 0 and status.stdout.strip() == "[]"  # nothing recorded


def test_cloud_task_outside_a_project_says_how_to_make_one(tmp_path: Path) -> None:
    result = stix("up", str(REPO / "examples" / "hello.yaml"), "--yes", "--engine",
                  "terraform", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "stix init" in result.stderr


def test_missing_secret_is_a_usage_error(tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text("resources:\n  infra: local\nsecrets:\n  TOKEN: null\nrun: echo\n")
    result = stix("up", str(task), cwd=tmp_path)
    assert result.returncode == 2 and "needs values for TOKEN" in result.stderr
    ok = stix("up", str(task), "--secret", "TOKEN=s3cr3t-value", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "--secret TOKEN=…: a value on the command line is visible" in ok.stderr
    assert "s3cr3t-value" not in ok.stderr + ok.stdout
    quiet = stix("up", str(task), "--secret", "TOKEN", cwd=tmp_path, env={"TOKEN": "y"})
    assert quiet.returncode == 0, quiet.stderr
    assert "visible to other local users" not in quiet.stderr


def test_a_pipeline_runs_in_order_and_stops_at_the_first_failure(tmp_path: Path,
                                                                 stix_home: Path) -> None:
    shared = tmp_path / "shared.txt"
    local = "resources: {infra: local, cpus: 1+, memory: 0.5+}\n"
    other = "resources: {infra: local, cpus: 1+, memory: 0.25+}\n"
    good = tmp_path / "good.yaml"
    good.write_text(f"name: three\n---\nname: make\n{local}run: echo made > {shared}\n---\n"
                    f"name: use\n{local}setup: echo setting up use\n"
                    f"run: cat {shared}; echo on $STIX_CLUSTER\n---\n"
                    f"name: last\n{other}run: echo last on $STIX_CLUSTER\n")
    up = stix("up", str(good), cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert "task 1/3 make on cluster make" in up.stderr
    # the same resources: the cluster is reused, the task's setup and run on its nodes
    assert "task 2/3 use on cluster make (reused: same resources" in up.stderr
    assert "setting up use" in up.stdout and "made\non make" in up.stdout
    assert "task 3/3 last on cluster last" in up.stderr and "last on last" in up.stdout
    assert "`stix down make last` (or `stix down " in up.stderr
    status = json.loads(stix("status", "--json", cwd=tmp_path).stdout)
    assert sorted(c["name"] for c in status) == ["last", "make"]
    refused = stix("up", str(good), "-c", "one", cwd=tmp_path)
    assert refused.returncode == 2 and "is a pipeline" in refused.stderr
    down = stix("down", str(good), "--yes", cwd=tmp_path)  # the pipeline's clusters, by file
    assert down.returncode == 0, down.stderr
    assert "cluster make is down" in down.stdout and "cluster last is down" in down.stdout
    assert json.loads(stix("status", "--json", cwd=tmp_path).stdout) == []

    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: broken\n---\nname: first\n{local}run: exit 3\n---\n"
                   f"name: second\n{local}run: echo never\n")
    up = stix("up", str(bad), cwd=tmp_path)
    assert up.returncode == 3
    assert "task first failed; not run: second" in up.stderr and "never" not in up.stdout
    status = json.loads(stix("status", "--json", cwd=tmp_path).stdout)
    assert [c["name"] for c in status] == ["first"]
    assert stix("down", "first", "--yes", cwd=tmp_path).returncode == 0


def test_a_git_workdir_is_fetched_on_the_nodes(tmp_path: Path, stix_home: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                              text=True, env={**os.environ, "GIT_AUTHOR_NAME": "t",
                                              "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                                              "GIT_COMMITTER_EMAIL": "t@x"}).stdout.strip()

    git("init", "-q", "-b", "main")
    (repo / "train.sh").write_text("echo version one\n")
    git("add", "."), git("commit", "-q", "-m", "one")
    first = git("rev-parse", "HEAD")
    (repo / "train.sh").write_text("echo version two\n")
    git("commit", "-q", "-am", "two")
    task = tmp_path / "t.yaml"
    local = "resources: {infra: local, cpus: 1+, memory: 0.5+}\n"
    task.write_text(f"name: gw\n{local}workdir: {{url: 'file://{repo}', ref: {first}}}\n"
                    "run: sh train.sh\n")
    up = stix("up", str(task), cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    assert up.stdout.strip().endswith("version one") and "fetching file://" in up.stderr
    task.write_text(f"name: gw\n{local}workdir: {{url: 'file://{repo}', ref: main}}\n"
                    "run: sh train.sh\n")
    again = stix("up", str(task), cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.strip().endswith("version two"), again.stderr
    task.write_text(f"name: gw\n{local}workdir: {{url: 'file://{repo}', ref: nosuch}}\n"
                    "run: sh train.sh\n")
    bad = stix("up", str(task), cwd=tmp_path)
    assert bad.returncode != 0 and "the fetch failed on 1 of 1 node(s)" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert stix("down", "gw", "--yes", cwd=tmp_path).returncode == 0
    with_option = tmp_path / "o.yaml"
    with_option.write_text(f"{local}workdir: {{url: '--upload-pack=touch /tmp/x'}}\nrun: x\n")
    refused = stix("validate", str(with_option), cwd=tmp_path)
    assert refused.returncode != 0 and "cannot start with '-'" in refused.stderr
