"""Setup re-runs when anything it depends on changes (script, envs, secrets, synced files,
image, nodes) and only then: on the `local` provider, through the real node agent."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from stix import api
from stix.machines.local import local_root

TASK = """\
name: setup-deps
workdir: {workdir}
envs:
  MODE: fast
secrets:
  TOKEN: null
resources:
  infra: local
setup: echo ran >> ~/setup-count
run: echo ok
"""


def _runs() -> int:
    path = local_root() / "setup-deps" / "node-0" / "setup-count"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_setup_reruns_exactly_when_its_inputs_change(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "code"
    workdir.mkdir()
    (workdir / "train.py").write_text("print(1)\n")
    task = tmp_path / "t.yaml"
    task.write_text(TASK.format(workdir=workdir))
    monkeypatch.setenv("HOME", str(local_root() / "setup-deps" / "node-0"))

    def up(**kw: object) -> None:
        result = api.up(task, secrets={"TOKEN": "a"}, **kw)  # type: ignore[arg-type]
        assert result.exit_code == 0

    up()
    assert _runs() == 1
    up()
    assert _runs() == 1  # nothing changed: skipped
    up(env={"MODE": "slow"})
    assert _runs() == 2  # an env value
    up(env={"MODE": "slow"})
    assert _runs() == 2
    (workdir / "train.py").write_text("print(2)\n")
    future = time.time() + 5
    os.utime(workdir / "train.py", (future, future))
    up(env={"MODE": "slow"})
    assert _runs() == 3  # a synced file
    result = api.up(task, env={"MODE": "slow"}, secrets={"TOKEN": "b"})
    assert result.exit_code == 0 and _runs() == 4  # a secret (compared by digest only)
    assert api.down("setup-deps")
