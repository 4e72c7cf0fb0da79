"""The `local` provider stays in its node home: file mount targets outside it are refused
when the task is validated, what a cluster writes lands inside its own directory, and
`down` takes it all back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stix import api
from stix.errors import StixError, TaskError
from stix.remote.transport import LocalTransport, NodeAddress
from stix.task import parse_tasks

TASK = """\
name: mounts
resources:
  infra: local
file_mounts:
  {target}: {source}
run: cat data/in.txt
"""


@pytest.mark.parametrize("target", ["/etc/stix-pwned", "/tmp/x", "~/../../etc/x", "~/..",
                                    "~/a/../../b", "~root/x"])
def test_targets_outside_the_node_home_fail_validation(target: str, tmp_path: Path) -> None:
    with pytest.raises(TaskError) as err:
        parse_tasks(TASK.format(target=target, source=tmp_path), "t.yaml")
    (problem,) = err.value.problems
    assert problem.path == "file_mounts" and problem.line == 4
    assert "on the local provider" in problem.message and repr(target) in problem.message


@pytest.mark.parametrize("target", ['"~"', "~/data", "~/a/../b", "~/.config/app.toml"])
def test_targets_inside_are_fine(target: str, tmp_path: Path) -> None:
    parse_tasks(TASK.format(target=target, source=tmp_path), "t.yaml")


def test_other_providers_keep_absolute_targets(tmp_path: Path) -> None:
    text = TASK.format(target="/data", source=tmp_path).replace("infra: local", "infra: aws")
    parse_tasks(text, "t.yaml")


def test_validate_command_says_so(tmp_path: Path) -> None:
    task = tmp_path / "t.yaml"
    task.write_text(TASK.format(target="/etc/stix-pwned", source=tmp_path))
    done = subprocess.run([sys.executable, "-m", "stix", "validate", str(task)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"{task}:4:" in done.stderr and "outside it" in done.stderr


def test_mounts_land_in_the_cluster_and_down_removes_them(tmp_path: Path,
                                                          stix_home: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.txt").write_text("mounted\n")
    task = tmp_path / "t.yaml"
    task.write_text(TASK.format(target="~/data", source=data))
    result = api.up(task)
    assert result.exit_code == 0
    home = stix_home / "local" / "mounts" / "node-0"
    assert (home / "data" / "in.txt").read_text() == "mounted\n"
    assert api.down("mounts") is True
    assert not (stix_home / "local" / "mounts").exists()


def test_the_transport_refuses_to_leave_the_home(tmp_path: Path) -> None:
    home = tmp_path / "node"
    home.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (home / "link").symlink_to(outside)
    t = LocalTransport(NodeAddress("node-0", "localhost", local_home=str(home)))
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("x")
    for path in ("../escape", str(outside / "abs"), "link/f", "a/../../escape"):
        with pytest.raises(StixError, match="outside the node's own directory"):
            asyncio.run(t.write_file(path, b"x"))
    for remote in (str(outside), "link", ".."):
        with pytest.raises(StixError, match="outside the node's own directory"):
            asyncio.run(t.sync_tree(src, ["f"], [], remote))
    assert list(outside.iterdir()) == [] and not (tmp_path / "escape").exists()
    asyncio.run(t.write_file("ok/f", b"y", 0o640))
    assert (home / "ok" / "f").read_bytes() == b"y"
    assert os.stat(home / "ok" / "f").st_mode & 0o777 == 0o640
