"""Commands that end or pause clusters: down, stop, start (each takes several clusters,
asks once, and one failing does not stop the others)."""

from __future__ import annotations

from pathlib import Path

import typer

from stix.cli import render

_say = render.progress


def register(app: typer.Typer) -> None:
    app.command("stop")(stop)
    app.command("start")(start)
    app.command("down")(down)
    app.command("destroy", help="Alias of `down`.")(down)


def down(
    clusters: list[str] = typer.Argument(None, help="Cluster names, or a pipeline file "
                                         "(every cluster its tasks run on)."),
    all_: bool = typer.Option(False, "--all", "-a", help="Every cluster."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    purge: bool = typer.Option(False, "--purge", help="Also delete the stack files in stacks/."),
) -> int:
    """Tear clusters down: destroy each one's stack (cloud) or cancel its jobs, clean its
    nodes and release its machines (local/ssh). One failing does not stop the others. A
    task file stands for the clusters `stix up` of it creates."""
    import sys

    from stix import api
    from stix.cli.progress_view import ProgressView
    from stix.errors import StixError, UsageError

    if all_ == bool(clusters):
        raise UsageError("name the clusters to tear down, or give --all (not both)")
    names = [r.name for r in api.status()] if all_ else _expand(clusters)
    if not names:
        render.ok("no clusters (nothing to do)")
        return 0
    if not yes and sys.stdin.isatty() and not typer.confirm(f"Tear down {', '.join(names)}?"):
        raise typer.Exit(1)
    failed = 0
    for cluster in names:
        view = ProgressView()
        try:
            gone = api.down(cluster, say=_say, purge=purge, on_event=view)
        except StixError as exc:
            if len(names) == 1:
                raise
            failed += 1
            render.error(f"{cluster}: {exc.message}")
            continue
        finally:
            view.close()
        if gone:
            render.ok(f"cluster {cluster} is down")
        else:
            render.ok(f"cluster {cluster} does not exist (nothing to do)")
    return 1 if failed else 0


def _expand(given: list[str]) -> list[str]:
    """Cluster names, with each task file replaced by the clusters its tasks run on."""
    from stix import api

    out: list[str] = []
    for name in given:
        path = Path(name)
        found = (api.pipeline_clusters(path) if path.suffix in (".yaml", ".yml")
                 and path.is_file() else [name])
        out += [n for n in found if n not in out]
    return out


def _names(clusters: list[str], all_: bool, verb: str) -> list[str]:
    from stix import api
    from stix.errors import UsageError

    if all_ == bool(clusters):
        raise UsageError(f"name the clusters to {verb}, or give --all (not both)")
    if not all_:
        return clusters
    wanted = (lambda r: r.status != api.ClusterStatus.STOPPED) if verb == "stop" else (
        lambda r: r.status == api.ClusterStatus.STOPPED)
    return [r.name for r in api.status() if r.has_stack and wanted(r)]


def _power(clusters: list[str], all_: bool, yes: bool, stopping: bool) -> int:
    import sys

    from stix import api
    from stix.cli.progress_view import ProgressView
    from stix.errors import StixError

    verb = "stop" if stopping else "start"
    names = _names(clusters, all_, verb)
    if not names:
        render.ok(f"no cluster to {verb}")
        return 0
    if (not yes and sys.stdin.isatty()
            and not typer.confirm(f"{verb.capitalize()} {', '.join(names)}?")):
        raise typer.Exit(1)
    failed = []
    for name in names:
        view = ProgressView()
        try:
            result = (api.stop if stopping else api.start)(name, say=_say, on_event=view)
        except StixError as exc:
            if len(names) == 1:
                raise
            render.error(f"{name}: {exc}")
            failed.append(name)
            continue
        finally:
            view.close()
        if result.changed:
            render.ok(f"cluster {name} is {'stopped' if stopping else 'up'}")
    if failed:
        render.error(f"could not {verb}: {', '.join(failed)}")
        return 1
    return 0


def stop(
    clusters: list[str] = typer.Argument(None, help="Cluster names."),
    all_: bool = typer.Option(False, "--all", "-a", help="Every cluster with a stack."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> int:
    """Stop clusters: the stack records the stop and the engine applies it, so compute
    billing ends while disks stay (start them again with `stix start`)."""
    return _power(clusters or [], all_, yes, True)


def start(
    clusters: list[str] = typer.Argument(None, help="Cluster names."),
    all_: bool = typer.Option(False, "--all", "-a", help="Every stopped cluster."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> int:
    """Start stopped clusters: the same machines and disks, new addresses re-read."""
    return _power(clusters or [], all_, yes, False)
