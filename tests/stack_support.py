"""Placements and fixed inputs shared by the stack and program tests.

User-data here is a fixed stand-in (the real renderer has its own tests): golden graphs
must only change when a program does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stix.placement import Bucket, Placement, PlacementAccelerator

GOLDEN = Path(__file__).parent / "fixtures" / "graphs"
PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKpQe+Z6wqWB6flee48ydS/3MH3V+NWymNdyQlhpEQEY "
              "stix-examples")


def user_data(rank: int) -> str:
    return f"#cloud-config\nhostname: node-{rank}\n"


def placement(cloud: str, instance_type: str, *, region: str, zone: str | None = None,
              gpu: tuple[str, float] | None = None, **more: Any) -> Placement:
    fields: dict[str, Any] = {"cluster": "t", "vcpus": 8, "memory_gib": 32, "hourly_price": 1.0}
    fields.update(more)
    acc = PlacementAccelerator(name=gpu[0], count=gpu[1]) if gpu else None
    return Placement(cloud=cloud, instance_type=instance_type, region=region, zone=zone,
                     accelerator=acc, **fields)


def bucket(store: str, name: str, create: bool = True, persistent: bool = True) -> Bucket:
    return Bucket(store=store, name=name, mount_path=f"/mnt/{name}", create=create,
                  persistent=persistent)


def synth(p: Placement) -> Any:
    from stix.stack.synth import synthesize

    return synthesize(p, user_data, PUBLIC_KEY)


def check_golden(graph: Any, name: str) -> None:
    """Compare with tests/fixtures/graphs/<name>.graph.json (STIX_UPDATE_GOLDEN=1 rewrites)."""
    path = GOLDEN / f"{name}.graph.json"
    text = graph.to_json()
    if os.environ.get("STIX_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden graph {path}; write it with STIX_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the program change is intended, rerun with STIX_UPDATE_GOLDEN=1")


def inputs(graph: Any, type_: str, name: str) -> dict[str, Any]:
    return graph.get(type_, name).inputs  # type: ignore[no-any-return]


def ref(type_: str, name: str, attr: str = "id") -> dict[str, str]:
    return {"$ref": f"{type_}::{name}", "attr": attr}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
