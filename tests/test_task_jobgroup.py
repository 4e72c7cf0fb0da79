"""Job group files: the header read and checked against its tasks, each problem with its
line; a pipeline's header (`name` alone, or `execution: serial`) stays a pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import TaskError
from stix.task import load_pipeline, parse_tasks
from stix.task.jobgroup import group_notes, seconds

FIXTURES = Path(__file__).parent / "fixtures" / "jobgroup"
TWO = "name: a\nrun: echo a\n---\nname: b\nrun: echo b\n"


def _problems(text: str) -> list[str]:
    with pytest.raises(TaskError) as info:
        parse_tasks(text, "g.yaml")
    return str(info.value).splitlines()


def test_a_job_group_loads_with_its_header() -> None:
    group = load_pipeline(FIXTURES / "trainer-services.yaml")
    header = group.group
    assert header is not None and group.name == "rl-small"
    assert [t.name for t in group.tasks] == ["data", "buffer", "trainer"]
    assert group.tasks[2].num_nodes == 2
    assert header.primaries(["data", "buffer", "trainer"]) == ["trainer"]
    assert header.delay_seconds("buffer") == 60 and header.delay_seconds("data") == 10
    assert group_notes(group) == []


def test_without_primary_tasks_every_task_is_primary_and_inter_connection_false_is_said() -> None:
    group = load_pipeline(FIXTURES / "all-primary.yaml")
    assert group.group is not None
    assert group.group.primaries(["left", "right"]) == ["left", "right"]
    assert group.group.delay_seconds("left") == 0
    [note] = group_notes(group)
    assert note.startswith(f"{FIXTURES / 'all-primary.yaml'}:5: inter_connection: not acted on")


def test_a_pipeline_header_is_still_a_pipeline() -> None:
    for head in ("name: p\n", "name: p\nexecution: serial\n"):
        pipeline = parse_tasks(f"{head}---\n{TWO}")
        assert pipeline.group is None and pipeline.name == "p" and len(pipeline.tasks) == 2


@pytest.mark.parametrize(("header", "line", "expected"), [
    ("name: g\nexecution: parallel\nprimary_tasks: [a, c]\n", 3,
     "primary_tasks.1: names no task of the group (a, b)"),
    ("name: g\nexecution: parallel\ntermination_delay: {default: 5s, z: 1m}\n", 3,
     "termination_delay.z: names no task of the group"),
    ("name: g\nexecution: parallel\ntermination_delay: soon\n", 3,
     "termination_delay: 'soon' is not a duration"),
    ("name: g\nexecution: sideways\n", 2, "execution: Input should be 'parallel'"),
    ("name: g\nexecution: parallel\nprimary_task: [a]\n", 3,
     "primary_task: unknown job group header field (did you mean 'primary_tasks'?)"),
    ("name: my group\nexecution: parallel\n", 1, "name: 'my group' cannot be a host"),
    ("execution: parallel\n", 1, "name: required field is missing"),
])
def test_header_problems_name_their_line(header: str, line: int, expected: str) -> None:
    lines = [ln.strip() for ln in _problems(f"{header}---\n{TWO}")]
    assert any(ln.startswith(f"g.yaml:{line}:") and expected in ln for ln in lines), lines


def test_task_names_must_be_there_distinct_and_usable_as_host_names() -> None:
    head = "name: g\nexecution: parallel\n---\n"
    assert any("g.yaml:4: name: a task of a job group needs a name" in line
               for line in _problems(f"{head}run: echo\n"))
    twice = _problems(f"{head}name: a\nrun: echo\n---\nname: a\nrun: echo\n")
    assert any("g.yaml:7: name: name 'a' is taken by an earlier task" in ln for ln in twice)
    dotted = _problems(f"{head}name: a.b\nrun: echo\n")
    assert any("name 'a.b' cannot be a host name's part" in line for line in dotted)


def test_a_header_without_tasks_is_refused() -> None:
    assert any("the job group holds no task" in line
               for line in _problems("name: g\nexecution: parallel\n"))


def test_a_header_without_execution_or_not_first_is_named() -> None:
    lines = _problems("name: g\nprimary_tasks: [a]\n---\nname: a\nrun: echo\n")
    assert any("g.yaml:1:1: execution: required field is missing" in ln for ln in lines), lines
    lines = _problems("name: a\nrun: echo\n---\nname: g\nexecution: parallel\n")
    assert any("this is a SkyPilot job group header" in line for line in lines), lines


@pytest.mark.parametrize(("given", "expected"), [
    ("30s", 30), ("30", 30), (45, 45), ("5m", 300), ("2H", 7200), ("1d", 86400)])
def test_durations_are_skypilots(given: str | int, expected: int) -> None:
    assert seconds(given) == expected


def test_show_task_gives_the_header_first(write_task) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from stix.cli.app import app

    path = write_task(f"name: g\nexecution: parallel\nprimary_tasks: [a]\n---\n{TWO}")
    out = CliRunner().invoke(app, ["show-task", str(path), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["job_group"] == {"name": "g", "execution": "parallel", "primary_tasks": ["a"]}
    assert [t["name"] for t in doc["tasks"]] == ["a", "b"]
    ok = CliRunner().invoke(app, ["validate", str(path)])
    assert ok.exit_code == 0 and "OK, job group g of 2 tasks, run at once" in ok.output


def test_what_runs_tasks_in_order_or_one_task_refuses_a_group() -> None:
    from stix.cluster.lifecycle import up_pipeline
    from stix.errors import UsageError
    from stix.managed import spec_for
    from stix.task import load_task

    path = FIXTURES / "all-primary.yaml"
    with pytest.raises(TaskError, match="is the job group pair"):
        load_task(path)
    for refuse in (lambda: spec_for(path), lambda: up_pipeline(path)):
        with pytest.raises(UsageError, match="is a job group"):
            refuse()
