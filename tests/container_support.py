"""A real container runtime for the tests, and a small image built here (no registry is
reachable): a root filesystem made of this machine's bash, coreutils and util-linux
binaries with their libraries, imported with `podman import`.

Some sandboxes lack CAP_SYS_RESOURCE and have hybrid cgroups: podman's defaults (raising
RLIMIT_NOFILE, crun) then fail, so a containers.conf that keeps the limits and uses runc
is tried next, handed to podman through CONTAINERS_CONF. With neither working the tests
skip and say why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

IMAGE = "localhost/stix-test-task:1"
MARK = "/etc/stix-test-image"
TOOLS = ("bash", "sh", "sleep", "cat", "ls", "env", "id", "setsid", "mkdir", "printf", "kill",
         "rm", "pwd", "touch", "true", "echo", "grep")  # fmt: skip
_CONF = """[containers]
default_ulimits = ["nofile=1024:{nofile}", "nproc=1024:1024"]
[engine]
runtime = "runc"
"""


@dataclass(frozen=True)
class Runtime:
    binary: str
    env: dict[str, str]  # what podman needs in its environment on this machine


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return [part for line in out.splitlines() for part in line.split()
            if part.startswith("/")]


def build_rootfs(root: Path) -> None:
    for sub in ("usr/bin", "etc", "root", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "bin").symlink_to("usr/bin")
    for tool in TOOLS:
        path = shutil.which(tool)
        if path is None:
            continue
        real = os.path.realpath(path)
        shutil.copy2(real, root / "usr/bin" / tool)
        for lib in _libraries(real):
            dest = root / lib.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                shutil.copy2(os.path.realpath(lib), dest)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n")
    (root / MARK.lstrip("/")).write_text("inside the stix test image\n")


def _works(binary: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, "run", "--rm", "--net=host", IMAGE, "/bin/cat", MARK],
                          capture_output=True, text=True, env={**os.environ, **env},
                          timeout=120)


def find_runtime(work: Path) -> Runtime:
    """podman with the test image imported, or a skip naming what failed."""
    binary = shutil.which("podman")
    if binary is None:
        pytest.skip("podman is not installed (.ci/install installs Debian's podman)")
    root = work / "rootfs"
    if not root.exists():
        build_rootfs(root)
    archive = work / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root, arcname=".")
    imported = subprocess.run([binary, "import", str(archive), IMAGE], capture_output=True,
                              text=True, timeout=120)
    if imported.returncode != 0:
        pytest.skip(f"podman cannot import an image here: {imported.stderr.strip()[-300:]}")
    conf = work / "containers.conf"
    import resource

    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    conf.write_text(_CONF.format(nofile=nofile if nofile > 0 else 1024))
    tried = []
    for env in ({}, {"CONTAINERS_CONF": str(conf)}):
        done = _works(binary, env)
        if done.returncode == 0 and "inside" in done.stdout:
            return Runtime(binary, env)
        tried.append(done.stderr.strip()[-300:])
    pytest.skip("podman cannot start a container on this machine: " + " | ".join(tried))


def podman(rt: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([rt.binary, *args], capture_output=True, text=True,
                          env={**os.environ, **rt.env}, timeout=120)
