"""Commands that read task files: validate, show-task, schema."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from stix.cli import options, render


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("show-task")(show_task)
    app.command("schema")(schema)


def _env_overrides(pairs: list[str]) -> dict[str, str]:
    return options.key_values(pairs, "--env")


def validate(
    files: list[Path] = typer.Argument(..., help="Task YAML files."),
    env: list[str] = options.ENV,
) -> int:
    """Check task files; prints OK per file, or every problem found."""
    from stix import api
    from stix.errors import StixError

    failed = 0
    overrides = _env_overrides(env)
    for path in files:
        try:
            pipeline = api.load_pipeline(path, overrides)
            warnings = [*api.group_notes(pipeline),
                        *(w for t in pipeline.tasks for w in api.task_notes(t))]
        except StixError as exc:
            failed += 1
            render.error(str(exc))
            continue
        for warning in warnings:
            render.warn(warning)
        count = len(pipeline.tasks)
        what = "task" if count == 1 else f"pipeline of {count} tasks"
        if pipeline.group is not None:
            what = f"job group {pipeline.name} of {count} tasks, run at once"
        missing = sorted({m for t in pipeline.tasks for m in t.missing_envs()})
        note = f" (needs --env/--secret for {', '.join(missing)})" if missing else ""
        render.ok(f"{path}: OK, {what}{note}")
    return 2 if failed else 0


def show_task(
    file: Path = typer.Argument(..., help="Task YAML file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    env: list[str] = options.ENV,
) -> None:
    """Show the normalized task (every accepted shorthand spelled out)."""
    from stix import api
    from stix.yamlio import dump

    pipeline = api.load_pipeline(file, _env_overrides(env))
    docs = [t.to_yaml_dict() for t in pipeline.tasks]
    header = (pipeline.group.model_dump(exclude_none=True) if pipeline.group is not None
              else None)
    if as_json:
        out = docs[0] if len(docs) == 1 and header is None else {
            "name": pipeline.name, **({"job_group": header} if header else {}), "tasks": docs}
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo("---\n".join(dump(d) for d in [*filter(None, [header]), *docs]), nl=False)


def schema() -> None:
    """Print the JSON schema of the task file (for editors' YAML validation)."""
    from stix import api

    typer.echo(json.dumps(api.task_schema(), indent=2))
