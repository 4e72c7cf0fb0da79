"""`stix optimize` and `stix check` as a user runs them: a real `python -m stix` process over
the hand-checked fixture catalog, with a home directory and environment of our making."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
CATALOG = Path(__file__).parent / "fixtures" / "catalog_small"
_CRED_PREFIXES = ("AWS_", "GOOGLE_", "CLOUDSDK_", "GCLOUD_", "AZURE_", "KUBE", "IDENTITY_",
                  "MSI_")  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No credentials anywhere: a fresh HOME, and no cloud variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_CRED_PREFIXES)}
    home = tmp_path / "home"
    home.mkdir()
    return {**base, "HOME": str(home), "STIX_CATALOG_DIR": str(CATALOG), "COLUMNS": "200"}


def stix(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stix", *args], cwd=REPO, capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip


@pytest.fixture
def gpu_task(tmp_path: Path) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text("name: train\nresources:\n  accelerators: A100:8\nrun: python train.py\n")
    return path


def test_table_per_cloud_and_chosen(env: dict[str, str], gpu_task: Path) -> None:
    out = stix(env, "optimize", str(gpu_task))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "no cloud credentials found: considering every catalog cloud" in out.stdout
    rows = {line.split()[0]: line.split() for line in lines
            if line.strip().startswith(("aws/", "azure/", "gcp/"))}  # fmt: skip
    assert set(rows) == {"aws/us-east-1/us-east-1a", "azure/eastus",
                         "gcp/us-central1/us-central1-a"}  # fmt: skip
    assert rows["azure/eastus"][1:8] == ["Standard_ND96asr_v4", "96", "900", "A100:8", "no",
                                         "27.20", "27.20"]  # fmt: skip
    # The fixture's prices are observed (their age follows the clock).
    assert rows["azure/eastus"][8] == "observed" and rows["azure/eastus"][-1] == "✔"
    assert rows["aws/us-east-1/us-east-1a"][7] == "32.77"
    assert "note: chosen price: observed 2026-05-12" in out.stdout
    assert "chosen: azure/eastus Standard_ND96asr_v4 (A100:8), 1 node, on-demand, $27.20/h" \
        in out.stdout


def test_top_n_candidates(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "cpu.yaml"
    path.write_text("resources: {cpus: 4+, memory: 16+}\nrun: echo\n")
    out = stix(env, "optimize", str(path), "-n", "3")
    assert out.returncode == 0, out.stderr
    assert "Best 3 candidates (cost)" in out.stdout
    infra = [line.split()[:2] for line in out.stdout.splitlines()
             if line.strip().startswith(("aws/", "azure/", "gcp/"))]  # fmt: skip
    assert infra == [["gcp/us-central1/us-central1-a", "e2-standard-4"],
                     ["aws/us-east-1/us-east-1a", "m6i.xlarge"],
                     ["azure/eastus", "Standard_D4s_v5"]]  # fmt: skip


def test_json_shape(env: dict[str, str], gpu_task: Path) -> None:
    out = stix(env, "optimize", str(gpu_task), "--json", "--use-spot", "--num-nodes", "2",
               "-n", "2", "-c", "exp1")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"target", "clouds", "chosen", "candidates", "best_per_cloud",
                         "rejections", "notes"}  # fmt: skip
    chosen = data["chosen"]
    assert (chosen["cloud"], chosen["instance_type"], chosen["use_spot"]) == (
        "gcp", "a2-highgpu-8g", True)
    assert (chosen["cluster"], chosen["num_nodes"]) == ("exp1", 2)
    assert chosen["total_hourly_price"] == pytest.approx(2 * 8.8163)
    assert [c["cloud"] for c in data["candidates"]] == ["gcp", "aws"]
    assert set(data["best_per_cloud"]) == {"aws", "gcp"}  # azure sells no A100:8 spot
    assert {"alternative": "A100:8 spot", "constraint": "use_spot=true", "removed": 1} \
        in data["rejections"]
    assert data["clouds"] == ["aws", "azure", "gcp"]
    assert data["notes"][0].startswith("no cloud credentials found")


def test_nothing_fits_exits_2_with_the_reason(env: dict[str, str], gpu_task: Path) -> None:
    out = stix(env, "optimize", str(gpu_task), "--gpus", "A100:16")
    assert out.returncode == 2
    assert out.stdout == ""
    assert "error: nothing fits: A100:16 is not offered; A100:8 is, from $27.20/h in azure " \
        "eastus (Standard_ND96asr_v4)" in out.stderr
    assert "Traceback" not in out.stderr
    as_json = stix(env, "optimize", str(gpu_task), "--gpus", "A100:16", "--json")
    assert as_json.returncode == 2
    data = json.loads(as_json.stdout)
    assert data["reasons"][0].startswith("A100:16 is not offered; A100:8 is")
    assert data["error"].startswith("nothing fits: ")


def test_overrides_from_flags(env: dict[str, str], gpu_task: Path) -> None:
    out = stix(env, "optimize", str(gpu_task), "--gpus", "T4:1", "--cloud", "aws",
               "--region", "us-east-1", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    chosen = json.loads(out.stdout)["chosen"]
    assert (chosen["cloud"], chosen["instance_type"]) == ("aws", "g4dn.xlarge")
    out = stix(env, "optimize", str(gpu_task), "--gpus", "L4", "--target", "time",
               "--zone", "europe-west4-a", "--json")  # fmt: skip
    assert json.loads(out.stdout)["chosen"]["region"] == "europe-west4"


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "speed"], "--target must be cost or time"),
    (["--cpus", "lots"], "cpus (--cpus): cpus must look like"),
    (["--cloud", "fluidstack"], "resources pin cloud 'fluidstack', which stix does not serve"),
    (["-n", "-1"], "--candidates must be 0 or more"),
])
def test_bad_flags(env: dict[str, str], gpu_task: Path, args: list[str], message: str) -> None:
    out = stix(env, "optimize", str(gpu_task), *args)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "Traceback" not in out.stderr


def test_credentials_choose_the_clouds(env: dict[str, str], gpu_task: Path) -> None:
    with_aws = {**env, "AWS_ACCESS_KEY_ID": "AKIDTESTONLY", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    data = json.loads(stix(with_aws, "optimize", str(gpu_task), "--json").stdout)
    assert data["clouds"] == ["aws"]
    assert data["notes"][0] == "considering clouds with credentials: aws"
    assert data["chosen"]["cloud"] == "aws"
    # A cloud the task names is planned on too, credentials or not.
    data = json.loads(stix(with_aws, "optimize", str(gpu_task), "--cloud", "gcp",
                           "--json").stdout)  # fmt: skip
    assert (data["clouds"], data["chosen"]["cloud"]) == (["aws", "gcp"], "gcp")
    everything = json.loads(stix(with_aws, "optimize", str(gpu_task), "--all-clouds",
                                 "--json").stdout)  # fmt: skip
    assert everything["chosen"]["cloud"] == "azure"


def test_check_json_and_table(env: dict[str, str]) -> None:
    out = stix(env, "check", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    statuses = {s["cloud"]: s for s in report["clouds"]}
    assert {e["engine"] for e in report["engines"]} == {"pulumi", "terraform"}
    assert {"aws", "gcp", "azure", "kubernetes"} <= set(statuses)
    assert not statuses["aws"]["ok"] and "aws configure" in statuses["aws"]["hint"]
    with_aws = {**env, "AWS_ACCESS_KEY_ID": "AKIDTESTONLY", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
    out = stix(with_aws, "check", "--json")
    aws = {s["cloud"]: s for s in json.loads(out.stdout)["clouds"]}["aws"]
    assert aws["ok"] and aws["sources"] == ["env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"]
    assert "s3cr3t" not in out.stdout and "AKIDTESTONLY" not in out.stdout
    table = stix(env, "check")
    assert table.returncode == 0
    assert "no AWS credentials found" in table.stdout
    assert "`stix optimize` still plans over every catalog cloud" in table.stdout


PROBE = """
import json, sys
sys.argv = ["stix", *sys.argv[1:]]
from stix.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_check_without_verify_imports_no_sdk(env: dict[str, str]) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, "check", "--json"], cwd=REPO,
                         capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    mods = set(json.loads(out.stderr.strip().splitlines()[-1]))
    assert not {m for m in mods if m.split(".")[0] in ("boto3", "botocore", "google", "azure",
                                                        "kubernetes", "pulumi")}  # fmt: skip


def test_a_decision_on_estimated_spot_prices_says_so(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "spot.yaml"
    path.write_text("resources: {accelerators: T4, use_spot: true}\nrun: echo\n")
    shipped = {k: v for k, v in env.items() if k != "STIX_CATALOG_DIR"}
    out = stix(shipped, "optimize", str(path))
    assert out.returncode == 0, out.stderr
    assert "note: chosen price: estimated 2026-11" in out.stdout
    assert "the chosen spot price is estimated, not read from the cloud's price source" in (
        out.stdout)
    doc = json.loads(stix(shipped, "optimize", str(path), "--json").stdout)
    assert doc["chosen"]["price_source"] == "estimated" and doc["chosen"]["price_as_of"] == "2026-11"
    assert any("spot price is estimated" in n for n in doc["notes"])


def test_a_pipeline_gets_a_placement_per_task(env: dict[str, str], tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yaml"
    pipe.write_text("name: prep-train\n---\nname: prep\nresources: {cpus: 4+}\nrun: x\n---\n"
                    "name: train\nresources: {accelerators: A100:8}\nrun: y\n")
    out = stix(env, "optimize", str(pipe), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["pipeline"] == "prep-train"
    assert [t["task"] for t in doc["tasks"]] == ["prep", "train"]
    assert doc["tasks"][1]["chosen"]["accelerator"]["name"] == "A100"
    assert doc["transfer_usd"] == 0 and doc["transfers"] == []
    assert doc["total_usd"] == pytest.approx(sum(t["chosen"]["total_hourly_price"]
                                                 for t in doc["tasks"]))
    assert "2 task(s) on 2 cluster(s), placed together" in doc["notes"][0]
    text = stix(env, "optimize", str(pipe))
    assert "task 1/2: prep" in text.stdout and "task 2/2: train" in text.stdout
    refused = stix(env, "optimize", str(pipe), "-c", "one")
    assert refused.returncode == 2 and "-c/--cluster names one cluster" in refused.stderr


def test_data_moved_between_tasks_is_priced_and_shown(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.yaml"
    cpu = "resources: {infra: aws/eu-west-1, cpus: 4, memory: 16}"
    pipe.write_text(f"name: p\n---\nname: prep\n{cpu}\noutputs: {{s3://b/x: 100}}\nrun: x\n"
                    "---\nname: train\nresources: {infra: aws, cpus: 4, memory: 16}\nrun: y\n"
                    "---\nname: eval\nresources: {infra: aws, cpus: 4, memory: 16}\n"
                    "outputs: {gs://results/r: 10}\nrun: z\n")
    doc = json.loads(stix(env, "optimize", str(pipe), "--json").stdout)
    assert [(t["task"], t["cluster"], t["reuses_cluster"]) for t in doc["tasks"]] == [
        ("prep", "prep", False), ("train", "train", False), ("eval", "train", True)]
    assert doc["tasks"][1]["chosen"]["region"] == "eu-west-1"  # next to its 100 GB input
    assert doc["clusters"] == [{"cluster": "prep", "tasks": ["prep"]},
                               {"cluster": "train", "tasks": ["train", "eval"]}]
    moved, written = doc["transfers"]
    assert (moved["task"], moved["data"], moved["usd"]) == ("train", "task prep", 0)
    assert (written["data"], written["source"], written["destination"]) == (
        "gs://results/r", "aws/eu-west-1", "gcp")
    assert written["usd"] == pytest.approx(10 * written["usd_per_gb"]) and written["usd"] > 0
    assert doc["transfer_usd"] == pytest.approx(written["usd"])
    text = stix(env, "optimize", str(pipe)).stdout
    assert "runs on cluster train after task train" in text
    assert "data: task eval outputs → gs://results/r: 10 GB" in text
    single = tmp_path / "one.yaml"
    single.write_text("resources: {cpus: 4, memory: 16}\ninputs: {s3://raw/d: 100}\nrun: x\n")
    one = json.loads(stix(env, "optimize", str(single), "--json").stdout)
    assert one["chosen"]["cloud"] == "aws" and one["transfer_usd"] == 0
    assert one["transfers"][0]["data"] == "s3://raw/d"


def test_env_file_reads_dotenv_lines(tmp_path: Path) -> None:
    from stix.cli.options import env_file
    from stix.errors import UsageError

    path = tmp_path / "app.env"
    path.write_text("# comment\nA=1\nexport B='two words'\nC=\"x=y\"\nD=v # note\n\n")
    assert env_file(path) == {"A": "1", "B": "two words", "C": "x=y", "D": "v"}
    path.write_text("A=1\nnot a pair\n")
    with pytest.raises(UsageError, match=r"app\.env:2: expected KEY=VALUE"):
        env_file(path)
    assert env_file(None) == {}
