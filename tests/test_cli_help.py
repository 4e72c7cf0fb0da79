"""Every command's --help renders (rich markup in a help text once broke `stix up --help`)."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stix.cli.app import app


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    if hasattr(command, "commands"):  # a group
        for name, sub in command.commands.items():
            out += _paths(sub, (*prefix, name))
    return out


COMMANDS = _paths(typer.main.get_command(app))


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "stix" for p in COMMANDS])
def test_help_renders(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output and "Usage" in result.output
