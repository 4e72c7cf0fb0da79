"""Generic code never names a cloud: outside `stix/clouds/` (and the machines' own modules)
no string literal in stix's code is a cloud's name or alias. A new `if cloud == "x"` fails
here; ask the registry for a capability instead."""

from __future__ import annotations

import ast
from pathlib import Path

from stix.clouds import registry

STIX = Path(registry.__file__).resolve().parent.parent
ALLOWED = (STIX / "clouds", STIX / "machines")


def _names() -> set[str]:
    names = set()
    for cloud in registry.all_clouds():
        entry = registry._ENTRIES[cloud.name]
        names |= {cloud.name, *entry.aliases}
    return names


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                    ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr)
                  and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docstrings]


def test_no_cloud_name_outside_the_cloud_packages() -> None:
    names = _names()
    found = []
    for path in sorted(STIX.rglob("*.py")):
        if any(path.is_relative_to(a) for a in ALLOWED):
            continue
        for line, text in _literals(path):
            if text.strip().lower() in names:
                found.append(f"{path.relative_to(STIX.parent)}:{line}: {text!r}")
    assert found == [], "generic code names a cloud:\n" + "\n".join(found)


def test_the_cluster_layer_names_no_provider() -> None:
    names = set(registry.names())
    found = [f"{p.name}:{line}: {text!r}" for p in sorted((STIX / "cluster").glob("*.py"))
             for line, text in _literals(p) if text in names]
    assert found == []
