"""HAProxy as a process stix drives: its config (rendered from `templates/haproxy/`, every
value validated and quoted), its runtime and master sockets, its `show stat` CSV.

Kept apart from `stix.serve.lb` so the load balancer's policy (slots, drains, reloads)
reads without the mechanics of sockets, quoting and process ids.
"""

from __future__ import annotations

import contextlib
import csv
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from stix.errors import StixError

BACKEND = "replicas"
FRONTEND = "endpoint"
SLOT_PREFIX = "s"
BALANCE = {"round_robin": "roundrobin", "least_load": "leastconn", "least_requests": "leastconn"}
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
# Inside HAProxy's double quotes `\` escapes, `$` expands variables and `'` opens a quote.
_UNQUOTABLE = re.compile(r"[\"\\$'#\x00-\x1f\x7f]")
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes with the final NUL


class LoadBalancerError(StixError):
    """HAProxy could not be configured, started, reloaded or asked."""


def haproxy_binary() -> str:
    """Debian puts haproxy in /usr/sbin, which a non-root PATH often lacks."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = shutil.which("haproxy", path=path)
    if found is None:
        raise LoadBalancerError("haproxy is not installed",
                                hint="apt-get install haproxy (Debian's 2.6 or newer)")
    return found


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise LoadBalancerError(f"backend name {name!r}: use 1-63 of [a-z0-9-], "
                                "starting with a letter or digit")
    return name


def check_port(port: object, what: str = "port") -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise LoadBalancerError(f"{what} {port!r}: must be an integer from 1 to 65535")
    return port


def check_host(host: str, what: str = "host") -> str:
    """An IP literal or an RFC 1123 host name, nothing HAProxy could read another way."""
    if not isinstance(host, str):
        raise LoadBalancerError(f"{what} {host!r}: not a string")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    if len(host) > 253 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        raise LoadBalancerError(f"{what} {host!r}: not an IP address or host name")
    return host


def resolve(host: str, port: int) -> str:
    """The IP HAProxy's runtime API needs (`set server addr` takes no names)."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise LoadBalancerError(f"backend host {host!r} does not resolve: {exc}") from exc
    return str(ipaddress.ip_address(infos[0][4][0]))


def join_address(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def check_socket_path(path: Path) -> Path:
    if len(os.fsencode(str(path))) > _SUN_PATH_MAX:
        raise LoadBalancerError(f"socket path {path} is longer than {_SUN_PATH_MAX} bytes",
                                hint="use a shorter workdir for the load balancer")
    return path


class _Quoted(str):
    """A value checked and double-quoted for an HAProxy config line."""


def _hq(value: object) -> _Quoted:
    text = str(value)
    if not text or _UNQUOTABLE.search(text):
        raise LoadBalancerError(f"value {text!r} cannot go into HAProxy's config safely",
                                hint="paths and names must not hold quotes, '\\', '$', "
                                     "'#' or control characters")
    return _Quoted(f'"{text}"')


def _finalize(value: object) -> object:
    if isinstance(value, _Quoted) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise AssertionError(f"haproxy template prints {value!r} without the hq filter")


@cache
def _template() -> Any:
    import jinja2

    from stix.paths import templates_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir() / "haproxy")),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, finalize=_finalize, auto_reload=False)
    env.filters["hq"] = _hq
    return env.get_template("haproxy.cfg.j2")


def render_config(*, admin_socket: Path, log_port: int, bind_host: str, port: int,
                  policy: str, tls_pem: Path | None, slots: int,
                  servers: dict[int, tuple[str, int]]) -> str:
    """The whole config: `servers` maps a slot number to the (ip, port) it serves; every
    other slot is a disabled `server-template` entry waiting for the runtime API."""
    if policy not in BALANCE:
        raise LoadBalancerError(f"load_balancing_policy {policy!r}: use one of "
                                + ", ".join(sorted(BALANCE)))
    free: list[tuple[int, int]] = []
    for slot in range(1, slots + 1):
        if slot in servers:
            continue
        if free and free[-1][1] == slot - 1:
            free[-1] = (free[-1][0], slot)
        else:
            free.append((slot, slot))
    rows = [{"slot": f"{SLOT_PREFIX}{slot}", "address": join_address(*servers[slot])}
            for slot in sorted(servers)]
    return str(_template().render(
        admin_socket=admin_socket, log_address=f"127.0.0.1:{check_port(log_port)}",
        tls_pem=tls_pem,
        bind_address=join_address(bind_host, port) if _is_ip(bind_host) else f"{bind_host}:{port}",
        balance=BALANCE[policy], servers=rows, free_ranges=free,
        connect_timeout_ms=2000, hard_stop_seconds=1800))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def write_private(path: Path, text: str) -> None:
    """Atomically, mode 0600 from the first byte (configs and keys are nobody else's)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def ask(sock: Path, command: str, timeout: float = 5.0) -> str:
    """One command on a runtime or master socket (one connection each: both close after
    answering once our side has shut its write half)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            conn.connect(str(sock))
            conn.sendall(command.encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except OSError as exc:
            raise LoadBalancerError(f"HAProxy's socket {sock} did not answer "
                                    f"{command.split()[0]!r}: {exc}") from exc
    return b"".join(chunks).decode(errors="replace")


_REFUSALS = ("No such", "Unknown command", "Require", "invalid", "Invalid", "not allowed",
             "Permission denied", "can't", "cannot")


def set_server(sock: Path, slot: int, *args: str) -> None:
    """`set server replicas/s<slot> ...`, raising when HAProxy refuses it."""
    command = f"set server {BACKEND}/{SLOT_PREFIX}{slot} " + " ".join(args)
    answer = ask(sock, command).strip()
    if any(word in answer for word in _REFUSALS):
        raise LoadBalancerError(f"HAProxy refused {command!r}: {answer}")


def show_stat(sock: Path) -> dict[str, dict[str, str]]:
    """`show stat` rows of our frontend and backend, by svname (FRONTEND, BACKEND, s1...)."""
    return parse_stat(ask(sock, "show stat"))


def parse_stat(text: str) -> dict[str, dict[str, str]]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        raise LoadBalancerError(f"HAProxy's show stat answered {text[:200]!r}")
    reader = csv.DictReader([lines[0][2:], *lines[1:]])
    rows: dict[str, dict[str, str]] = {}
    for row in reader:
        if row.get("pxname") == BACKEND or (row.get("pxname"), row.get("svname")) == (
                FRONTEND, "FRONTEND"):
            rows[row["svname"]] = row
    return rows


def counter(row: dict[str, str], *fields: str) -> int:
    """The sum of integer columns (empty cells count 0)."""
    return sum(int(row.get(name) or 0) for name in fields)


def start_process(binary: str, config: Path, pidfile: Path, master_socket: Path,
                  errors: Path) -> None:
    """Master-worker, daemonized: the master survives the caller and reloads in place."""
    if "," in str(master_socket):
        raise LoadBalancerError(f"master socket path {master_socket} holds a comma")
    with open(errors, "wb") as err:
        done = subprocess.run([binary, "-W", "-D", "-f", str(config), "-p", str(pidfile),
                               "-S", f"{master_socket},mode,600"],
                              stdin=subprocess.DEVNULL, stdout=err, stderr=err, timeout=30,
                              check=False, start_new_session=True)
    if done.returncode != 0:
        raise LoadBalancerError(f"haproxy did not start (exit {done.returncode}): "
                                + errors.read_text(errors="replace").strip()[-800:])


def check_config(binary: str, config: Path) -> None:
    done = subprocess.run([binary, "-c", "-q", "-f", str(config)], capture_output=True,
                          text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise LoadBalancerError("HAProxy rejects the config stix wrote: "
                                + (done.stderr or done.stdout).strip()[-800:])


def master_pid(pidfile: Path, config: Path) -> int | None:
    """The master started with this config, if it runs (a reused pid is not ours)."""
    try:
        pid = int(pidfile.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    if not cmdline or not cmdline[0].endswith(b"haproxy") or os.fsencode(str(config)) \
            not in cmdline:
        return None
    return pid


@dataclass(frozen=True)
class Processes:
    """The master's `show proc`: its reload counts and its workers' pids."""

    reloads: int
    failed: int
    workers: list[int]
    old_workers: list[int]  # still finishing what they served before a reload


def processes(master_socket: Path) -> Processes:
    text = ask(master_socket, "show proc")
    reloads = failed = 0
    workers: list[int] = []
    old: list[int] = []
    section = ""
    for line in text.splitlines():
        if line.startswith("#"):
            section = line
            continue
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "master":
            reloads = int(parts[2])
            found = re.search(r"failed:\s*(\d+)", line)
            failed = int(found.group(1)) if found else 0
        elif len(parts) >= 2 and parts[1] == "worker" and parts[0].isdigit():
            (old if "old workers" in section else workers).append(int(parts[0]))
    return Processes(reloads, failed, workers, old)


def wait_ready(admin_socket: Path, slots: int, timeout: float = 15.0) -> None:
    """Until the worker answers on its runtime socket with all its slots."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if sum(1 for name in show_stat(admin_socket) if name.startswith(SLOT_PREFIX)) \
                    == slots:
                return
        except LoadBalancerError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise LoadBalancerError(f"HAProxy did not come up with {slots} server slots")
        time.sleep(0.05)


def reload(binary: str, config: Path, master_socket: Path, admin_socket: Path,
           slots: int, timeout: float = 30.0, linger: float = 3.0) -> list[int]:
    """A graceful reload: the new worker takes the listening sockets over (no refused
    connection), the old one finishes what it serves and leaves.

    Returns the old worker's pids once they have left, or `linger` s after the new one is
    up if they still finish long requests.
    """
    check_config(binary, config)
    first = processes(master_socket)
    with contextlib.suppress(LoadBalancerError):  # the master hangs up as it re-executes
        ask(master_socket, "reload")
    deadline = time.monotonic() + timeout
    up_at: float | None = None
    while time.monotonic() < deadline:
        time.sleep(0.02)
        try:
            now = processes(master_socket)
        except LoadBalancerError:
            continue
        if now.failed > first.failed:
            raise LoadBalancerError("HAProxy's reload failed; the previous config still serves")
        if up_at is None and now.reloads > first.reloads:
            with contextlib.suppress(LoadBalancerError):
                rows = show_stat(admin_socket)
                if sum(1 for name in rows if name.startswith(SLOT_PREFIX)) == slots:
                    up_at = time.monotonic()
        leaving = [pid for pid in first.workers if _running(pid)]
        if up_at is not None and (not leaving or time.monotonic() - up_at > linger):
            return first.workers
    raise LoadBalancerError(f"HAProxy's reload did not finish within {timeout:.0f} s")


def stop_process(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM to the master (it stops its workers), SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _running(pid):
                return
            time.sleep(0.05)


def _running(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True
