"""A local cache of synthesized graphs, so re-planning an unchanged stack skips the
Pulumi SDK imports (seconds for GCP) entirely.

The key covers everything a graph depends on: the placement, the public key, every
node's user-data, the source of the programs and of synthesis, and the installed Pulumi
SDK versions. Entries live in `<stix home>/cache/graphs/` and are only an optimisation:
a corrupt or missing entry means synthesizing again. `STIX_SYNTH_CACHE=0` turns it off.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

from stix.placement import Placement
from stix.stack.graph import Graph, GraphError


@cache
def _code_digest() -> str:
    """Source of the clouds (programs, type tables) and of synthesis, plus the SDK
    versions installed."""
    from importlib import metadata

    from stix.clouds import registry

    here = Path(__file__).resolve().parent
    pkg = here.parent
    h = hashlib.sha256()
    files = [*sorted((pkg / "clouds").rglob("*.py")), *sorted((pkg / "program").glob("*.py")),
             here / "synth.py", here / "graph.py"]
    for path in files:
        h.update(str(path.relative_to(pkg)).encode() + b"\0" + path.read_bytes() + b"\0")
    sdks = sorted({d for c in registry.all_clouds() for d in c.sdk_distributions})
    for name in sdks:
        try:
            h.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name}=-\0".encode())
    return h.hexdigest()


def cache_dir() -> Path:
    from stix.paths import stix_home

    return stix_home() / "cache" / "graphs"


def enabled() -> bool:
    return os.environ.get("STIX_SYNTH_CACHE", "1") not in ("0", "false", "no")


def cache_key(placement: Placement, public_key: str, user_data: list[str]) -> str:
    h = hashlib.sha256(_code_digest().encode())
    h.update(placement.model_dump_json().encode() + b"\0" + public_key.encode() + b"\0")
    for text in user_data:
        h.update(hashlib.sha256(text.encode()).digest())
    return h.hexdigest()


def synthesize_cached(placement: Placement, public_key: str) -> Graph:
    """`synthesize` with the program's default user-data, through the cache."""
    from stix.program import run as program
    from stix.stack.synth import synthesize

    render = program.default_user_data(placement, public_key)
    user_data = [render(rank) for rank in range(placement.num_nodes)]
    path = cache_dir() / f"{cache_key(placement, public_key, user_data)}.json"
    if enabled() and path.is_file():
        try:
            return Graph.from_json(path.read_text(encoding="utf-8"), str(path))
        except (OSError, GraphError):
            pass  # fall through: synthesize again and overwrite
    graph = synthesize(placement, user_data.__getitem__, public_key)
    if enabled():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_text(graph.to_json(), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home only loses the speed-up
    return graph
