"""PulumiEngine orchestration driven through a SCRIPTED STAND-IN for the pulumi binary.

These tests check what stix asks of the CLI (argv, env, files) and how it handles the
answers (events, outputs, errors, locks). They run no Pulumi engine and create nothing;
the real CLI is exercised by the tests marked `pulumi_cli`.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from stix.engine.base import (
    ClusterBusyError,
    EngineError,
    EngineMissingError,
    ResourceEvent,
    StackSpec,
)
from stix.engine.pulumi_engine import PulumiEngine
from stix.engine.settings import resolve
from stix.placement import Placement
from stix.user_config import Config

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


def events(name: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / "engine_events" / name).read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def standin(stix_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Install the stand-in where `stix install-pulumi` would put the real CLI."""
    binary = stix_home / "pulumi" / "bin" / "pulumi"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!{sys.executable}\n" + (FIXTURES / "fake_pulumi.py").read_text())
    binary.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "script.json"
    monkeypatch.setenv("STIX_FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("STIX_FAKE_PULUMI_SCRIPT", str(script))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no other pulumi

    def set_script(data: dict[str, Any]) -> None:
        script.write_text(json.dumps(data))

    def calls() -> list[dict[str, Any]]:
        return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []

    set_script({})
    return set_script, calls


@pytest.fixture
def spec(tmp_path: Path) -> StackSpec:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", project / "Pulumi.yaml")
    placement = Placement(cluster="c1", cloud="aws", region="us-east-1", zone="us-east-1a",
                          instance_type="g5.xlarge", vcpus=4, memory_gib=16, hourly_price=1.0)
    return StackSpec("c1", project, placement, program=lambda: None, expected_resources=5)


def test_up_streams_events_and_returns_outputs(standin, spec: StackSpec) -> None:  # type: ignore[no-untyped-def]
    set_script, calls = standin
    outputs = {"head": "3.4.5.6", "nodes": [{"name": "c1-0", "public_ip": "3.4.5.6"}]}
    set_script({"up": {"events": events("up_ok.jsonl")}, "stack output": {"outputs": outputs}})
    seen: list[ResourceEvent] = []
    engine = PulumiEngine(resolve(Config()))
    result = engine.up(spec, seen.append)
    assert result.ok and result.changes == {"create": 7}
    assert result.outputs == outputs
    assert [e.name for e in seen if e.kind == "done"][-1] == "stix-c1"
    argvs = [c["argv"] for c in calls()]
    up = next(a for a in argvs if a[0] == "up")
    assert "--stack" in up and up[up.index("--stack") + 1] == "c1"
    assert "auto.inline" in up
    first = calls()[1]
    assert first["cwd"] == str(spec.project_dir)
    assert first["backend"].startswith("file://") and first["passphrase_file"].endswith("passphrase")
    # The SDK never rewrote our Pulumi.yaml (stackConfigDir would be lost).
    assert "stackConfigDir: stacks" in (spec.project_dir / "Pulumi.yaml").read_text()


def test_capacity_failure_is_classified(standin, spec: StackSpec) -> None:  # type: ignore[no-untyped-def]
    set_script, _ = standin
    set_script({"up": {"events": events("up_capacity.jsonl"), "exit": 255,
                       "stderr": "error: update failed\n  aws:ec2:Instance node-0: "
                                 "InsufficientInstanceCapacity: no capacity in us-east-1a"}})
    with pytest.raises(EngineError) as info:
        PulumiEngine(resolve(Config())).up(spec)
    assert info.value.kind == "capacity"
    assert "cluster 'c1': up failed (capacity)" in str(info.value)


def test_engine_lock_is_cluster_busy(standin, spec: StackSpec) -> None:  # type: ignore[no-untyped-def]
    set_script, _ = standin
    set_script({"up": {"exit": 255, "stderr": "error: the stack is currently locked by 1 "
                       "lock(s). Either wait for the other process(es) to end or delete the lock"}})
    with pytest.raises(ClusterBusyError, match="another engine operation holds the stack lock"):
        PulumiEngine(resolve(Config())).up(spec)


def test_destroy_and_remove(standin, spec: StackSpec) -> None:  # type: ignore[no-untyped-def]
    set_script, calls = standin
    set_script({"destroy": {"events": [{"summaryEvent": {"maybeCorrupt": False,
                "durationSeconds": 3, "resourceChanges": {"delete": 7}, "PolicyPacks": {}}}]}})
    engine = PulumiEngine(resolve(Config()))
    assert engine.destroy(spec).changes == {"delete": 7}
    engine.remove(spec)
    argvs = [c["argv"] for c in calls()]
    assert any(a[:2] == ["stack", "rm"] for a in argvs)


def test_remove_missing_stack_is_fine(standin, spec: StackSpec) -> None:  # type: ignore[no-untyped-def]
    set_script, _ = standin
    set_script({"stack rm": {"exit": 255, "stderr": "error: no stack named 'c1' found"}})
    PulumiEngine(resolve(Config())).remove(spec)


def test_no_cli_is_one_clear_error(spec: StackSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EngineMissingError) as info:
        PulumiEngine(resolve(Config())).up(spec)
    assert "pulumi CLI is not installed" in str(info.value)
    assert "stix install-pulumi" in str(info.value)
