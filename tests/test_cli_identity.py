"""Names, warnings and exit codes through the real `stix` CLI, as a user meets them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def stix(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stix", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, "COLUMNS": "200"},
                          timeout=300)


def test_an_invalid_cluster_name_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("resources: {infra: local}\nrun: echo\n")
    done = stix("up", "t.yaml", "-c", "Train_Eval", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "cluster name 'Train_Eval' is not valid" in done.stderr and "'train-eval'" in done.stderr


def test_validate_names_what_is_not_acted_on(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("name: t\nresources:\n  job_recovery: FAILOVER\n"
                                     "  network_tier: best\nrun: echo\n")
    done = stix("validate", "t.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "t.yaml:3: resources.job_recovery: not acted on:" in done.stderr
    assert "t.yaml:4: resources.network_tier: not acted on:" in done.stderr


def test_validate_says_a_skypilot_image_tag_boots_the_default_image(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("resources: {infra: aws, image_id: 'skypilot:gpu'}\n"
                                     "run: echo\n")
    done = stix("validate", "t.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("t.yaml:1: resources.image_id: not acted on: skypilot:gpu: SkyPilot's own image; "
            "the node boots stix's default image") in done.stderr


def test_plan_warns_in_text_and_json(tmp_path: Path) -> None:
    pytest.importorskip("pulumi_aws", reason="needs the pulumi extra")
    assert stix("init", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "t.yaml").write_text("name: w\nresources: {infra: aws, network_tier: best}\n"
                                     "run: echo\n")
    text = stix("plan", "t.yaml", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "resources.network_tier: not acted on" in text.stderr
    import json

    doc = json.loads(stix("plan", "t.yaml", "--json", cwd=tmp_path).stdout)
    assert any("network_tier" in w for w in doc["stacks"][0]["warnings"])


def test_up_on_local_refuses_a_bad_container_image_before_anything_exists(
        tmp_path: Path, stix_home: Path) -> None:
    (tmp_path / "t.yaml").write_text("name: img\nresources: {infra: local, image_id: "
                                     "'docker:ubuntu;id'}\nrun: echo\n")
    done = stix("up", "t.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "is not a container image reference" in done.stderr
    assert not (stix_home / "local" / "img").exists()
