"""Every attempt's logs, kept by the server: what provisioning and setup said, and each
node's run output, copied while the run goes (so a node that dies takes nothing with it)
and once more when the attempt ends. A file's size is how much of the node's log it holds,
so a restarted server resumes the copy exactly where it was."""

from __future__ import annotations

import os
from pathlib import Path

from stix.server.settings import server_home


def attempt_dir(job_id: int, number: int) -> Path:
    path = server_home() / "jobs" / str(job_id) / str(number)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def provision_log(job_id: int, number: int) -> Path:
    return attempt_dir(job_id, number) / "provision.log"


def node_log(job_id: int, number: int, node: str) -> Path:
    return attempt_dir(job_id, number) / f"run.{node}.log"


def append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def say_into(path: Path):  # type: ignore[no-untyped-def]
    """A `say` for `up` that writes each line into `path` with the time."""
    import time

    def say(line: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        append(path, f"{stamp} {line}\n".encode())

    return say


def read(job_id: int, number: int, *, controller: bool = False) -> list[tuple[str, bytes]]:
    """(label, bytes) of an attempt's logs: provisioning first, then each node's run."""
    root = server_home() / "jobs" / str(job_id) / str(number)
    if not root.is_dir():
        return []
    out = []
    provision = root / "provision.log"
    if provision.is_file():
        out.append(("provision", provision.read_bytes()))
    if not controller:
        for path in sorted(root.glob("run.*.log")):
            out.append((path.name[4:-4], path.read_bytes()))
    return out
