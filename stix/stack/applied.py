"""What an engine last applied for a cluster: the stack file and resource graph of its
last successful `up`, kept under `<stix home>/applied/`. `up` diffs against this (what
exists), not against the committed files (what was reviewed), and a first `up` against
nothing."""

from __future__ import annotations

import os
from pathlib import Path

from stix.paths import stix_home


def _paths(cluster: str) -> tuple[Path, Path]:
    folder = stix_home() / "applied"
    return folder / f"Pulumi.{cluster}.yaml", folder / f"{cluster}.graph.json"


def save(cluster: str, config_text: str, graph_text: str) -> None:
    for path, text in zip(_paths(cluster), (config_text, graph_text), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def load(cluster: str) -> tuple[str, str] | None:
    """(stack file text, graph text) of the last apply, or None (never applied here)."""
    config, graph = _paths(cluster)
    try:
        return config.read_text(encoding="utf-8"), graph.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def forget(cluster: str) -> None:
    for path in _paths(cluster):
        path.unlink(missing_ok=True)
