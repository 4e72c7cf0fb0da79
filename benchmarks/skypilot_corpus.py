"""Measure: how many of a directory of SkyPilot YAML files stix validates and plans.

Usage: .venv/bin/python benchmarks/skypilot_corpus.py DIR [--verbose]

Every `*.yaml` / `*.yml` under DIR is sorted into one of:
- not a task: a file SkyPilot's task loader refuses too — its top-level keys are not
  task fields (a `~/.sky/config.yaml`, a Kubernetes manifest, a training config), or
  it is a SkyPilot volume or service-only file (stix names those itself);
- accepted: `stix validate` passes (notes are fine: they are "accepted, said") and an
  offline `stix plan` of every task writes its stack, in a temporary project;
- failed: with the first line of the error.
Values a task declares as null (`envs: {X: null}`, secrets) get a placeholder, as a user
gives them with --env/--secret. Nothing here needs credentials or the network; DIR is
never written to.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# SkyPilot's task fields (its schema refuses any other top-level key).
TASK_FIELDS = frozenset({
    "name", "workdir", "event_callback", "num_nodes", "resources", "file_mounts", "service",
    "pool", "setup", "run", "envs", "secrets", "managed_secrets", "inputs", "outputs",
    "file_mounts_mapping", "config", "volumes", "volume_mounts", "api_server_access",
    "_metadata", "experimental",
})
PLACEHOLDER = "stix-corpus-value"


@dataclass
class Tally:
    accepted: list[Path] = field(default_factory=list)
    not_tasks: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def _documents(path: Path) -> list[Any] | None:
    import yaml

    try:
        return list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError):
        return None


def not_a_task(docs: list[Any] | None) -> str | None:
    """Why SkyPilot's task loader would refuse the file as a task (None: it may be one)."""
    from stix.task.loader import other_skypilot_file

    if docs is None:
        return None  # stix's own loader names the YAML error: counted as a failure
    docs = [d for d in docs if d is not None]
    if not docs:
        return "empty"
    for doc in docs:
        if not isinstance(doc, dict):
            return f"a {type(doc).__name__}, not a mapping"
        other = other_skypilot_file(doc)
        if other is not None and "job group" in other:
            return None  # SkyPilot launches these (`sky jobs launch`): stix's to answer
        if other is not None:
            return other.split(",")[0].split(" (")[0]
        extra = sorted(str(k) for k in doc if k not in TASK_FIELDS and k != "<<")
        if extra:
            return f"top-level keys that are not task fields: {', '.join(extra[:4])}"
    return None


def _null_values(docs: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        for section in ("envs", "secrets"):
            values = doc.get(section)
            if isinstance(values, dict):
                out.update({str(k): PLACEHOLDER for k, v in values.items() if v is None})
    return out


def _secrets_of(docs: list[Any]) -> set[str]:
    names: set[str] = set()
    for doc in docs:
        values = doc.get("secrets") if isinstance(doc, dict) else None
        if isinstance(values, (dict, list)):
            names.update(str(k) for k in values)
    return names


def check(path: Path, project: Path) -> str | None:
    """None when stix validates and plans the file; else the first line of the error."""
    from stix import api
    from stix.errors import StixError
    from stix.stack.plan import plan_task_file

    docs = _documents(path) or []
    given = _null_values(docs)
    envs = {k: v for k, v in given.items() if k not in _secrets_of(docs)}
    try:
        pipeline = api.load_pipeline(path, envs)
        for task in pipeline.tasks:
            api.task_notes(task)
        with contextlib.redirect_stdout(io.StringIO()):
            plan_task_file(path, env=envs, start=project)
    except StixError as exc:
        return str(exc).strip().splitlines()[0]
    except Exception as exc:  # a crash is a finding, not the end of the measurement
        return f"CRASH {type(exc).__name__}: {exc}".splitlines()[0]
    return None


def measure(directory: Path) -> Tally:
    from stix.stack.project import init_project

    tally = Tally()
    files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml"))
    for path in files:
        why = not_a_task(_documents(path))
        if why is not None:
            tally.not_tasks.append((path, why))
            continue
        with tempfile.TemporaryDirectory(prefix="stix-corpus-") as tmp:
            project, _ = init_project(Path(tmp) / "project")
            problem = check(path, project.root)
        if problem is None:
            tally.accepted.append(path)
        else:
            tally.failed.append((path, problem))
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--verbose", action="store_true", help="list the non-task files too")
    args = parser.parse_args()
    if not args.directory.is_dir():
        parser.error(f"{args.directory} is not a directory")
    with tempfile.TemporaryDirectory(prefix="stix-corpus-home-") as home:
        os.environ["STIX_HOME"] = home  # keys and caches of this run only
        os.environ.setdefault("STIX_CATALOG_REFRESH_HOURS", "0")
        tally = measure(args.directory)
    root = args.directory
    tasks = len(tally.accepted) + len(tally.failed)
    share = 100.0 * len(tally.accepted) / tasks if tasks else 0.0
    print(f"task files: {len(tally.accepted)}/{tasks} accepted ({share:.1f} %); "
          f"{len(tally.not_tasks)} files are not tasks")
    for path, why in tally.failed:
        print(f"FAIL {path.relative_to(root)}: {why}")
    if args.verbose:
        for path, why in tally.not_tasks:
            print(f"not a task {path.relative_to(root)}: {why}")
    return 0 if not tally.failed else 1


if __name__ == "__main__":
    sys.exit(main())
