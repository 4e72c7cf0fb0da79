"""Commands that talk to a cluster's IaC engine: preview, refresh, export, install-pulumi."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from stix.cli import render


def register(app: typer.Typer) -> None:
    app.command("preview")(preview)
    app.command("refresh")(refresh)
    app.command("export")(export)
    app.command("install-pulumi")(install_pulumi)


def preview(
    cluster: str = typer.Argument(..., help="Cluster name."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The engine's own diff of the cluster's stack against the cloud, drift included."""
    from stix.cli.progress_view import ProgressView
    from stix.cluster import stacks as provision

    view = ProgressView()
    try:
        changes = provision.preview(cluster, view)
    finally:
        view.close()
    if as_json:
        typer.echo(json.dumps({"cluster": cluster, "changes": changes}))
        return
    text = ", ".join(f"{n} to {op}" for op, n in sorted(changes.items()) if op != "same")
    render.ok(f"{cluster}: {text or 'no changes'}")


def refresh(cluster: str = typer.Argument(..., help="Cluster name.")) -> None:
    """Read the cloud's state into the stack and the cluster record (after drift or a crash)."""
    from stix.cli.progress_view import ProgressView
    from stix.cluster import stacks as provision

    view = ProgressView()
    try:
        record = provision.refresh(cluster, view)
    finally:
        view.close()
    render.ok(f"{cluster}: {record.status}, {len(record.nodes)} node(s)")


def export(
    cluster: str = typer.Argument(..., help="Cluster name (its stack in stacks/)."),
    directory: Path = typer.Argument(None, help="Where to write (default: ./<cluster>-tf)."),
    fmt: str = typer.Option("terraform", "--format", help="Only 'terraform' for now."),
) -> None:
    """Write a stack (a cluster's, or a kept bucket's) as Terraform JSON, for teams that
    apply it themselves."""
    from stix.cluster.stacks import stack_spec
    from stix.cluster.storage import bucket_stack
    from stix.engine.terraform.engine import TerraformEngine
    from stix.errors import UsageError
    from stix.stack import stackfile as stack_config
    from stix.stack.project import find_project
    from stix.user_config import load_config

    if fmt != "terraform":
        raise UsageError(f"--format {fmt!r}: only 'terraform' is supported")
    project = find_project()
    path = project.config_path(cluster)
    if stack_config.is_bucket_file(path):
        spec = bucket_stack(project.root, stack_config.read_bucket(path))
    else:
        placement, key = stack_config.read(path)
        spec = stack_spec(project.root, placement, key)
    target = directory or Path(f"{cluster}-tf")
    path = TerraformEngine(load_config()).export(spec, target)
    render.ok(f"wrote {path} (terraform -chdir={target} init && terraform -chdir={target} apply)")


def install_pulumi() -> None:
    """Download the Pulumi CLI into ~/.stix/pulumi (needs internet; `stix plan` never does)."""
    from stix.engine.settings import find_pulumi
    from stix.errors import StixError
    from stix.paths import stix_home

    root = stix_home() / "pulumi"
    try:
        from pulumi import automation as auto

        auto.PulumiCommand.install(root=str(root))
    except Exception as exc:
        raise StixError(f"could not install the pulumi CLI into {root}: {exc}",
                        hint="install it yourself: https://www.pulumi.com/docs/install/") from None
    render.ok(f"pulumi CLI installed: {find_pulumi()}")
