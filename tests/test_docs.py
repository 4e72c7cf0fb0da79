"""Every example in README.md and docs/*.md runs (docs that cannot rot, as typer does it).

- ```python blocks are executed;
- ```yaml blocks are loaded as what they are: a task file is validated and planned in a
  fresh `stix init` project, a `~/.stix/config.yaml` is loaded, an ssh node pools file too;
- shell blocks (untagged, console, bash, sh): each `stix ...` line that can run offline
  runs in this process, in order, in a temporary directory with its own STIX_HOME; a
  synopsis runs in its shortest form (`stix status [NAME] [--json]` → `stix status`);
- what cannot run here is in NOT_RUN with the reason, and still has to name a real command
  and real flags (`stix CMD --help` parses). Inline `stix ...` spans in the prose must name
  real commands and flags too.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import io
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL = {"", "console", "bash", "sh", "shell"}

_CLUSTER = "needs a running cluster of the reader's (NAME)"
_CLOUD = "creates cloud resources through an engine (credentials, billed)"
NOT_RUN: dict[str, str] = {  # a command's start as the docs write it → why it is not run
    "stix up TASK": "a synopsis; the quick start runs `stix up` on `local` for real",
    "stix up train.yaml": _CLOUD,
    "stix exec NAME": _CLUSTER, "stix queue NAME": _CLUSTER, "stix logs NAME": _CLUSTER,
    "stix cancel NAME": _CLUSTER, "stix ssh NAME": _CLUSTER + "; opens a shell",
    "stix autostop NAME": _CLUSTER, "stix down NAME": _CLUSTER,
    "stix preview NAME": _CLUSTER + " on a cloud, and the pulumi CLI",
    "stix refresh NAME": _CLUSTER + " on a cloud, and the pulumi CLI",
    "stix destroy NAME": _CLUSTER + " on a cloud",
    "stix export NAME": _CLUSTER + " on a cloud",
    "stix storage delete NAME": "needs a bucket stix created on a cloud",
    "stix cost-report train": "needs the usage of a cluster named train",
    "stix install-pulumi": "downloads the pulumi CLI (no internet here)",
    "stix catalog import skypilot": "needs a checkout of SkyPilot's catalog files",
    "stix catalog update": "fetches prices from the clouds' APIs (network)",
    "stix orphans": "asks the clouds for tagged resources (network, credentials)",
    "stix jobs": "goes through a stix server (launch starts one, which launches clusters)",
    "stix serve": "goes through a stix server and HAProxy (tests/test_serve_local.py runs "
                  "them for real)",
    "stix server": "start and deploy leave a server running; status, logs and stop ask one "
                   "(status exits 1 when none runs)",
}
FILES = {"train.yaml": "examples/finetune-a100.yaml"}  # files the docs name, made from these


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def _blocks() -> list[Block]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
            out.append(Block(path, text.count("\n", 0, m.start()) + 1, m[1], m[2]))
    return out


BLOCKS = _blocks()


def _of(*langs: str) -> list[Block]:
    return [b for b in BLOCKS if b.lang in langs]


# -- the command tree ------------------------------------------------------------------------

@functools.cache
def _tree() -> Any:
    import typer

    from stix.cli import app

    return typer.main.get_command(app)


@dataclass
class Command:
    text: str  # as the docs write it (comment dropped, continuation lines joined)
    path: list[str]
    rest: list[str]
    click: Any

    @property
    def synopsis(self) -> bool:
        return any(_placeholder(t) or any(c in t for c in "[]|") or t.endswith("...")
                   for t in self.rest)

    def shortest(self) -> list[str] | None:
        """The command with its optional parts left out; None if a placeholder remains."""
        text = " ".join(self.rest)
        while re.search(r"\[[^\[\]]*\]", text):
            text = re.sub(r"\[[^\[\]]*\]", "", text)
        rest = text.split()
        if any(_placeholder(t) or "|" in t or t.endswith("...") for t in rest):
            return None
        return [*self.path, *rest]


def _placeholder(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]+", token.strip("[]").split("=")[0].removesuffix("...")))


def _resolve(text: str) -> list[Command]:
    """`stix a b ARGS` → the command(s) it names; `start|stop` (or `up/exec`) names each."""
    words = text.split()
    assert words[0] == "stix", text
    group, path, i = _tree(), [], 1
    while i < len(words) and hasattr(group, "commands"):
        names = re.split(r"[|/]", words[i])
        if not all(n in group.commands for n in names):
            break
        if len(names) > 1:
            return [c for n in names
                    for c in _resolve(" ".join(["stix", *path, n, *words[i + 1:]]))]
        group = group.commands[names[0]]
        path.append(names[0])
        i += 1
    assert not hasattr(group, "commands") or i == len(words) or words[i].startswith("-"), \
        f"{text!r}: {words[i] if i < len(words) else ''!r} is not a stix command"
    return [Command(text, path, words[i:], group)]


def _flags(cmd: Command) -> list[str]:
    out = []
    for token in cmd.rest:
        for part in token.strip("[]()").split("|"):
            part = part.split("=")[0].split("[")[0].rstrip(".,;")
            if part.startswith("-") and part not in ("-", "--"):
                out.append(part)
    return out


def _check(cmd: Command) -> None:
    """The command exists and every flag the docs give it is one of its options."""
    known = {"--help", "-h"} | {o for p in cmd.click.params for o in (*p.opts,
                                                                       *p.secondary_opts)}
    unknown = [f for f in _flags(cmd) if f not in known]
    assert not unknown, f"{cmd.text!r}: stix {' '.join(cmd.path)} has no {', '.join(unknown)}"


def _forms(cmd: Command) -> list[list[str]]:
    """The argument lists a synopsis stands for: each `|` alternative, with its optional
    parts left out and with all of them, placeholders filled in (`NAME` → `1`)."""
    alternatives: list[list[str]] = [[]]
    for token in cmd.rest:
        if token == "|":
            alternatives.append([])
        elif token == ">":  # a shell redirect ends the arguments
            break
        else:
            alternatives[-1].append(token)
    out = []
    for words in alternatives:
        for keep in (False, True):
            text = " ".join(words)
            while re.search(r"\[[^\[\]]*\]", text):
                text = re.sub(r"\[([^\[\]]*)\]", r"\1" if keep else "", text)
            out.append(["1" if _placeholder(w) and "=" not in w else w.split("|")[0]
                        for w in text.split()])
    return out


def _parses(cmd: Command) -> None:
    """Each form of the synopsis parses as the command's arguments (count, order, values)."""
    for args in _forms(cmd):
        try:
            cmd.click.make_context(" ".join(["stix", *cmd.path]), list(args))
        except Exception as exc:  # click's usage errors, whichever copy of click typer has
            pytest.fail(f"{cmd.text!r}: `stix {' '.join([*cmd.path, *args])}` does not "
                        f"parse: {exc}")


def _split(line: str) -> list[Command]:
    """One documented line → its commands (`a | b` alternatives, `stix x ... | y` siblings)."""
    segments = [s.strip() for s in line.split(" | ")]
    out = _resolve(segments[0])
    for seg in segments[1:]:
        if seg.startswith("stix "):
            out += _resolve(seg)
            continue
        parent = out[-1].path[:-1]
        group = _tree()
        for name in parent:
            group = group.commands[name]
        first = seg.split()[0]
        if all(n in group.commands for n in first.split("|")):
            out += _resolve(" ".join(["stix", *parent, seg]))
        else:  # other arguments of the same command: checked, never run
            last = out[-1]
            out[-1] = Command(last.text, last.path, [*last.rest, "|", *seg.split()], last.click)
    return out


def _steps(block: Block) -> Iterator[tuple[str, str]]:
    """(kind, text) per step: "stix" (a documented stix line) or "cd" (a folder)."""
    lines: list[str] = []
    for raw in block.text.splitlines():
        line = re.sub(r"\s+#.*$", "", raw.removeprefix("$ ")).rstrip()
        if lines and re.match(r"\s+[\[-]", line):  # a synopsis continued on the next line
            lines[-1] += " " + line.strip()
        elif line.startswith("stix "):
            lines.append(line)
    for line in lines:
        for part in line.split(" && "):
            part = part.strip()
            yield ("cd", part[3:].strip()) if part.startswith("cd ") else ("stix", part)


def _why_not(text: str) -> str | None:
    return next((why for start, why in NOT_RUN.items() if text.startswith(start)), None)


# -- running -------------------------------------------------------------------------------

def run(args: list[str]) -> tuple[int, str]:
    from stix.cli import main

    raw = io.BytesIO()  # jobs write their output to the bytes under sys.stdout
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            code = 0
    out.flush()
    return code, raw.getvalue().decode("utf-8", "replace")


def _argv(args: list[str], cwd: Path) -> tuple[list[str], Path | None]:
    """Shell words → argv: globs expanded, named files made, `> FILE` taken off."""
    argv: list[str] = []
    target = None
    words = iter(shlex.split(" ".join(args)))
    for word in words:
        if word == ">":
            target = cwd / next(words)
        elif "*" in word:
            argv += sorted(glob.glob(word, root_dir=cwd)) or [word]
        else:
            if word in FILES and not (cwd / word).exists():
                shutil.copy(REPO / FILES[word], cwd / word)
            argv.append(word)
    return argv, target


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a copy of examples/, as the current directory, 200 columns wide."""
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


SHELL_BLOCKS = [b for b in _of(*SHELL) if any(True for _ in _steps(b))]


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.where)
def test_shell_block(block: Block, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = sandbox
    for kind, text in _steps(block):
        if kind == "cd":
            cwd = cwd / text
            monkeypatch.chdir(cwd)
            continue
        for cmd in _split(text):
            _check(cmd)
            _parses(cmd)
            argv = cmd.shortest()
            why = _why_not(cmd.text)
            if why is None and argv is None:
                pytest.fail(f"{block.where}: {cmd.text!r} cannot run as written; make it "
                            "runnable or say why in NOT_RUN")
            if why is not None or argv is None:
                code, out = run([*cmd.path, "--help"])
                assert code == 0, f"{block.where}: stix {' '.join(cmd.path)} --help: {out}"
                continue
            args, target = _argv(argv, cwd)
            code, out = run(args)
            assert code == 0, f"{block.where}: stix {' '.join(args)} exited {code}:\n{out}"
            if target is not None:
                target.write_text(out)


def test_every_reason_not_to_run_is_used() -> None:
    texts = [c.text for b in SHELL_BLOCKS for k, t in _steps(b) if k == "stix"
             for c in _split(t)]
    stale = [start for start in NOT_RUN if not any(t.startswith(start) for t in texts)]
    assert not stale, f"NOT_RUN names commands no doc shows: {stale}"


def _spans() -> list[tuple[str, str]]:
    """(where, text) of each inline `stix ...` in the prose (outside code blocks)."""
    out = []
    for path in DOCS:
        text = re.sub(r"^```.*?^```", lambda m: "\n" * m[0].count("\n"),
                      path.read_text(encoding="utf-8"), flags=re.M | re.S)
        for m in re.finditer(r"`(stix [^`]+)`", text):
            out.append((f"{path.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}",
                        m[1].replace("\\|", "|")))
    return out


@pytest.mark.parametrize(("where", "text"), _spans(), ids=[w for w, _ in _spans()])
def test_inline_command_is_real(where: str, text: str) -> None:
    for cmd in _split(text):
        _check(cmd)


def test_skypilot_table_flags_are_real() -> None:
    """In docs/coming-from-skypilot.md each flag a row names belongs to a command of the row
    (the table names commands in short, `stix stop` for `stix stop NAME...`: not parsed)."""
    for line in (REPO / "docs" / "coming-from-skypilot.md").read_text().splitlines():
        if not line.startswith("| `sky") and not line.startswith("| —"):
            continue
        spans = [s.replace("\\|", "|") for s in re.findall(r"`([^`]+)`", line)]
        cmds = [c for s in spans if s.startswith("stix ") for c in _split(s)]
        known = {o for c in cmds for p in c.click.params for o in (*p.opts, *p.secondary_opts)}
        for span in spans:
            flag = span.split()[0].split("=")[0]
            if flag.startswith("-") and cmds:
                assert flag in known, f"{line[:40]}...: no command of the row has {flag}"


# -- python and yaml -------------------------------------------------------------------------

@pytest.mark.parametrize("block", _of("python"), ids=lambda b: b.where)
def test_python_block_runs(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    exec(compile(block.text, block.where, "exec"), {})


def _kind(data: dict[str, Any]) -> str:
    from stix.task import Task
    from stix.user_config import Config

    if set(data) <= set(Task.model_fields) | {"file_mounts"}:
        return "task"
    if set(data) <= set(Config.model_fields):
        return "config"
    return "ssh pools"


@pytest.mark.parametrize("block", _of("yaml"), ids=lambda b: b.where)
def test_yaml_block_loads(block: Block, sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    docs = [d for d in yaml.safe_load_all(block.text) if d is not None]
    data = docs[-1]  # a pipeline's or a job group's last document is a task
    assert isinstance(data, dict), block.where
    kind = _kind(data)
    if kind == "task":
        (sandbox / "task.yaml").write_text(block.text)
        code, out = run(["validate", "task.yaml"])
        assert code == 0, out
        assert run(["init", "infra"])[0] == 0
        shutil.copy(sandbox / "task.yaml", sandbox / "infra" / "task.yaml")
        monkeypatch.chdir(sandbox / "infra")
        code, out = run(["plan", "task.yaml"])
        assert code == 0, f"{block.where}: stix plan: {out}"
    elif kind == "config":
        from stix.user_config import config_path, load_config

        config_path().write_text(block.text)
        load_config()
    else:
        from stix.machines.ssh import load_pools

        (sandbox / "pools.yaml").write_text(block.text)
        assert load_pools(sandbox / "pools.yaml"), block.where


def test_every_block_is_tested() -> None:
    unknown = [b.where for b in BLOCKS if b.lang not in SHELL | {"python", "yaml"}]
    assert not unknown, f"blocks of a language this test does not run: {unknown}"
    assert _of("python") and _of("yaml") and SHELL_BLOCKS
