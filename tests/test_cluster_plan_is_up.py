"""What `stix plan` wrote is what `stix up` applies: one name, the same flags, the committed
placement kept while the task is unchanged, and a diff against what exists.

The engine is the in-process TEST DOUBLE of tests/engine_support.py; the planner (Pulumi's
mocks), the optimizer over the shipped catalog and the state DB on disk are real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_support import ScriptedEngine

from stix import state
from stix.cluster import stacks
from stix.errors import UsageError
from stix.names import for_task
from stix.stack import stackfile
from stix.stack.plan import plan_task_file
from stix.stack.project import init_project
from stix.task import load_task

pytest.importorskip("pulumi_aws", reason="needs the pulumi extra (.ci/install installs it)")

TASK = "name: minimal\nresources:\n  infra: aws/us-east-1\nrun: echo\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root, _ = init_project(tmp_path / "proj")
    monkeypatch.chdir(root.root)
    return root.root


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> ScriptedEngine:
    double = ScriptedEngine()
    monkeypatch.setattr(stacks, "engine_for", lambda name: double)
    return double


def _write(project: Path, name: str, text: str = TASK) -> Path:
    path = project / name
    path.write_text(text)
    return path


def _up(path: Path, overrides: dict[str, Any] | None = None,
        said: list[str] | None = None) -> stacks.Provisioned:
    from stix.optimizer.overrides import with_overrides

    task = with_overrides(load_task(path), **(overrides or {}))
    name = for_task(task)
    conn = state.connect()
    with state.cluster_lock(conn, name, "up"):
        return stacks.provision(task, name, conn=conn,
                                say=(said.append if said is not None else lambda _: None))


def test_up_applies_the_planned_placement_with_the_same_flags(project: Path,
                                                            engine: ScriptedEngine) -> None:
    path = _write(project, "t.yaml")
    [plan] = plan_task_file(path, overrides={"cpus": "8"})
    said: list[str] = []
    result = _up(path, {"cpus": "8"}, said)
    assert result.record.placement.instance_type == plan.placement.instance_type
    assert plan.placement.vcpus == 8
    assert not any("placed anew" in s for s in said)


def test_a_changed_task_is_placed_anew_and_says_so(project: Path,
                                                   engine: ScriptedEngine) -> None:
    path = _write(project, "t.yaml")
    [plan] = plan_task_file(path, overrides={"cpus": "16"})
    said: list[str] = []
    result = _up(path, said=said)  # no --cpus: not the task that was planned
    assert any("placed anew" in s for s in said)
    assert result.record.placement.vcpus != plan.placement.vcpus
    on_disk = stackfile.read_file(project / "stacks" / "Pulumi.minimal.yaml")
    assert on_disk.placement.instance_type == result.record.placement.instance_type


def test_the_stack_records_the_task_it_answers(project: Path) -> None:
    (project / "sub").mkdir()
    path = _write(project, "sub/t.yaml")
    plan_task_file(path)
    found = stackfile.read_file(project / "stacks" / "Pulumi.minimal.yaml")
    assert found.task is not None and found.task.file == "sub/t.yaml" and found.task.digest


def test_a_first_up_diffs_against_nothing(project: Path, engine: ScriptedEngine) -> None:
    path = _write(project, "t.yaml")
    plan_task_file(path)  # the committed-side baseline exists; up must not use it
    said: list[str] = []
    _up(path, said=said)
    report = next(s for s in said if "to create" in s)
    assert " 0 to create" not in report and "vs nothing (first deploy)" in report


def test_a_second_up_diffs_against_what_is_deployed(project: Path,
                                                    engine: ScriptedEngine) -> None:
    path = _write(project, "t.yaml")
    first = _up(path)
    first.record.status = state.ClusterStatus.UP
    state.put_cluster(state.connect(), first.record)
    said: list[str] = []
    second = _up(path, said=said)
    assert second.changed is False and len(engine.ups) == 1
    assert any("unchanged" in s for s in said)


def test_another_task_file_cannot_take_a_planned_name(project: Path) -> None:
    plan_task_file(_write(project, "a.yaml"))
    other = _write(project, "b.yaml", TASK.replace("echo", "echo other"))
    with pytest.raises(UsageError) as err:
        plan_task_file(other)
    assert "planned from a.yaml" in str(err.value) and "-c NAME" in str(err.value)
    [plan] = plan_task_file(other, cluster="minimal-b")  # its own name is fine
    assert plan.cluster == "minimal-b"


def test_up_refuses_a_name_another_task_file_planned(project: Path,
                                                     engine: ScriptedEngine) -> None:
    plan_task_file(_write(project, "a.yaml"))
    with pytest.raises(UsageError, match=r"planned from a\.yaml"):
        _up(_write(project, "b.yaml", TASK.replace("echo", "echo b")))
    assert engine.ups == []


def test_unnamed_tasks_plan_and_up_under_one_name(project: Path,
                                                  engine: ScriptedEngine) -> None:
    path = _write(project, "train_eval.yaml", TASK.replace("name: minimal\n", ""))
    [plan] = plan_task_file(path)
    result = _up(path)
    assert plan.cluster == result.record.name == "train-eval"
    assert sorted(p.name for p in (project / "stacks").glob("Pulumi.*.yaml")) == [
        "Pulumi.train-eval.yaml"]


def test_up_says_what_is_exposed_and_strict_policy_refuses(project: Path, engine: ScriptedEngine,
                                                           stix_home: Path) -> None:
    path = _write(project, "t.yaml")
    said: list[str] = []
    _up(path, said=said)
    assert any("exposed to the internet: tcp 22 (ssh) open to 0.0.0.0/0" in s for s in said)
    (stix_home / "config.yaml").write_text("policy: strict\n")
    other = _write(project, "u.yaml", TASK.replace("minimal", "other"))
    before = len(engine.ups)
    with pytest.raises(UsageError, match="refused by the strict policy"):
        _up(other)
    assert len(engine.ups) == before  # nothing was created
    conn = state.connect()
    assert state.get_cluster(conn, "other") is None


def test_a_task_config_shows_in_the_plan_as_up_applies_it(project: Path,
                                                          engine: ScriptedEngine) -> None:
    path = _write(project, "t.yaml", TASK + "config:\n  ssh_cidr: 203.0.113.0/24\n"
                                            "  policy: strict\n")
    [plan] = plan_task_file(path)
    assert plan.placement.extra.ssh_cidrs == ["203.0.113.0/24"] and plan.policy == "strict"
    with pytest.raises(UsageError, match=r"strict policy \(config.policy in .*t.yaml:7\)"):
        _up(path)  # the node's public address is an exposure: refused, as plan says
    path.write_text(TASK + "config:\n  ssh_cidr: 198.51.100.0/24\n")
    [again] = plan_task_file(path)  # the task decides its own stack's CIDRs
    assert again.placement.extra.ssh_cidrs == ["198.51.100.0/24"] and again.policy == "warn"
    said: list[str] = []
    result = _up(path, said=said)
    assert result.record.placement.extra.ssh_cidrs == ["198.51.100.0/24"]
    assert not any("placed anew" in s for s in said)


PIPELINE = """\
name: chain
---
name: prep
resources: {infra: aws/eu-west-1, cpus: 4+}
outputs: {s3://chain-data/shards: 500}
run: echo prep
---
name: train
resources: {infra: aws, cpus: 4+}
run: echo train
---
name: evaluate
resources: {infra: aws, cpus: 4+}
run: echo evaluate
"""


def test_a_pipeline_up_makes_the_stacks_its_plan_shows(project: Path,
                                                      engine: ScriptedEngine) -> None:
    from stix.cluster.lifecycle import down, pipeline_clusters, status, up_pipeline

    path = _write(project, "chain.yaml", PIPELINE)
    done = up_pipeline(path, infra_only=True)  # no plan first: up chooses the same way
    made = {r.name: r.placement for r in status()}
    assert sorted(made) == ["prep", "train"] == sorted(done.clusters)  # evaluate reuses train
    # train goes where its 500 GB of input is, not to the cheapest region on its own
    assert made["train"].region == made["prep"].region == "eu-west-1"
    plans = plan_task_file(path, write=False)
    planned = {p.cluster: p.placement for p in plans if p.kind == "cluster"}
    assert sorted(planned) == sorted(made)
    for name, placement in planned.items():
        have = made[name]
        assert (placement.cloud, placement.region, placement.zone, placement.instance_type) == (
            have.cloud, have.region, have.zone, have.instance_type)
    assert pipeline_clusters(path) == ["prep", "train"]
    assert all(down(name) for name in pipeline_clusters(path))
    assert len(engine.destroys) == 2 and status() == []


def test_a_pipeline_whose_cluster_cannot_be_made_names_the_task(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stix.cluster.lifecycle import up_pipeline
    from stix.engine.base import EngineError

    monkeypatch.setattr(stacks, "engine_for", lambda name: ScriptedEngine({"*": "other"}))
    said: list[str] = []
    with pytest.raises(EngineError):
        up_pipeline(_write(project, "chain.yaml", PIPELINE), infra_only=True, say=said.append)
    assert "pipeline chain: task prep failed; not run: train, evaluate" in said
