"""What stix remembers about a running HAProxy (`state.json` in its workdir, 0600), so a
restarted stix server knows which replica holds which server slot.

Shape: `slots` (how many the running config has), `assigned` (slot number → name, host, ip,
port, draining, and the slot's counters when the replica got it, since counters belong to
the slot), `carried` (per replica, and `frontend_carried`: counts of workers replaced by a
reload), `reload_drain` (replicas left out at a reload, finishing on the old worker) and
`log_port` (the access log's UDP port on 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stix.serve import lb_haproxy as hx

VERSION = 1


def fresh(slots: int) -> dict[str, Any]:
    return {"version": VERSION, "slots": slots, "assigned": {}, "carried": {},
            "frontend_carried": [0, 0], "reload_drain": [], "log_port": None}


def load(path: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if state.get("version") == VERSION else None


def save(path: Path, state: dict[str, Any]) -> None:
    hx.write_private(path, json.dumps(state, indent=1, sort_keys=True))


def recover(admin_socket: Path, default_slots: int) -> dict[str, Any]:
    """A running HAProxy without our record of it: every enabled slot is drained out
    (nothing is cut), then the controller's next `set_backends` fills slots again."""
    rows = hx.show_stat(admin_socket)
    slot_names = [name for name in rows if name.startswith(hx.SLOT_PREFIX)]
    state = fresh(len(slot_names) or default_slots)
    for name in slot_names:
        row = rows[name]
        if row.get("status", "").startswith("MAINT"):
            continue
        slot = name.removeprefix(hx.SLOT_PREFIX)
        hx.set_server(admin_socket, int(slot), "state", "drain")
        ip, _, port = row.get("addr", "").rpartition(":")
        state["assigned"][slot] = {
            "name": f"unknown-{name}", "host": ip.strip("[]"), "ip": ip.strip("[]"),
            "port": int(port or 0), "draining": True, "base_requests": 0, "base_errors": 0}
    return state


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Held while reading and changing the state: two stix processes (an old server and
    its successor) may drive the same HAProxy for a moment."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
