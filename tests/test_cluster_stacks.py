"""The cloud lifecycle around the engine: failover on simulated capacity/quota errors,
state transitions, interrupted operations, unchanged re-runs.

The engine here is an in-process TEST DOUBLE (`ScriptedEngine`) that answers `up` from a
script; everything else is real: optimizer and catalog, stack files written by the
planner with Pulumi's mocks, the SQLite state DB on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_support import ScriptedEngine

from stix import state
from stix.cluster import stacks as provision
from stix.engine.base import Engine, EngineError, EngineResult, EventSink, StackSpec
from stix.errors import StixError
from stix.stack import stackfile as stack_config
from stix.stack.project import init_project
from stix.task import parse_tasks

pytest.importorskip("pulumi_aws", reason="needs the pulumi extra (.ci/install installs it)")


TASK = "name: ft\nresources:\n  infra: aws/us-east-1\n  instance_type: g5.xlarge\nrun: echo\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root, _ = init_project(tmp_path / "proj")
    monkeypatch.chdir(root.root)
    return root.root


def use(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provision, "engine_for", lambda name: engine)


def run(text: str = TASK, **kw: Any) -> provision.Provisioned:
    task = parse_tasks(text, "t.yaml").tasks[0]
    conn = state.connect()
    with state.cluster_lock(conn, "ft", "up"):
        return provision.provision(task, "ft", conn=conn, **kw)


def test_capacity_fails_over_to_another_zone(project: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ScriptedEngine({"us-east-1a": "capacity"})
    use(engine, monkeypatch)
    said: list[str] = []
    result = run(say=said.append)
    assert engine.ups[0] == "us-east-1a"  # equal prices: the zone name breaks the tie
    assert engine.destroys == ["us-east-1a"]  # what the failed attempt made is removed
    assert engine.ups[1] != "us-east-1a" and engine.ups[1].startswith("us-east-1")
    assert [a.ok for a in result.attempts] == [False, True]
    assert result.record.status == "PROVISIONED"
    assert result.record.placement.zone == engine.ups[1]
    assert [n.host for n in result.record.nodes] == ["203.0.113.10"]
    placement, _ = stack_config.read(project / "stacks" / "Pulumi.ft.yaml")
    assert placement.zone == engine.ups[1]  # the stack file names what exists
    history = state.history(state.connect(), "ft")
    assert [h.status for h in history] == ["FAILED", "SUCCEEDED"]
    assert "capacity" in (history[0].detail or "")
    assert any("failing over" in s for s in said)


def test_quota_skips_the_whole_region(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "name: ft\nresources:\n  cloud: aws\n  instance_type: g5.xlarge\nrun: echo\n"
    engine = ScriptedEngine()
    use(engine, monkeypatch)
    region_of_first: list[str] = []

    def up(spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        if not region_of_first:
            region_of_first.append(spec.placement.region)
        engine.ups.append(spec.placement.zone)
        if spec.placement.region == region_of_first[0]:
            raise EngineError("VcpuLimitExceeded", kind="quota")
        return ScriptedEngine.up(engine, spec, on_event)

    monkeypatch.setattr(engine, "up", up)
    result = run(text)
    assert len(result.attempts) == 2
    assert result.record.placement.region != region_of_first[0]


def test_non_retriable_error_stops_and_marks_failed(project: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ScriptedEngine({"*": "other"})
    use(engine, monkeypatch)
    with pytest.raises(EngineError, match="simulated other"):
        run()
    assert len(engine.ups) == 1 and engine.destroys == []
    assert state.get_cluster(state.connect(), "ft").status == "FAILED"  # type: ignore[union-attr]


def test_gives_up_after_the_attempt_limit(project: Path, stix_home: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (stix_home / "config.yaml").write_text("max_failover_attempts: 3\n")
    engine = ScriptedEngine({"*": "capacity"})
    use(engine, monkeypatch)
    with pytest.raises(EngineError):
        run()
    assert len(engine.ups) == 3 and len(engine.destroys) == 2
    assert len(set(engine.ups)) == 3  # three different zones were tried


def test_interrupted_up_leaves_a_record_destroy_recovers(project: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ScriptedEngine(interrupt=True)
    use(engine, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run()
    conn = state.connect()
    record = state.get_cluster(conn, "ft")
    assert record is not None and record.status == "PROVISIONING"
    assert state.lock_holder(conn, "ft") is None  # the lock was released
    assert provision.destroy("ft") is True
    assert engine.destroys == [record.placement.zone]
    assert state.get_cluster(conn, "ft") is None
    assert provision.destroy("ft") is False  # already gone is not an error


def test_unchanged_cluster_is_not_provisioned_again(project: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ScriptedEngine()
    use(engine, monkeypatch)
    first = run()
    record = first.record
    record.status = "UP"
    state.put_cluster(state.connect(), record)
    second = run()
    assert second.changed is False and len(engine.ups) == 1


def test_existing_cluster_keeps_its_placement(project: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ScriptedEngine()
    use(engine, monkeypatch)
    run()
    bigger = TASK.replace("name: ft", "name: ft\nnum_nodes: 3")
    with pytest.raises(StixError, match="has 1 node"):
        run(bigger)


def test_declined_confirmation_changes_nothing(project: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    engine = ScriptedEngine()
    use(engine, monkeypatch)
    with pytest.raises(StixError, match="cancelled"):
        run(confirm=lambda q: False)
    assert engine.ups == [] and state.get_cluster(state.connect(), "ft") is None
