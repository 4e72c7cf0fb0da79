"""API errors speak of parameters, not CLI flags: wherever the library (stix/ outside
stix/cli/) builds an exception or a task problem, a flag it names is an aside to the
parameter — inside parentheses, "cluster (-c/--cluster)" — or part of a whole command it
suggests in backticks (`stix destroy NAME --purge`). The CLI's own modules may name flags,
and so may the node agent, which is a command line of its own."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

STIX = Path(__file__).parent.parent / "stix"
OWN_COMMAND_LINE = {"cli", "remote/agent.py"}  # their flags are their parameters


def _text(node: ast.expr) -> str:
    """A message's literal text; the values an f-string fills in become `{}`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _text(node.left) + _text(node.right)
    if isinstance(node, ast.IfExp):
        return _text(node.body) + " | " + _text(node.orelse)
    return ""


def _messages() -> list[tuple[str, str]]:
    """(where, text) of every message given to an exception or a Problem in the library."""
    out = []
    for path in sorted(STIX.rglob("*.py")):
        rel = path.relative_to(STIX).as_posix()
        if any(rel == own or rel.startswith(own + "/") for own in OWN_COMMAND_LINE):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if not (name.endswith("Error") or name in ("Problem", "OverBudget")):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                text = _text(arg)
                if text:
                    out.append((f"stix/{rel}:{node.lineno}", text))
    return out


def _bare_flags(text: str) -> list[str]:
    """The flags left once backticked commands and parenthesized asides are taken out."""
    text = re.sub(r"`[^`]*`", "", text)
    while re.search(r"\([^()]*\)", text):
        text = re.sub(r"\([^()]*\)", "", text)
    return re.findall(r"(?<![\w-])--?[a-z][a-z-]*", text)


MESSAGES = _messages()


def test_the_scan_sees_the_library_messages() -> None:
    assert len(MESSAGES) > 200
    assert any("(--wait-for)" in text for _, text in MESSAGES)


@pytest.mark.parametrize(("where", "text"), [m for m in MESSAGES if "-" in m[1]],
                         ids=[w for w, t in MESSAGES if "-" in t])
def test_a_flag_is_an_aside_to_its_parameter(where: str, text: str) -> None:
    assert not _bare_flags(text), f"{where}: {text!r} names a CLI flag, not the parameter"
