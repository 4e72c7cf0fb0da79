"""`stix init` and `stix plan` as a user and a CI job run them: real task files, the shipped
catalog, the real optimizer, cloud-init renderer and Pulumi programs (under mocks), git."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
pytest.importorskip("pulumi", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

# The committed example stacks in stacks/, and the flags they were planned with.
EXAMPLES = {
    "hello.yaml": [],
    "distributed-train.yaml": [],
    "notebook-gpu.yaml": [],
    "serve-llm.yaml": [],
    "pipeline.yaml": [],
    "finetune-a100.yaml": [],  # its S3 bucket pins it to aws
    "k8s-job.yaml": [],  # a pod in the pinned context
}
TASK = "name: train\nresources:\n  accelerators: {acc}\n  infra: gcp\nrun: python train.py\n"


def run(*args: str) -> tuple[int, str, str]:
    """`stix ARGS` in this process (the CLI's own entry point: messages, exit codes)."""
    import contextlib
    import io

    from stix.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            code = 0
    return code, out.getvalue(), err.getvalue()


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=cwd, check=True, capture_output=True)  # fmt: skip


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("needs git")
    root = tmp_path / "infra"
    assert run("init", str(root))[0] == 0
    git(root, "init", "-q")
    (root / "train.yaml").write_text(TASK.format(acc="A100:1"))
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "200")
    return root


def test_plan_writes_the_stack_then_check_passes_once_committed(project: Path) -> None:
    code, out, _ = run("plan", "train.yaml")
    assert code == 0, out
    assert "stack train: 1 × a2-highgpu-1g on gcp" in out
    assert "+ create   gcp:compute/instance:Instance  train-0" in out
    assert (project / "stacks" / "Pulumi.train.yaml").is_file()
    graph = json.loads((project / "stacks" / "train.graph.json").read_text())
    assert graph["program"] == "gcp" and "gcp:compute/instance:Instance::train-0" in \
        graph["resources"]
    # not committed yet: the CI gate fails
    assert run("plan", "train.yaml", "--check")[0] == 1
    git(project, "add", "-A")
    git(project, "commit", "-qm", "stack")
    code, out, err = run("plan", "train.yaml", "--check")
    assert code == 0, out + err
    assert "no changes" in out


def test_edited_task_shows_the_instance_change_and_cost(project: Path) -> None:
    assert run("plan", "train.yaml")[0] == 0
    git(project, "add", "-A")
    git(project, "commit", "-qm", "stack")
    before = (project / "stacks" / "train.graph.json").read_text()
    (project / "train.yaml").write_text(TASK.format(acc="A100:8"))
    code, out, err = run("plan", "train.yaml", "--check")
    assert code == 1 and "committed stack differs" in err
    assert (project / "stacks" / "train.graph.json").read_text() == before  # --check writes nothing
    code, out, _ = run("plan", "train.yaml", "--json")
    assert code == 0
    doc = json.loads(out)
    [stack] = doc["stacks"]
    assert stack["baseline"] == "git HEAD" and stack["differs"] and stack["written"]
    [change] = [c for c in stack["changes"] if c["name"] == "train-0"]
    assert change["action"] == "update"
    assert {"path": "machineType", "before": "a2-highgpu-1g",
            "after": "a2-highgpu-8g"} in change["inputs"]
    price = stack["hourly_price"]
    assert price["after"] > 7 * price["before"] and price["delta"] == pytest.approx(
        price["after"] - price["before"])
    code, md, _ = run("plan", "train.yaml", "--markdown")
    assert code == 0 and md.startswith("### stack train")
    assert "`machineType: \"a2-highgpu-1g\" → \"a2-highgpu-8g\"`" in md


def test_infra_options_and_key_survive_a_replan(project: Path) -> None:
    assert run("plan", "train.yaml")[0] == 0
    cfg = project / "stacks" / "Pulumi.train.yaml"
    text = cfg.read_text().replace("stix:extra: {}", "stix:extra:\n    ssh_cidrs: [10.0.0.0/8]")
    cfg.write_text(text)
    key_line = next(line for line in text.splitlines() if "ssh_public_key" in line)
    (project / "train.yaml").write_text(TASK.format(acc="A100:2"))
    assert run("plan", "train.yaml")[0] == 0
    text = cfg.read_text()
    assert "ssh_cidrs:\n    - 10.0.0.0/8" in text and key_line in text
    graph = json.loads((project / "stacks" / "train.graph.json").read_text())
    fw = graph["resources"]["gcp:compute/firewall:Firewall::train-allow-in"]["inputs"]
    assert fw["sourceRanges"] == ["10.0.0.0/8"]


def test_outside_a_project_says_how_to_make_one(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.yaml").write_text(TASK.format(acc="A100:1"))
    code, _, err = run("plan", "t.yaml")
    assert code == 3 and "no stix project" in err and "stix init" in err
    assert "Traceback" not in err


def test_bad_task_and_ssh_clouds_are_messages(project: Path) -> None:
    (project / "bad.yaml").write_text("resources:\n  acelerators: A100:1\n")
    code, _, err = run("plan", "bad.yaml")
    assert code == 2 and "bad.yaml" in err and "Traceback" not in err
    code, _, err = run("plan", "train.yaml", "--json", "--markdown")
    assert code == 2 and "do not go together" in err


def test_a_real_process_without_credentials(project: Path, tmp_path: Path) -> None:
    """The CI path end to end: a fresh `python -m stix` with no cloud variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "GOOGLE_", "AZURE_", "KUBE"))}  # fmt: skip
    env["HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "stix", "plan", "train.yaml", "--json"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stacks"][0]["summary"]["create"] >= 5


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_committed_example_stacks_are_current(example: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run("plan", f"examples/{example}", "--check", *EXAMPLES[example])
    assert code == 0, (f"stacks/ is stale for examples/{example}: run `stix plan "
                       f"examples/{example} {' '.join(EXAMPLES[example])}` and commit\n{out}{err}")


def test_outside_git_the_previous_file_is_the_baseline(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "nogit"
    assert run("init", str(root))[0] == 0
    (root / "t.yaml").write_text(TASK.format(acc="A100:1"))
    monkeypatch.chdir(root)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repo above us either
    assert run("plan", "t.yaml")[0] == 0
    code, out, _ = run("plan", "t.yaml", "--check")
    assert code == 0 and "(vs file)" in out and "no changes" in out
    (root / "t.yaml").write_text(TASK.format(acc="A100:2"))
    code, out, _ = run("plan", "t.yaml")
    assert code == 0 and "a2-highgpu-1g\" → \"a2-highgpu-2g" in out


def test_a_pipeline_gets_one_stack_per_task_and_refuses_one_name(project: Path) -> None:
    (project / "two.yaml").write_text(
        "name: a\nresources: {infra: gcp, cpus: 2+}\nrun: x\n---\n"
        "name: b\nresources: {infra: gcp, cpus: 4+}\nrun: y\n")
    code, _, err = run("plan", "two.yaml", "-c", "one")
    assert code == 2 and "-c/--cluster names one stack" in err
    code, out, _ = run("plan", "two.yaml", "--json")
    assert code == 0
    assert [s["cluster"] for s in json.loads(out)["stacks"]] == ["a", "b"]
