"""One rule names every cluster: from -c, the task's name, or its file — never random."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import UsageError
from stix.names import for_task, normalize
from stix.task import Task, load_pipeline, parse_tasks


@pytest.mark.parametrize(("name", "expected"), [
    ("hello", "hello"), ("Train_LLM v2!", "train-llm-v2"), ("9lives", "stix-9lives"),
    ("train_eval", "train-eval"), ("x" * 80, "x" * 40),
])
def test_a_task_name_is_normalised(name: str, expected: str) -> None:
    assert for_task(Task(name=name, run="echo")) == expected


@pytest.mark.parametrize("bad", ["Bad", "a_b", "-a", "a-", "1a", "a" * 41, "", "a\x00b"])
def test_given_cluster_name_is_checked(bad: str) -> None:
    with pytest.raises(UsageError, match="is not valid"):
        for_task(Task(run="echo"), bad)


def test_the_error_suggests_a_valid_name() -> None:
    with pytest.raises(UsageError) as err:
        for_task(Task(run="echo"), "Train_Eval")
    assert "'train-eval'" in str(err.value)


def test_an_unnamed_task_is_named_after_its_file(tmp_path: Path) -> None:
    path = tmp_path / "My Task.yaml"
    path.write_text("run: echo one\n")
    first = load_pipeline(path).tasks[0]
    assert for_task(first) == "my-task"
    path.write_text("run: echo two\nresources: {cpus: 8}\n")  # content changes, name stays
    assert for_task(load_pipeline(path).tasks[0]) == "my-task"


def test_unnamed_tasks_of_a_pipeline_are_numbered(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text("run: echo a\n---\nrun: echo b\n---\nname: last\nrun: echo c\n")
    names = [for_task(t) for t in load_pipeline(path).tasks]
    assert names == ["flow", "flow-2", "last"]


def test_a_task_without_a_file_or_name_is_named_by_its_content() -> None:
    task = parse_tasks("run: echo\n").tasks[0]
    name = for_task(task)
    assert name.startswith("stix-") and name == for_task(parse_tasks("run: echo\n").tasks[0])


def test_normalize() -> None:
    assert normalize("---") == ""
    assert normalize("A.B") == "a-b"
