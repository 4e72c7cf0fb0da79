"""Finding and making stix projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import NotFoundError, StixError
from stix.stack.project import find_project, init_project


def test_init_writes_the_project_and_is_idempotent(tmp_path: Path) -> None:
    project, changed = init_project(tmp_path / "p")
    assert sorted(changed) == [".gitignore", "Pulumi.yaml", "program/__main__.py", "stacks/"]
    text = (project.root / "Pulumi.yaml").read_text()
    assert "name: stix\n" in text and "stackConfigDir: stacks\n" in text
    assert "main: program/\n" in text and "runtime:\n  name: python" in text
    assert ".stix/" in (project.root / ".gitignore").read_text()
    assert init_project(tmp_path / "p")[1] == []


def test_init_keeps_an_existing_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/")
    init_project(tmp_path)
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[0] == "node_modules/" and "*.pem" in lines


def test_init_in_a_stix_checkout_points_at_the_package(tmp_path: Path) -> None:
    (tmp_path / "stix" / "program").mkdir(parents=True)
    (tmp_path / "stix" / "program" / "__main__.py").write_text("")
    init_project(tmp_path)
    assert "main: stix/program/" in (tmp_path / "Pulumi.yaml").read_text()


def test_refuses_a_foreign_pulumi_project(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: website\nruntime: nodejs\n")
    with pytest.raises(StixError, match="not a stix project file"):
        init_project(tmp_path)


def test_find_walks_up(tmp_path: Path) -> None:
    init_project(tmp_path)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project(deep).root == tmp_path.resolve()


def test_no_project_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no stix project") as info:
        find_project(tmp_path)
    assert "stix init" in str(info.value)
