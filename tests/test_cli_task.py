"""The CLI as a user runs it: a real `python -m stix` process, exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent


def stix(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stix", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "120", **(env or {})}, timeout=60,
    )


def test_version() -> None:
    out = stix("--version")
    assert out.returncode == 0 and out.stdout.startswith("stix ")


def test_help_lists_commands() -> None:
    out = stix("--help")
    assert out.returncode == 0
    for command in ("validate", "show-task", "schema"):
        assert command in out.stdout


def test_validate_ok_and_bad(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("run: echo hi\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("resources:\n  acclerators: A100\n")
    out = stix("validate", str(good), str(bad))
    assert out.returncode == 2
    assert "good.yaml: OK" in out.stdout
    assert "bad.yaml:2:3: resources.acclerators: unknown field (did you mean 'accelerators'?)" in (
        out.stderr)
    assert "Traceback" not in out.stderr


def test_validate_reports_needed_envs(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("envs:\n  A: null\nrun: echo $A\n")
    out = stix("validate", str(path))
    assert out.returncode == 0 and "needs --env/--secret for A" in out.stdout
    out = stix("validate", str(path), "--env", "A=1")
    assert out.returncode == 0 and "needs" not in out.stdout


def test_malformed_yaml_exit_2_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("name: [oops\n")
    out = stix("show-task", str(path))
    assert out.returncode == 2
    assert "t.yaml:2:1: invalid YAML" in out.stderr
    assert "Traceback" not in out.stderr


def test_debug_shows_traceback(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("name: [oops\n")
    out = stix("--debug", "show-task", str(path))
    assert out.returncode == 2 and "Traceback" in out.stderr


def test_missing_file() -> None:
    out = stix("show-task", "/nonexistent/task.yaml")
    assert out.returncode == 2 and "no such file" in out.stderr


def test_unknown_command_is_usage_error() -> None:
    out = stix("frobnicate")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_show_task_json_normalizes() -> None:
    out = stix("show-task", "examples/serve-llm.yaml", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["resources"]["accelerators"] == ["L40S:1", "A100:1", "H100:1"]
    assert data["resources"]["ports"] == [8000]
    assert data["resources"]["cpus"] == "8+"


def test_show_task_pipeline_json() -> None:
    out = stix("show-task", "examples/pipeline.yaml", "--json")
    data = json.loads(out.stdout)
    assert data["name"] == "preprocess-then-train"
    assert [t["name"] for t in data["tasks"]] == ["preprocess", "train"]


def test_show_task_yaml_reloads(tmp_path: Path) -> None:
    out = stix("show-task", "examples/finetune-a100.yaml", "--env", "EPOCHS=5")
    assert out.returncode == 0
    again = tmp_path / "again.yaml"
    again.write_text(out.stdout)
    assert stix("validate", str(again)).returncode == 0
    assert "EPOCHS: '5'" in out.stdout


def test_env_from_environment(tmp_path: Path) -> None:
    out = stix("show-task", "examples/hello.yaml", "--env", "STIX_TEST_VAR", "--json",
               env={"STIX_TEST_VAR": "v1"})
    assert json.loads(out.stdout)["envs"] == {"STIX_TEST_VAR": "v1"}
    out = stix("show-task", "examples/hello.yaml", "--env", "STIX_SURELY_UNSET_VAR")
    assert out.returncode == 2 and "STIX_SURELY_UNSET_VAR" in out.stderr


def test_schema_is_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out = stix("schema")
    schema = json.loads(out.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "resources" in schema["properties"]


def test_schema_takes_both_forms_of_secrets() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(stix("schema").stdout)
    check = jsonschema.Draft202012Validator(schema)
    for secrets in ({"HF_TOKEN": None, "KEY": "v"}, ["HF_TOKEN", "KEY"]):
        assert list(check.iter_errors({"run": "echo", "secrets": secrets})) == []
    assert list(check.iter_errors({"run": "echo", "secrets": ["A", "A"]}))
