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
    **{f"{name}.yaml": [] for name in (
        "batch-inference", "torchrun-multinode", "spot-managed-train", "hyperparam-sweep",
        "dev-box", "vscode-server", "ray-cluster", "data-preprocess", "gcp-l4-inference",
        "azure-a100", "any-of-gpus", "ordered-preference", "git-workdir", "env-file-mounts",
        "k8s-gpu", "eval-pipeline", "copy-mode-bucket", "arm-cpu", "autodown-batch",
        "tensorboard", "vllm-docker", "job-group", "tpu-jax", "cross-cloud-data")},
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
    assert code == 2 and "cluster (-c/--cluster) names one stack" in err
    code, out, _ = run("plan", "two.yaml", "--json")
    assert code == 0
    assert [s["cluster"] for s in json.loads(out)["stacks"]] == ["a", "b"]


PORTS_TASK = "name: web\nresources:\n  cpus: 4\n  infra: aws\n  ports: 8000\nrun: serve\n"


def test_exposure_is_listed_and_strict_policy_fails(project: Path) -> None:
    (project / "web.yaml").write_text(PORTS_TASK)
    code, out, _ = run("plan", "web.yaml")
    assert code == 0
    assert "EXPOSED to the internet" in out
    assert "tcp 22 (ssh) open to 0.0.0.0/0" in out and "tcp 8000" in out
    assert "web-0 has a public IP address" in out
    code, out, err = run("plan", "web.yaml", "--policy", "strict")
    assert code == 1 and "policy strict: web exposes" in err and "refused" in out
    code, out, _ = run("plan", "web.yaml", "--check", "--policy", "strict", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["refused"] and doc["policy"] == "strict"
    kinds = {(f["kind"], f["resource"]) for f in doc["stacks"][0]["exposure"]}
    assert ("open", "aws:ec2/securityGroup:SecurityGroup::web-sg") in kinds
    assert ("public_ip", "aws:ec2/instance:Instance::web-0") in kinds
    code, md, _ = run("plan", "web.yaml", "--markdown")
    assert code == 0 and "**Exposed to the internet**" in md
    assert "`aws:ec2/securityGroup:SecurityGroup::web-sg`: tcp 22 (ssh)" in md
    assert run("plan", "web.yaml", "--policy", "loose")[0] == 2


def test_config_ssh_cidr_is_recorded_in_the_stack_and_kept(project: Path,
                                                           stix_home: Path) -> None:
    (project / "web.yaml").write_text(PORTS_TASK)
    (stix_home / "config.yaml").write_text("ssh_cidr: [203.0.113.0/24, 198.51.100.7]\n")
    code, out, err = run("plan", "web.yaml", "--json")
    assert code == 0, err
    [stack] = json.loads(out)["stacks"]
    assert not [f for f in stack["exposure"] if f["kind"] == "open"]
    text = (project / "stacks" / "Pulumi.web.yaml").read_text()
    assert "ssh_cidrs:\n    - 203.0.113.0/24\n    - 198.51.100.7/32" in text
    graph = json.loads((project / "stacks" / "web.graph.json").read_text())
    ingress = graph["resources"]["aws:ec2/securityGroup:SecurityGroup::web-sg"]["inputs"]
    assert {tuple(r["cidrBlocks"]) for r in ingress["ingress"] if "cidrBlocks" in r} == {
        ("198.51.100.7/32", "203.0.113.0/24")}
    # the stack keeps its CIDRs; a config that now says otherwise is pointed out
    (stix_home / "config.yaml").write_text("ssh_cidr: 10.0.0.0/8\n")
    code, out, err = run("plan", "web.yaml")
    assert code == 0 and "keeps ssh_cidrs 203.0.113.0/24, 198.51.100.7/32" in err
    assert "stix:extra.ssh_cidrs" in err
    assert (project / "stacks" / "Pulumi.web.yaml").read_text() == text


def test_env_ssh_cidr_and_strict_policy_from_config(project: Path, stix_home: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "web.yaml").write_text(PORTS_TASK)
    monkeypatch.setenv("STIX_SSH_CIDR", "10.1.0.0/16")
    (stix_home / "config.yaml").write_text("policy: strict\n")
    code, out, err = run("plan", "web.yaml")
    # SSH and the port are limited; the public address still fails the strict policy
    assert code == 1 and "open to" not in out and "public IP address" in out
    assert "10.1.0.0/16" in (project / "stacks" / "Pulumi.web.yaml").read_text()
    monkeypatch.setenv("STIX_SSH_CIDR", "everyone")
    code, _, err = run("plan", "web.yaml")
    assert code == 2 and "STIX_SSH_CIDR" in err and "'everyone' is not a CIDR" in err


def test_allowed_clouds_bound_the_choice(project: Path, stix_home: Path) -> None:
    (project / "any.yaml").write_text("name: any\nresources:\n  accelerators: A100:8\n"
                                      "run: x\n")
    (stix_home / "config.yaml").write_text("allowed_clouds: [azure]\n")
    code, out, err = run("plan", "any.yaml", "--json")
    assert code == 0, err
    assert json.loads(out)["stacks"][0]["cloud"] == "azure"
    code, _, err = run("plan", "train.yaml")  # pins gcp
    assert code == 2 and "allowed_clouds" in err and "gcp" in err
    code, _, err = run("plan", "any.yaml", "--cloud", "aws")
    assert code == 2 and "pin aws" in err and "allowed_clouds" in err
    (stix_home / "config.yaml").write_text("allowed_clouds: [aws, nimbus]\n")
    code, _, err = run("plan", "any.yaml")
    assert code == 2 and "'nimbus' is not a cloud stix serves" in err


def test_the_plan_says_when_inferentia_is_read_as_inferentia2(project: Path) -> None:
    # SkyPilot's catalogs once named inf2's chips Inferentia: only an inf2.24xlarge has six.
    (project / "neuron.yaml").write_text("resources:\n  accelerators: Inferentia:6\n"
                                         "run: echo hi\n")
    code, out, err = run("plan", "neuron.yaml")
    assert code == 0, out + err
    assert "inf2.24xlarge on aws" in out
    assert ("neuron.yaml:2: resources.accelerators: Inferentia:6 is read as Inferentia or "
            "Inferentia2") in out + err
