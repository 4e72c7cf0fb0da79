"""The README names the commands CI runs (its examples run in tests/test_docs.py)."""

from __future__ import annotations

from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_install_and_test_commands_are_the_ci_ones() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert ".ci/install" in README and ".ci/test" in README
    assert ".ci/install" in ci and ".ci/test" in ci

