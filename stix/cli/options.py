"""Options and argument parsing shared by several commands, defined once."""

from __future__ import annotations

import os

import typer

# The optimizer flags (`stix optimize`, `stix plan`): each overrides the task file.
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
