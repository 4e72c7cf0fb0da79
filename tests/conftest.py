"""Shared fixtures. Every test gets its own STIX_HOME so nothing touches ~/.stix."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("stix-home")
    monkeypatch.setenv("STIX_HOME", str(home))
    return home


@pytest.fixture
def stix_home(_isolated_home: Path) -> Path:
    return _isolated_home


@pytest.fixture
def write_task(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write YAML text to a task file and return its path."""

    def _write(text: str, name: str = "task.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
