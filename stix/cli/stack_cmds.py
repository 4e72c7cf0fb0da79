"""`stix init` (make a directory a stix project) and `stix plan` (a task's stack files and
their resource and cost diff against what is committed; offline)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from stix.cli import options, render


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("plan")(plan)


def init(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="Project directory."),
) -> None:
    """Make DIR a stix project: Pulumi.yaml, stacks/, and a .gitignore for state and keys."""
    from stix.stack.project import init_project

    project, changed = init_project(directory)
    if changed:
        render.ok(f"{project.root}: stix project ({', '.join(changed)})")
    else:
        render.ok(f"{project.root}: already a stix project")


def _public_key(path: Path | None) -> str | None:
    if path is None:
        return None
    from stix.errors import UsageError
    from stix.keys import check_public_key

    try:
        return check_public_key(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--public-key {path}: {exc.strerror}") from None


def plan(
    task_file: Path = typer.Argument(..., metavar="TASK", help="Task YAML file."),
    cluster: str | None = typer.Option(None, "--cluster", "-c", help="Cluster (stack) name."),
    infra: str | None = options.INFRA,
    cloud: str | None = options.CLOUD,
    region: str | None = options.REGION,
    zone: str | None = options.ZONE,
    gpus: str | None = options.GPUS,
    cpus: str | None = options.CPUS,
    memory: str | None = options.MEMORY,
    instance_type: str | None = options.INSTANCE_TYPE,
    use_spot: bool | None = options.USE_SPOT,
    num_nodes: int | None = options.NUM_NODES,
    disk_size: str | None = options.DISK_SIZE,
    target: str = options.TARGET,
    env: list[str] = options.ENV,
    public_key: Path | None = typer.Option(None, "--public-key",
                                           help="Public key file for a new stack."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if the "
                               "committed stack differs from what the task yields (CI gate)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    markdown: bool = typer.Option(False, "--markdown", help="A pull-request comment."),
    policy: str | None = typer.Option(
        None, "--policy", help="warn: list what the stack opens to the internet; strict: "
        "also exit 1 when it opens anything (default: policy in ~/.stix/config.yaml)"),
) -> int:
    """Write the task's stack (stacks/Pulumi.<cluster>.yaml + <cluster>.graph.json) and show
    what changes against the committed version: resources, $/h and what it exposes to the
    internet. No credentials needed."""
    from stix.cli.task_cmds import _env_overrides
    from stix.errors import UsageError
    from stix.stack import report
    from stix.stack.plan import plan_task_file
    from stix.stack.project import find_project

    if as_json and markdown:
        raise UsageError("--json and --markdown do not go together")
    overrides = options.placement_overrides(
        infra=infra, cloud=cloud, region=region, zone=zone, gpus=gpus, cpus=cpus,
        memory=memory, instance_type=instance_type, use_spot=use_spot, num_nodes=num_nodes,
        disk_size=disk_size)
    asked = policy
    if policy is None:
        from stix.user_config import load_config

        policy = load_config().policy
    if policy not in ("warn", "strict"):
        raise UsageError(f"--policy must be warn or strict, got {policy!r}")
    project = find_project()
    plans = plan_task_file(
        task_file, cluster=cluster, target=target,
        overrides=overrides, public_key=_public_key(public_key), env=_env_overrides(env),
        write=not check,
    )  # fmt: skip
    differs = any(p.differs for p in plans)
    # --policy decides for every stack; else each task's own config (or the user's).
    exposed = [p for p in plans if p.exposure and (asked or p.policy or policy) == "strict"]
    refused = bool(exposed)
    if as_json:
        typer.echo(json.dumps({"project": str(project.root), "check": check, "differs": differs,
                               "policy": policy, "refused": refused,
                               "stacks": [p.to_dict(project.root) for p in plans]}, indent=2))
    for p in plans:
        if not as_json and not markdown:
            for warning in p.warnings:
                render.warn(warning)
        header = p.describe()
        mine = asked or p.policy or policy
        if markdown:
            typer.echo(report.markdown(p.diff, header))
            typer.echo(report.exposure_markdown(p.exposure, mine))
            for warning in p.warnings:
                typer.echo(f"- :warning: {warning}")
        elif not as_json:
            typer.echo(report.text(p.diff, header))
            typer.echo(report.exposure_text(p.exposure, mine))
            if p.written:
                rel = [str(x.relative_to(project.root)) for x in (p.config_path, p.graph_path)]
                render.ok(f"wrote {' and '.join(rel)}")
    if refused:
        if not as_json and not markdown:
            render.error(f"policy strict: {', '.join(p.cluster for p in exposed)} "
                         "exposes something to the internet (listed above)")
        return 1
    if check and differs:
        if not as_json and not markdown:
            names = ", ".join(p.cluster for p in plans if p.differs)
            render.error(f"committed stack differs from what {task_file} yields: {names} "
                         f"(run `stix plan {task_file}` and commit stacks/)")
        return 1
    return 0
