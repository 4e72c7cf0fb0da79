"""Progress from recorded Pulumi engine event sequences (parsed by Pulumi's own SDK)."""

from __future__ import annotations

import json
from pathlib import Path

from stix.engine.base import ResourceEvent
from stix.engine.progress import Progress, from_pulumi

EVENTS = Path(__file__).parent / "fixtures" / "engine_events"


def replay(name: str, expected: int = 0) -> tuple[Progress, list[str]]:
    from pulumi.automation.events import EngineEvent

    ticks = iter(range(0, 10_000, 3))
    progress = Progress(expected=expected, clock=lambda: float(next(ticks)))
    lines = []
    for raw in (EVENTS / name).read_text().splitlines():
        for event in from_pulumi(EngineEvent.from_json(json.loads(raw))):
            progress.feed(event)
            lines.append(progress.line())
    return progress, lines


def test_successful_up() -> None:
    progress, lines = replay("up_ok.jsonl", expected=5)
    assert progress.done == 5
    assert not progress.running and not progress.failed and not progress.errors
    assert progress.changes == {"create": 7}
    assert progress.warnings == ["a warning to keep"]
    assert "creating aws:ec2/instance:Instance node-1" in "\n".join(lines)
    assert lines[-1].startswith("[5/5]")


def test_failed_up_names_the_resource_and_error() -> None:
    progress, _ = replay("up_capacity.jsonl", expected=5)
    assert progress.done == 3
    assert [f.name for f in progress.failed] == ["node-0"]
    assert len(progress.errors) == 1
    assert progress.errors[0].startswith("node-0: creating EC2 Instance: InsufficientInstanceCapacity")


def test_total_grows_when_more_than_expected() -> None:
    p = Progress(expected=1, clock=lambda: 0.0)
    for n in range(3):
        p.feed(ResourceEvent("start", f"u{n}", "t", f"r{n}", "create"))
    assert p.line().startswith("[0/3] creating t r2")


def test_unchanged_resources_count_as_done() -> None:
    p = Progress(clock=lambda: 0.0)
    p.feed(ResourceEvent("done", "u1", "aws:ec2/vpc:Vpc", "vpc", "same"))
    p.feed(ResourceEvent("start", "u2", "aws:ec2/vpc:Vpc", "vpc2", "same"))
    p.feed(ResourceEvent("done", "u2", "aws:ec2/vpc:Vpc", "vpc2", "same"))
    assert p.done == 1  # an unseen 'same' done is not double counted; a started one is
