"""YAML never executes anything, and every malformed input is a TaskError."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import TaskError
from stix.task import load_task
from stix.yamlio import MAX_EXPANDED_NODES, dump, load_documents


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "x: !!python/object/new:os.system ['touch {marker}']",
        "x: !!python/name:os.system",
        "x: !!python/module:os",
        "!!binary aGk=\n",
    ],
)
def test_python_tags_refused_and_nothing_runs(text: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    src = text.format(marker=marker)
    with pytest.raises(TaskError):
        from stix.task import parse_tasks

        parse_tasks(src, "evil.yaml")
    assert not marker.exists()


def test_python_tag_message() -> None:
    with pytest.raises(TaskError) as info:
        load_documents("x: !!python/object/apply:os.system ['id']", "evil.yaml")
    assert "not allowed" in str(info.value) and "evil.yaml:1:" in str(info.value)


def test_alias_bomb_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(TaskError) as info:
        load_documents("\n".join(lines), "bomb.yaml")
    assert str(MAX_EXPANDED_NODES) in str(info.value)


def test_small_aliases_are_fine() -> None:
    docs = load_documents("base: &b {cpus: 4}\nother: *b\n", "ok.yaml")
    assert docs[0].data == {"base": {"cpus": 4}, "other": {"cpus": 4}}


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(TaskError) as info:
        load_documents("[" * 5000 + "]" * 5000, "deep.yaml")
    assert "deep.yaml" in str(info.value)


def test_duplicate_keys_refused() -> None:
    with pytest.raises(TaskError) as info:
        load_documents("name: a\nrun: x\nname: b\n", "dup.yaml")
    assert "duplicate key 'name' (first at line 1)" in str(info.value)
    assert "dup.yaml:3:1" in str(info.value)


def test_syntax_error_has_line_and_column() -> None:
    with pytest.raises(TaskError) as info:
        load_documents("name: x\nresources:\n  cpus: [4\n", "bad.yaml")
    assert "bad.yaml:4:1: invalid YAML" in str(info.value)


def test_too_large_file() -> None:
    with pytest.raises(TaskError, match="larger than"):
        load_documents("#" * (5 * 1024 * 1024), "big.yaml")


def test_marks_locate_fields() -> None:
    doc = load_documents("name: x\nresources:\n  cpus: 4\n", "t.yaml")[0]
    assert doc.locate(("resources", "cpus")) == (3, 3)
    assert doc.locate(("resources", "cpus", "deeper")) == (3, 3)
    assert doc.locate(("missing",)) == (1, 1)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("", "empty"), ("# only a comment\n", "empty"), ("- a\n- b\n", "must be a mapping"),
     ("just a string", "must be a mapping"), ("---\n---\n", "empty")],
)
def test_not_a_task(content: str, fragment: str, write_task) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TaskError, match=fragment):
        load_task(write_task(content))


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="no such file"):
        load_task(tmp_path / "nope.yaml")
    with pytest.raises(TaskError, match="is a directory"):
        load_task(tmp_path)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TaskError, match="not UTF-8"):
        load_task(binary)


def test_load_task_refuses_pipeline(write_task) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TaskError, match="pipeline of 2 tasks"):
        load_task(write_task("run: a\n---\nrun: b\n"))


def test_dump_is_block_style_with_literal_multiline() -> None:
    text = dump({"name": "x", "run": "echo a\necho b\n", "envs": {"K": "v"}})
    assert "run: |" in text and "envs:\n  K: v" in text
