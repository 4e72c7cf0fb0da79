"""Ignore rules (git-like) and the workdir sync over rsync and SFTP to real sshd nodes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stix.remote import sync
from stix.remote.wait import wait_for_nodes


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


WORKDIR = {
    ".gitignore": "*.log\n/build/\ndata/**/*.bin\n!keep.log\nsecret[0-9].txt\n",
    ".stixignore": "big/\n!build/\n",
    "main.py": "print(1)\n",
    "run.log": "x", "keep.log": "k",
    "build/out.o": "o",
    "sub/build/x.txt": "nested build dirs are not anchored to /build/",
    "sub/deep.log": "ignored at any depth",
    "sub/.gitignore": "local.txt\n",
    "sub/local.txt": "ignored by the nested file", "local.txt": "kept at the top",
    "data/a/b/c.bin": "b", "data/a/c.txt": "t",
    "big/blob": "b", "secret1.txt": "s", "secretX.txt": "kept",
    ".git/HEAD": "ref", "odd name [x]*.txt": "metachars in a file name",
}
EXPECTED = sorted([
    ".gitignore", ".stixignore", "main.py", "keep.log", "sub/build/x.txt", "sub/.gitignore",
    "local.txt", "data/a/c.txt", "secretX.txt", "odd name [x]*.txt",
])


def test_collect_applies_gitignore_and_stixignore(tmp_path: Path) -> None:
    root = _tree(tmp_path / "w", WORKDIR)
    fileset = sync.collect(root)
    # `!build/` in .stixignore cannot re-include: /build/ was excluded as a directory,
    # and .stixignore is read after .gitignore, so its negation wins → build kept.
    assert sorted(fileset.files) == sorted([*EXPECTED, "build/out.o"])
    assert ".git/" in fileset.excluded and "big/" in fileset.excluded
    assert "run.log" in fileset.excluded and "sub/local.txt" in fileset.excluded


@pytest.mark.parametrize(("pattern", "path", "is_dir", "ignored"), [
    ("*.py", "a/b/c.py", False, True),
    ("/top.txt", "a/top.txt", False, False),
    ("a/*.txt", "a/x.txt", False, True),
    ("a/*.txt", "a/b/x.txt", False, False),
    ("**/logs", "x/y/logs", True, True),
    ("logs/**", "logs/a/b", False, True),
    ("a/**/z", "a/z", False, True),
    ("a/**/z", "a/b/c/z", False, True),
    ("dir/", "dir", False, False),
    ("dir/", "dir", True, True),
    ("[!a]bc", "xbc", False, True),
    ("[!a]bc", "abc", False, False),
    ("\\#hash", "#hash", False, True),
    ("q?", "q/", False, False),
])
def test_rule_semantics(pattern: str, path: str, is_dir: bool, ignored: bool) -> None:
    (rule,) = sync.parse_rules(pattern)
    assert rule.matches(path, is_dir) is ignored


def test_rsync_excludes_are_anchored_and_escaped() -> None:
    assert sync.rsync_exclude_lines(["a b/", "x*.txt", "p[1]", "back\\slash"]) == [
        "/a b/", "/x\\*.txt", "/p\\[1]", "/back\\slash"]


def test_remote_path() -> None:
    assert sync.remote_path("~/data") == "data"
    assert sync.remote_path("~") == "."
    assert sync.remote_path("/mnt/x") == "/mnt/x"


def test_local_copy(tmp_path: Path) -> None:
    from stix.remote.transport import LocalTransport, NodeAddress

    root = _tree(tmp_path / "w", WORKDIR)
    home = tmp_path / "node"
    t = LocalTransport(NodeAddress("node-0", "localhost", local_home=str(home)))
    methods = asyncio.run(sync.sync_dir([t], root, sync.WORKDIR))
    assert methods == {"node-0": "copy"}
    got = sorted(str(p.relative_to(home / sync.WORKDIR))
                 for p in (home / sync.WORKDIR).rglob("*") if p.is_file())
    assert got == sorted([*EXPECTED, "build/out.o"])


@pytest.mark.sshd
@pytest.mark.parametrize("use_rsync", [True, False], ids=["rsync", "sftp"])
def test_sync_to_nodes(sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any,
                       tmp_path: Path, use_rsync: bool) -> None:
    import shutil

    if use_rsync and not shutil.which("rsync"):
        pytest.skip("rsync is not installed")
    nodes = sshd_nodes(2)
    root = _tree(tmp_path / "w", WORKDIR)
    mount = _tree(tmp_path / "m", {"one.txt": "1"})
    (tmp_path / "single.cfg").write_text("cfg")

    async def go() -> dict[str, str]:
        ts = await wait_for_nodes([n.address(sshd_hosts.key) for n in nodes], 20)
        methods = await sync.sync_dir(ts, root, sync.WORKDIR, use_rsync=use_rsync)
        await sync.sync_task_files(ts, None, {"~/mnt/m": str(mount),
                                              "~/etc/single.cfg": str(tmp_path / "single.cfg")},
                                   use_rsync=use_rsync)
        for t in ts:
            await t.close()
        return methods

    methods = asyncio.run(go())
    assert set(methods.values()) == {"rsync" if use_rsync else "sftp"}
    for n in nodes:
        base = n.host.home / sync.WORKDIR
        got = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
        assert got == sorted([*EXPECTED, "build/out.o"])
        assert (base / "odd name [x]*.txt").read_text() == "metachars in a file name"
        assert (n.host.home / "mnt/m/one.txt").read_text() == "1"
        assert (n.host.home / "etc/single.cfg").read_text() == "cfg"


def test_stix_home_and_ssh_dir_are_never_synced(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stix.remote.sync import collect

    home = tmp_path / "home"
    (home / ".stix" / "keys").mkdir(parents=True)
    (home / ".stix" / "keys" / "stix_ed25519").write_text("PRIVATE")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE")
    (home / "train.py").write_text("print()")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("STIX_HOME", str(home / ".stix"))
    found = collect(home)
    assert found.files == ["train.py"]
    assert {".stix/", ".ssh/"} <= set(found.excluded)
