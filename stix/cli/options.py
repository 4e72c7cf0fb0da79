"""Options and argument parsing shared by several commands, defined once."""

from __future__ import annotations

import os
from pathlib import Path

import typer

# The placement flags (`stix optimize`, `stix plan`, `stix up`): each overrides the task
# file, the same way everywhere (`placement_overrides`).
INFRA = typer.Option(None, "--infra", help="cloud, cloud/region or cloud/region/zone; or "
                     "k8s, k8s/context.")
CLOUD = typer.Option(None, "--cloud", help="Run on this cloud only.")
REGION = typer.Option(None, "--region", help="Run in this region only.")
ZONE = typer.Option(None, "--zone", help="Run in this zone only.")
GPUS = typer.Option(None, "--gpus", help="Accelerators, e.g. A100:8.")
CPUS = typer.Option(None, "--cpus", help="vCPUs per node: 8 or 8+.")
MEMORY = typer.Option(None, "--memory", help="GiB per node: 32 or 32+.")
INSTANCE_TYPE = typer.Option(None, "--instance-type", help="Exact machine.")
USE_SPOT = typer.Option(None, "--use-spot/--no-use-spot",
                        help="Spot (preemptible) or on-demand machines.")
NUM_NODES = typer.Option(None, "--num-nodes", help="Nodes in the cluster.")
DISK_SIZE = typer.Option(None, "--disk-size", help="Disk per node, GB.")
TARGET = typer.Option("cost", "--target", help="cost (cheapest) or time (fastest).")
ENV = typer.Option([], "--env", help="KEY=VALUE (or KEY from the environment).")


def key_values(pairs: list[str], flag: str) -> dict[str, str]:
    """`KEY=VALUE` items (a bare `KEY` takes the value from this environment)."""
    from stix.errors import UsageError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            if key not in os.environ:
                raise UsageError(f"{flag} {key}: no '=' and no such variable in the environment")
            value = os.environ[key]
        out[key] = value
    return out


ENV_FILE = typer.Option(None, "--env-file", help="A dotenv file of KEY=VALUE lines (over "
                        "--env, as in SkyPilot).")


def env_file(path: Path | None) -> dict[str, str]:
    """A dotenv file: `KEY=VALUE` lines, `export ` allowed, `#` comments, values optionally
    quoted. A line that is none of these is an error naming it."""
    from stix.errors import UsageError

    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--env-file {path}: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.replace("_", "a").isalnum() or key[0].isdigit():
            raise UsageError(f"--env-file {path}:{number}: expected KEY=VALUE, got {raw!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key] = value
    return out


def placement_overrides(*, infra: str | None = None, cloud: str | None = None,
                        region: str | None = None, zone: str | None = None,
                        gpus: str | None = None, cpus: str | None = None,
                        memory: str | None = None, instance_type: str | None = None,
                        use_spot: bool | None = None, num_nodes: int | None = None,
                        disk_size: str | None = None) -> dict[str, object]:
    """The placement flags as `with_overrides` keywords (unset ones left out)."""
    given = {"infra": infra, "cloud": cloud, "region": region, "zone": zone, "gpus": gpus,
             "cpus": cpus, "memory": memory, "instance_type": instance_type,
             "use_spot": use_spot, "num_nodes": num_nodes, "disk_size": disk_size}
    return {k: v for k, v in given.items() if v is not None}
