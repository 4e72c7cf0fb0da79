"""Placing a job group with the shipped catalog: a cluster per task (never shared, even
for equal resources), all in the one region that fits every task at the least total price;
a group that no region fits is placed task by task, and says so. `stix plan` writes a
stack per task, named after the group and the task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stix.optimizer.pipeline import place_pipeline
from stix.task import load_pipeline, parse_tasks

FIXTURES = Path(__file__).parent / "fixtures" / "jobgroup"


def _group(*tasks: str) -> str:
    return "name: grp\nexecution: parallel\n" + "".join(f"---\n{t}" for t in tasks)


def test_every_task_gets_its_own_cluster_in_one_region() -> None:
    pipeline = parse_tasks(_group(
        "name: pinned\nresources: {infra: gcp, cpus: 2}\nrun: echo\n",
        "name: free\nresources: {cpus: 2}\nrun: echo\n",
        "name: twin\nresources: {cpus: 2}\nrun: echo\n"))
    placed = place_pipeline(pipeline.tasks, name="grp", parallel=True)
    assert [s.cluster for s in placed.stages] == ["grp-pinned", "grp-free", "grp-twin"]
    where = {(s.chosen.cloud, s.chosen.region) for s in placed.stages}
    assert len(where) == 1 and next(iter(where))[0] == "gcp"
    region = next(iter(where))[1]
    assert placed.notes[0] == (f"the group's tasks are placed together in gcp/{region}: "
                               "the cheapest region that fits every one of them")
    assert "on the ports it opens (resources.ports), admitted from ssh_cidrs" in placed.notes[1]
    assert placed.to_dict()["job_group"] == "grp"


def test_the_region_is_the_cheapest_for_the_whole_group() -> None:
    pipeline = load_pipeline(FIXTURES / "trainer-services.yaml")
    placed = place_pipeline(pipeline.tasks, name="rl-small", parallel=True)
    chosen = placed.stages[0].chosen.region
    totals: dict[str, float] = {}
    for stage in placed.stages:
        for (cloud, region), p in stage.result.best_per_region.items():
            assert cloud == "gcp"
            totals[region] = totals.get(region, 0.0) + p.total_hourly_price
    common = [r for r in totals if all((("gcp", r) in s.result.best_per_region)
                                       for s in placed.stages)]
    assert round(totals[chosen], 9) == round(min(totals[r] for r in common), 9)
    assert placed.stages[2].chosen.num_nodes == 2


def test_a_group_no_region_fits_is_placed_task_by_task() -> None:
    pipeline = parse_tasks(_group(
        "name: east\nresources: {infra: aws/us-east-1, cpus: 2}\nrun: echo\n",
        "name: central\nresources: {infra: gcp/us-central1, cpus: 2}\nrun: echo\n"))
    placed = place_pipeline(pipeline.tasks, name="grp", parallel=True)
    assert [s.chosen.cloud for s in placed.stages] == ["aws", "gcp"]
    assert placed.notes[0].startswith("no cloud region fits every task of the group")


@pytest.mark.skipif(not __import__("shutil").which("git"), reason="needs git")
def test_plan_writes_a_stack_per_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pulumi", reason="needs the pulumi extra")
    from stix.stack.plan import plan_task_file
    from stix.stack.project import init_project

    root = tmp_path / "infra"
    init_project(root)
    monkeypatch.chdir(root)
    plans = plan_task_file(FIXTURES / "trainer-services.yaml", start=root)
    assert [p.cluster for p in plans] == ["rl-small-data", "rl-small-buffer", "rl-small-trainer"]
    assert len({p.config_path for p in plans}) == 3 and all(p.config_path.is_file()
                                                            for p in plans)
    assert any("placed together in gcp/" in w for w in plans[0].warnings)
    where = {(p.placement.cloud, p.placement.region) for p in plans if p.placement}
    assert len(where) == 1 and len(plans) == 3
    assert "rl-small-trainer" in plans[2].config_text


def test_optimize_json_shows_the_group(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from stix.cli.app import app

    out = CliRunner().invoke(app, ["optimize", str(FIXTURES / "all-primary.yaml"), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output[out.output.index("{"):])
    assert doc["job_group"] == "pair" and [t["cluster"] for t in doc["tasks"]] == [
        "pair-left", "pair-right"]
    assert any("placed together" in n for n in doc["notes"])
