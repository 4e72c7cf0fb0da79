"""The README's Python example runs (docs that cannot rot), and it names the two commands."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_install_and_test_commands_are_the_ci_ones() -> None:
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert ".ci/install" in README and ".ci/test" in README
    assert ".ci/install" in ci and ".ci/test" in ci


def test_python_example_runs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(Path(__file__).parent.parent)
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
