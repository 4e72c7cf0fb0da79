"""Measure: how many of a directory of SkyPilot YAML files stix validates and plans.

Usage: .venv/bin/python benchmarks/skypilot_corpus.py DIR [--verbose]

Every `*.yaml` / `*.yml` under DIR is sorted into one of:
- not a task: a file SkyPilot's task loader refuses too — its top-level keys are not
  task fields (a `~/.sky/config.yaml`, a Kubernetes manifest, a training config), or
  it is a SkyPilot volume or service-only file (stix names those itself);
- refused by SkyPilot: a task file SkyPilot's own loader refuses, by a check of its
  loader this script repeats (`skypilot_refuses`: YAML PyYAML cannot read, a resources
  key or cloud its schema does not have, a storage mount with neither name nor source,
  a replica range with no target to scale on); stix's answer is still shown;
- accepted: `stix validate` passes (notes are fine: they are "accepted, said") and an
  offline `stix plan` of every task writes its stack, in a temporary project;
- failed: with the first line of the error.
The share reported is accepted / (accepted + failed): of the task files SkyPilot's loader
accepts.
Values a task declares as null (`envs: {X: null}`, secrets) get a placeholder, as a user
gives them with --env/--secret (an S3 URI where a bucket mount's source is that env).
Nothing here needs credentials or the network; DIR is never written to.
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
BUCKET_PLACEHOLDER = "s3://stix-corpus-value"  # for an env a bucket mount's source names
# SkyPilot's resources schema (sky/utils/schemas.py, additionalProperties: false), plus
# the legacy and newer names its loader converts before checking (spot_recovery, gpus).
SKYPILOT_RESOURCES = frozenset({
    "cloud", "region", "zone", "infra", "cpus", "memory", "accelerators", "instance_type",
    "use_spot", "job_recovery", "volumes", "disk_size", "ephemeral_storage", "disk_tier",
    "network_tier", "local_disk", "max_hourly_cost", "ports", "labels", "accelerator_args",
    "image_id", "container_image", "autostop", "priority", "priority_class", "any_of",
    "ordered", "_no_missing_accel_warnings", "_docker_login_config",
    "_resolved_container_image", "_is_image_managed", "_requires_fuse",
    "_cluster_config_overrides", "spot_recovery", "gpus",
})
# The clouds SkyPilot's schema names (constants.ALL_CLOUDS), and its spelling for k8s.
SKYPILOT_CLOUDS = frozenset({
    "aws", "azure", "gcp", "ibm", "lambda", "scp", "oci", "kubernetes", "runpod", "vast",
    "vsphere", "cudo", "fluidstack", "paperspace", "do", "nebius", "ssh", "hyperbolic",
    "seeweb", "primeintellect", "shadeform", "k8s",
})


@dataclass
class Tally:
    accepted: list[Path] = field(default_factory=list)
    not_tasks: list[tuple[Path, str]] = field(default_factory=list)
    refused: list[tuple[Path, str, str]] = field(default_factory=list)  # why, stix's answer
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


def skypilot_refuses(path: Path, docs: list[Any] | None) -> str | None:
    """Which of its loader's checks SkyPilot refuses the task file by (None: none here)."""
    import yaml

    if docs is None:
        try:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            return f"YAML PyYAML cannot read ({str(exc).splitlines()[0]})"
        return None
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        res = doc.get("resources")
        blocks = [res] if isinstance(res, dict) else []
        for key in ("any_of", "ordered"):
            blocks += [b for b in (blocks[0].get(key) or []) if isinstance(b, dict)] \
                if blocks else []
        for block in blocks:
            unknown = sorted(str(k) for k in block if k not in SKYPILOT_RESOURCES)
            if unknown:
                return f"resources.{unknown[0]}: not in SkyPilot's resources schema"
            cloud = block.get("cloud")
            if isinstance(cloud, str) and cloud.lower() not in SKYPILOT_CLOUDS:
                return f"resources.cloud {cloud!r}: not one of SkyPilot's clouds"
        envs = doc.get("envs") if isinstance(doc.get("envs"), dict) else {}
        for target, mount in (doc.get("file_mounts") or {}).items():
            if not isinstance(mount, dict) or mount.get("name"):
                continue
            source = mount.get("source")
            if not source:
                return (f"file_mounts.{target}: neither name nor source (SkyPilot: 'Storage "
                        "source or storage name must be specified')")
            if isinstance(source, str):
                value = _substituted(source, envs)
                if value is not None and "://" not in value:
                    return (f"file_mounts.{target}: source {value!r} is a local path and the "
                            "mount has no name (SkyPilot: StorageNameError)")
        service = doc.get("service")
        policy = service.get("replica_policy") if isinstance(service, dict) else None
        if isinstance(policy, dict) and policy.get("max_replicas") is not None and (
                policy.get("max_replicas") != policy.get("min_replicas", 1)) and not (
                policy.keys() & {"target_qps_per_replica", "target_concurrency_per_replica"}):
            return ("service.replica_policy: min and max replicas differ with no target "
                    "(SkyPilot: 'Detected different min_replicas and max_replicas')")
    return None


def _substituted(text: str, envs: dict[str, Any]) -> str | None:
    """`text` with the file's own env values put in (None: one has no value here)."""
    import re

    missing = False

    def value(m: re.Match[str]) -> str:
        nonlocal missing
        got = envs.get(m[1] or m[2])
        missing = missing or got is None
        return str(got) if got is not None else ""

    out = re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)
    return None if missing else out


def _bucket_sources(doc: dict[str, Any]) -> set[str]:
    """Envs a storage mount's `source` is (`source: $OUTPUT_BUCKET`): a user gives a URI."""
    import re

    names = set()
    for mount in (doc.get("file_mounts") or {}).values():
        source = mount.get("source") if isinstance(mount, dict) else None
        found = re.fullmatch(r"\$\{?(\w+)\}?", source) if isinstance(source, str) else None
        if found:
            names.add(found[1])
    return names


def _null_values(docs: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        buckets = _bucket_sources(doc)
        for section in ("envs", "secrets"):
            values = doc.get(section)
            if isinstance(values, dict):
                out.update({str(k): BUCKET_PLACEHOLDER if k in buckets else PLACEHOLDER
                            for k, v in values.items() if v is None})
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
        refused = skypilot_refuses(path, _documents(path))
        if refused is not None:
            tally.refused.append((path, refused, problem or "accepted"))
        elif problem is None:
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
    print(f"task files SkyPilot's loader accepts: {len(tally.accepted)}/{tasks} accepted by "
          f"stix ({share:.1f} %); {len(tally.refused)} task files SkyPilot's loader refuses "
          f"too; {len(tally.not_tasks)} files are not tasks")
    for path, why in tally.failed:
        print(f"FAIL {path.relative_to(root)}: {why}")
    for path, why, answer in tally.refused:
        print(f"SKYPILOT REFUSES {path.relative_to(root)}: {why}; stix: {answer}")
    if args.verbose:
        for path, why in tally.not_tasks:
            print(f"not a task {path.relative_to(root)}: {why}")
    return 0 if not tally.failed else 1


if __name__ == "__main__":
    sys.exit(main())
