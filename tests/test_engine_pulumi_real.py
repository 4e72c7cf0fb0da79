"""`stix up` / `stix destroy` through the REAL pulumi CLI against REAL AWS.

Needs the pulumi CLI (`stix install-pulumi`) and AWS credentials, and spends a few cents:
run it on purpose with `.ci/test -m "pulumi_cli and cloud"`. On machines without either,
it skips and says which is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.pulumi_cli, pytest.mark.cloud, pytest.mark.slow]


def _require() -> None:
    from stix.clouds import registry
    from stix.engine.settings import find_pulumi

    if find_pulumi() is None:
        pytest.skip("the pulumi CLI is not installed (stix install-pulumi)")
    if not registry.get("aws").check_credentials().ok:
        pytest.skip("no AWS credentials here (this test creates real, billed resources)")
    if os.environ.get("STIX_RUN_CLOUD_TESTS") != "1":
        pytest.skip("set STIX_RUN_CLOUD_TESTS=1 to create real AWS resources")


def stix(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stix", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=1800)


def test_up_and_destroy_a_cpu_cluster_on_aws(tmp_path: Path) -> None:
    _require()
    assert stix(tmp_path, "init", "proj").returncode == 0
    project = tmp_path / "proj"
    (project / "task.yaml").write_text(
        "name: stix-real-test\nresources:\n  infra: aws/us-east-1\n  cpus: 2\nrun: hostname\n")
    try:
        up = stix(project, "up", "task.yaml", "--yes")
        assert up.returncode == 0, up.stderr
        status = json.loads(stix(project, "status", "stix-real-test", "--json").stdout)
        assert status[0]["status"] == "UP" and status[0]["nodes"]
    finally:
        down = stix(project, "destroy", "stix-real-test", "--yes")
        assert down.returncode == 0, down.stderr
