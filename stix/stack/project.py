"""A stix project: a directory holding `Pulumi.yaml` and `stacks/` (one file pair per cluster).

`Pulumi.yaml` is written by stix, never by the Pulumi SDK: the SDK does not know
`stackConfigDir` and would drop it on save, which the Pulumi CLI needs to find
`stacks/Pulumi.<cluster>.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stix.errors import NotFoundError, StixError

PROJECT_FILE = "Pulumi.yaml"
STACKS_DIR = "stacks"
GITIGNORE_LINES = (
    "# stix: local engine state and keys never go into git",
    ".stix/",
    ".pulumi/",
    "*.pem",
    "*_ed25519",
    "*_rsa",
    "stacks/*.secret*",
)
SHIM = '''"""Runs the stix Pulumi program (written by `stix init`)."""
import runpy

runpy.run_module("stix.program", run_name="__main__")
'''


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def stacks_dir(self) -> Path:
        return self.root / STACKS_DIR

    def config_path(self, cluster: str) -> Path:
        return self.stacks_dir / f"Pulumi.{cluster}.yaml"

    def graph_path(self, cluster: str) -> Path:
        return self.stacks_dir / f"{cluster}.graph.json"


def is_project(path: Path) -> bool:
    return (path / PROJECT_FILE).is_file() and (path / STACKS_DIR).is_dir()


def find_project(start: Path | None = None) -> Project:
    """The nearest project at or above `start` (default: the current directory)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if is_project(candidate):
            return Project(candidate)
    raise NotFoundError(
        f"no stix project at or above {here} (a directory with {PROJECT_FILE} and {STACKS_DIR}/)",
        hint="create one with `stix init` (or `stix init DIR`)",
    )


def _project_yaml(main: str, venv: bool) -> str:
    runtime = "  name: python\n  options:\n    toolchain: pip\n"
    if venv:
        runtime += "    virtualenv: .venv\n"
    return (
        "name: stix\n"
        "description: Clusters managed by stix; one stack per cluster, its config in stacks/.\n"
        f"runtime:\n{runtime}"
        f"main: {main}\n"
        f"stackConfigDir: {STACKS_DIR}\n"
    )


def init_project(directory: Path) -> tuple[Project, list[str]]:
    """Make `directory` a stix project; returns it and the files created or updated.

    Safe to run again: existing files are kept (a foreign `Pulumi.yaml` is an error)."""
    root = directory.resolve()
    if root.exists() and not root.is_dir():
        raise StixError(f"{root} exists and is not a directory")
    root.mkdir(parents=True, exist_ok=True)
    changed: list[str] = []
    project_file = root / PROJECT_FILE
    if project_file.exists():
        text = project_file.read_text(encoding="utf-8")
        if "name: stix" not in text or f"stackConfigDir: {STACKS_DIR}" not in text:
            raise StixError(f"{project_file} exists and is not a stix project file",
                            hint="use another directory, or move that Pulumi project away")
    else:
        in_checkout = (root / "stix" / "program" / "__main__.py").is_file()
        if not in_checkout:
            shim = root / "program" / "__main__.py"
            shim.parent.mkdir(exist_ok=True)
            if not shim.exists():
                shim.write_text(SHIM, encoding="utf-8")
                changed.append("program/__main__.py")
        main = "stix/program/" if in_checkout else "program/"
        project_file.write_text(_project_yaml(main, (root / ".venv").is_dir()), encoding="utf-8")
        changed.append(PROJECT_FILE)
    stacks = root / STACKS_DIR
    if not stacks.is_dir():
        stacks.mkdir()
        (stacks / ".gitkeep").touch()
        changed.append(f"{STACKS_DIR}/")
    ignore = root / ".gitignore"
    existing = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in existing]
    if missing:
        prefix = "\n" if existing and existing[-1].strip() else ""
        with ignore.open("a", encoding="utf-8") as fh:
            fh.write(prefix + "\n".join(missing) + "\n")
        changed.append(".gitignore")
    return Project(root), changed
