"""What an engine's state holds (`stack_names`, `resource_ids`), read for `stix orphans`.

Terraform: a real `terraform apply` of the built-in `terraform_data` resource (no provider
to download) writes the state read here. Pulumi: the real CLI is not on these machines, so
the Automation API calls are checked against the SCRIPTED STAND-IN of the pulumi binary
(tests/fixtures/fake_pulumi.py), and its absence is the engine's usual one-line error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stix.engine.base import EngineError, EngineMissingError, collect_ids
from stix.engine.pulumi_engine import PulumiEngine
from stix.engine.settings import resolve
from stix.engine.terraform.engine import TerraformEngine, workdir
from stix.user_config import Config

FIXTURES = Path(__file__).parent / "fixtures"


def test_collect_ids_walks_nested_values_and_skips_documents() -> None:
    ids = collect_ids({"id": "i-1", "root_block_device": [{"volume_id": "vol-1"}],
                       "user_data": "x" * 5000, "count": 3, "tags": {"Name": "n"}}, set())
    assert ids == {"i-1", "vol-1", "n"}


def test_terraform_reads_the_state_an_apply_wrote(stix_home: Path) -> None:
    binary = shutil.which("terraform") or shutil.which("tofu")
    if binary is None:
        pytest.skip("terraform/tofu is not installed on this machine")
    engine = TerraformEngine(Config())
    assert engine.stack_names() == []  # no ~/.stix/terraform yet
    wd = workdir("tfd")
    wd.mkdir(parents=True)
    (wd / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": {"node": {
        "input": {"volume": "vol-0abc", "key": "tfd-key"}}}}}))
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        done = subprocess.run([binary, *args], cwd=wd, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
    (stix_home / "terraform" / "planned-only").mkdir()  # a work dir never applied
    assert engine.stack_names() == ["tfd"]
    state = json.loads((wd / "terraform.tfstate").read_text())
    (resource_id,) = [i["attributes"]["id"] for r in state["resources"] for i in r["instances"]]
    ids = engine.resource_ids("tfd")
    assert {resource_id, "vol-0abc", "tfd-key"} <= ids
    (wd / "terraform.tfstate").write_text("{not json")
    with pytest.raises(EngineError, match=r"terraform\.tfstate is not readable JSON"):
        engine.resource_ids("tfd")


@pytest.fixture
def standin(stix_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The stand-in where `stix install-pulumi` would put the real CLI."""
    binary = stix_home / "pulumi" / "bin" / "pulumi"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!{sys.executable}\n" + (FIXTURES / "fake_pulumi.py").read_text())
    binary.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "script.json"
    monkeypatch.setenv("STIX_FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("STIX_FAKE_PULUMI_SCRIPT", str(script))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")

    def set_script(data: dict[str, Any]) -> None:
        script.write_text(json.dumps(data))

    def calls() -> list[list[str]]:
        return [json.loads(x)["argv"] for x in log.read_text().splitlines()]

    return set_script, calls


def test_pulumi_lists_stacks_and_reads_ids_from_stack_export(standin) -> None:  # type: ignore[no-untyped-def]
    set_script, calls = standin
    deployment = {"version": 3, "deployment": {
        "resources": [
            {"urn": "urn:pulumi:c1::stix::pulumi:pulumi:Stack::stix-c1", "type":
             "pulumi:pulumi:Stack"},
            {"urn": "urn:pulumi:c1::stix::aws:ec2/instance:Instance::c1-0", "id": "i-0aa",
             "type": "aws:ec2/instance:Instance",
             "outputs": {"rootBlockDevice": {"volumeId": "vol-0bb"}, "keyName": "c1-key"}}],
        "pending_operations": [{"type": "creating", "resource": {
            "urn": "urn:pulumi:c1::stix::aws:ec2/volume:Volume::extra", "id": "vol-0cc"}}]}}
    set_script({"stack ls": {"stdout": json.dumps([
        {"name": "c1", "current": False, "updateInProgress": False, "resourceCount": 2},
        {"name": "bucket-data", "current": False}])},
        "stack export": {"stdout": json.dumps(deployment)}})
    engine = PulumiEngine(resolve(Config()))
    assert engine.stack_names() == ["bucket-data", "c1"]
    ids = engine.resource_ids("c1")
    assert {"i-0aa", "vol-0bb", "c1-key", "vol-0cc"} <= ids
    argvs = calls()
    assert ["stack", "ls", "--json"] in argvs
    assert ["stack", "export", "--show-secrets", "--stack", "c1"] in argvs


def test_pulumi_failing_to_list_is_an_engine_error(standin) -> None:  # type: ignore[no-untyped-def]
    set_script, _ = standin
    set_script({"stack ls": {"exit": 1, "stderr": "error: could not reach the backend"}})
    with pytest.raises(EngineError, match="pulumi: listing the stacks failed"):
        PulumiEngine(resolve(Config())).stack_names()


def test_without_the_pulumi_cli_the_usual_one_line_error(stix_home: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EngineMissingError) as caught:
        PulumiEngine(resolve(Config())).stack_names()
    assert caught.value.message == "the pulumi CLI is not installed"
    assert "stix install-pulumi" in (caught.value.hint or "")
