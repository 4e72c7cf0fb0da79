"""Rebuilding the state DB after it was lost or damaged (`stix state rebuild`): what stix
can know again from what lives outside it — stack-backed clusters from the project's stack
files and their engine's state (outputs), local clusters from their node homes. Jobs'
history and ssh-pool clusters cannot be recovered; the report says so."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from stix import state
from stix.errors import StixError
from stix.state import ClusterRecord, ClusterStatus


@dataclass
class Rebuilt:
    db: Path
    kept: Path | None  # the old file, moved aside
    clusters: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: why"

    def to_json(self) -> dict[str, object]:
        return {"db": str(self.db), "kept": str(self.kept) if self.kept else None,
                "clusters": self.clusters, "skipped": self.skipped}


def rebuild(project_dir: Path | None = None, *, engine: str | None = None) -> Rebuilt:
    """Move the damaged DB aside, start a new one and fill it with what can be recovered."""
    from stix.stack.project import find_project

    path = state.db_path()
    kept = None
    if path.exists():
        kept = path.with_name(f"{path.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}")
        path.rename(kept)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(kept.with_name(kept.name + suffix))
    marker = path.with_name(f".{path.name}.created")
    marker.unlink(missing_ok=True)
    conn = state.connect()
    result = Rebuilt(path, kept)
    try:
        project = find_project(project_dir)
    except StixError as exc:
        result.skipped.append(f"stacks: {exc.message}")
    else:
        for stack in sorted(project.stacks_dir.glob("Pulumi.*.yaml")):
            _from_stack(conn, project.root, stack, engine, result)
    _machine_clusters(conn, result)
    return result


def _from_stack(conn: sqlite3.Connection, root: Path, path: Path, engine_name: str | None,
                result: Rebuilt) -> None:
    from stix.cluster.stacks import engine_for, nodes_from_outputs, stack_spec
    from stix.engine.terraform.engine import workdir
    from stix.stack import stackfile

    name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    try:
        found = stackfile.read_file(path)
    except StixError as exc:
        result.skipped.append(f"{name}: {exc.message}")
        return
    chosen = engine_name or ("terraform" if workdir(name).is_dir() else None)
    try:
        engine = engine_for(chosen)
        outputs = engine.outputs(stack_spec(root, found.placement, found.public_key))
    except StixError as exc:
        result.skipped.append(f"{name}: its engine cannot be asked ({exc.message})")
        return
    if not outputs.get("nodes"):
        result.skipped.append(f"{name}: not deployed (its stack has no outputs)")
        return
    now = time.time()
    p = found.placement
    record = ClusterRecord(name, p.cloud, p, ClusterStatus.PROVISIONED, now, now,
                           p.total_hourly_price, nodes_from_outputs(outputs, p),
                           engine=engine.name, project=str(root), outputs=outputs)
    state.put_cluster(conn, record)
    state.usage.follow(conn, record)
    result.clusters.append(name)


def _machine_clusters(conn: sqlite3.Connection, result: Rebuilt) -> None:
    """Clusters on existing machines that the machines themselves still name."""
    from stix.clouds import registry
    from stix.clouds.base import Machines
    from stix.task import Resources, Task

    for name in registry.names():
        provider = registry.get(name)
        if not isinstance(provider, Machines):
            continue
        for cluster, count in provider.rediscover().items():
            if state.get_cluster(conn, cluster) is not None:
                continue
            task = Task(num_nodes=count, resources=Resources(cloud=name), run="true")
            placement = provider.placement(task, cluster, task.resources)
            nodes = provider.allocate(conn, placement)
            now = time.time()
            state.put_cluster(conn, ClusterRecord(cluster, provider.name, placement,
                                                  ClusterStatus.UP, now, now, 0.0, nodes))
            result.clusters.append(cluster)
