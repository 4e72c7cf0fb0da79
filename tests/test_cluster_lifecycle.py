"""SkyPilot's launch options as `up` takes them: autostop from -i/--down, setup skipped
once, and waiting out a capacity shortage (`retry_until_up`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stix.cluster import lifecycle
from stix.cluster.stacks import NoPlacementLeft
from stix.engine.base import EngineError
from stix.errors import StixError
from stix.task import Task, parse_tasks


def _task(text: str) -> Task:
    return parse_tasks(text, "t.yaml").tasks[0]


def test_idle_minutes_and_down_set_the_tasks_autostop() -> None:
    plain = _task("run: x\n")
    assert lifecycle.with_autostop(plain, None, False) is plain
    stop = lifecycle.with_autostop(plain, 10, False).resources.autostop
    assert stop is not None and (stop.idle_minutes, stop.down) == (10, False)
    down = lifecycle.with_autostop(plain, None, True).resources.autostop
    assert down is not None and (down.idle_minutes, down.down) == (0, True)
    kept = _task("resources:\n  autostop: {idle_minutes: 30, wait_for: jobs}\nrun: x\n")
    both = lifecycle.with_autostop(kept, 5, True).resources.autostop
    assert both is not None and (both.idle_minutes, both.down, both.wait_for) == (5, True, "jobs")


class Fake:
    """up_task answering with the errors queued in `errors`, then succeeding."""

    def __init__(self) -> None:
        self.errors: list[Exception] = []
        self.slept: list[float] = []

    def up_task(self, task: Task, **_: Any) -> tuple[str, str | None]:
        if self.errors:
            raise self.errors.pop(0)
        return "up", task.setup


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Fake:
    found = Fake()
    monkeypatch.setattr(lifecycle, "up_task", found.up_task)
    monkeypatch.setattr(lifecycle.time, "sleep", found.slept.append)
    (tmp_path / "t.yaml").write_text("name: t\nsetup: make\nrun: x\n")
    monkeypatch.chdir(tmp_path)
    return found


def test_retry_until_up_waits_out_capacity_and_nothing_else(fake: Fake) -> None:
    said: list[str] = []
    fake.errors += [NoPlacementLeft("no placement left"),
                    EngineError("out of m6i", kind="capacity")]
    assert lifecycle.up("t.yaml", retry_until_up=True, say=said.append) == ("up", "make")
    assert fake.slept == [30.0, 60.0] and "trying again in 30 s" in said[0]
    fake.errors.append(NoPlacementLeft("no placement left"))
    with pytest.raises(NoPlacementLeft):  # without the flag: the first failure is final
        lifecycle.up("t.yaml")
    fake.errors.append(EngineError("bad key", kind="credentials"))
    with pytest.raises(EngineError, match="bad key"):
        lifecycle.up("t.yaml", retry_until_up=True)
    fake.errors.append(StixError("something else"))
    with pytest.raises(StixError, match="something else"):
        lifecycle.up("t.yaml", retry_until_up=True)


def test_no_setup_skips_it_once(fake: Fake) -> None:
    said: list[str] = []
    assert lifecycle.up("t.yaml", no_setup=True, say=said.append) == ("up", None)
    assert said == ["setup skipped this time (no_setup)"]
    assert lifecycle.up("t.yaml") == ("up", "make")
