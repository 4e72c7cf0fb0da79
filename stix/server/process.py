"""A local server as a background process: started on demand, found through
`~/.stix/server/server.json` (pid, url), logging to `server.log`, stopped by pid. Its token
is `~/.stix/server/token` (0600), made on first start; clients send it on every call.

`python -m stix.server.process` is the server itself: migrate the database, start the
controller, serve the API with uvicorn on the configured (or any free) port."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from stix.errors import StixError
from stix.server.settings import ServerSettings, load_settings, server_home

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Running:
    pid: int
    url: str
    started_at: float
    db: str


def token_path() -> Path:
    return server_home() / "token"


def token() -> str:
    """The server's bearer token (made, 0600, if there is none yet: STIX_SERVER_TOKEN's
    value where it is set, as on a deployed server, else a new random one)."""
    path = token_path()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        given = os.environ.get("STIX_SERVER_TOKEN", "").strip()
        with os.fdopen(fd, "w") as f:
            f.write((given or secrets.token_urlsafe(32)) + "\n")
    os.chmod(path, 0o600)
    return path.read_text().strip()


def _info_path() -> Path:
    return server_home() / "server.json"


def log_path() -> Path:
    return server_home() / "server.log"


def running() -> Running | None:
    """The local server this machine started, if its process is alive."""
    try:
        data = json.loads(_info_path().read_text())
        found = Running(int(data["pid"]), str(data["url"]), float(data["started_at"]),
                        str(data.get("db", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(found.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    with contextlib.suppress(ChildProcessError, OSError):  # ours and exited: reap it
        if os.waitpid(found.pid, os.WNOHANG)[0] == found.pid:
            return None
    return found


def start(settings: ServerSettings | None = None) -> Running:
    """Start a local server in the background (or return the one that runs) and wait until
    it answers."""
    settings = settings or load_settings()
    found = running()
    if found is not None:
        return found
    home = server_home()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    token()
    _info_path().unlink(missing_ok=True)
    with open(log_path(), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "stix.server.process"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=str(home))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = running()
        if found is not None and found.pid == proc.pid and _answers(found.url):
            return found
        if proc.poll() is not None:
            raise StixError(f"the stix server exited at start (code {proc.returncode})",
                            hint=f"see {log_path()}")
        time.sleep(0.1)
    raise StixError(f"the stix server did not answer within {START_TIMEOUT:.0f} s",
                    hint=f"see {log_path()}")


def stop() -> Running | None:
    """Stop the local server (SIGTERM, then SIGKILL after 20 s); None if none ran."""
    found = running()
    if found is None:
        return None
    os.kill(found.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if running() is None:
            break
        time.sleep(0.1)
    else:
        os.kill(found.pid, signal.SIGKILL)
    _info_path().unlink(missing_ok=True)
    return found


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def serve(settings: ServerSettings) -> None:
    """Run the server in this process until SIGTERM/SIGINT."""
    import logging

    import uvicorn

    from stix.server.app import create_app
    from stix.server.controller import Controller
    from stix.server.db import make_engine, migrate

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # one line per SSH channel
    url = settings.database_url()
    db = make_engine(url)
    migrate(db)
    controller = Controller(db, settings)
    app = create_app(db, token(), controller)
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    info = {"pid": os.getpid(), "url": f"http://{shown}:{port}", "started_at": time.time(),
            "db": url.split("@")[-1]}
    tmp = _info_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, _info_path())
    controller.start()
    try:
        server.run(sockets=[sock])
    finally:
        controller.stop()
    # Steps still in their worker threads (a launch, a probe) would hold the interpreter
    # open; everything they did is in the database, and the next server resumes from it
    # exactly as after a kill.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    serve(load_settings())
