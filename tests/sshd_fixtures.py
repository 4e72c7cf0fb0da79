"""Real sshd servers for the node tests, owned by the test session.

As root: every node is its own test user (so it has its own home, as a real machine would)
and, where network namespaces are permitted, its own namespace with its own address on a
bridge, reached on port 22. Otherwise: loopback ports. Not root: one node only, as the
current user (several nodes would share one home). Everything is removed at teardown.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stix.remote.transport import NodeAddress

# System tools (useradd, ip, sshd) live in sbin, which a minimal or non-login PATH lacks.
_TOOL_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin",
                              "/sbin"])


def _tool(name: str) -> str:
    return shutil.which(name, path=_TOOL_PATH) or name


SSHD = _tool("sshd")
IS_ROOT = os.geteuid() == 0
TAG = f"{os.getpid()}"
USER_PREFIX = "sxt"


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool(argv[0]), *argv[1:]], capture_output=True, text=True,
                          check=check)


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _cleanup_stale() -> None:
    """Users and namespaces left by a test session that was killed."""
    with contextlib.suppress(OSError):
        for line in Path("/etc/passwd").read_text().splitlines():
            name = line.split(":", 1)[0]
            if name.startswith(USER_PREFIX) and "u" in name[3:]:
                pid = name[3:].split("u", 1)[0]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    _run("userdel", "-r", "-f", name, check=False)
    ns = _run("ip", "netns", "list", check=False).stdout.split()
    for name in ns:
        pid = name[2:].split("n", 1)[0]
        if name.startswith("sx") and pid.isdigit() and not _pid_alive(int(pid)):
            _run("ip", "netns", "del", name, check=False)


def kill_user_processes(user: str) -> None:
    """SIGKILL every process of a test user, by pid (the user exists only for the tests)."""
    import pwd

    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        os.kill(int(entry), signal.SIGKILL)
                    break


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NAMED_MARK = "stix sshd fixture"  # the GECOS of users `named_hosts` made (removed after)


@dataclass
class Host:
    """A place a node can run: a user (home) and, maybe, a namespace with an address."""

    index: int
    user: str
    home: Path
    netns: str | None
    address: str


@dataclass
class Node:
    host: Host
    port: int
    config: Path
    proc: subprocess.Popen[bytes] | None = None

    def address(self, key: Path) -> NodeAddress:
        return NodeAddress(name=f"node-{self.host.index}", host=self.host.address,
                           port=self.port, user=self.host.user, identity_file=str(key))

    def start(self, *, host_sys: bool = False) -> None:
        """`host_sys`: enter only the network namespace (nsenter), keeping this machine's
        /sys, which `ip netns exec` remounts without the cgroup mounts a container
        runtime needs."""
        argv = [SSHD, "-D", "-e", "-f", str(self.config)]
        if self.host.netns and host_sys:
            argv = [_tool("nsenter"), f"--net=/run/netns/{self.host.netns}", *argv]
        elif self.host.netns:
            argv = [_tool("ip"), "netns", "exec", self.host.netns, *argv]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                    (self.host.address, self.port), timeout=0.5) as s:
                if s.recv(4).startswith(b"SSH"):
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError(f"sshd for {self.host.user} did not start")

    def use_host_key(self, key: Path) -> None:
        """Restart the server with another host key (a reinstalled machine, or someone in
        the middle answering for it)."""
        self.kill()
        lines = [f"HostKey {key}" if ln.startswith("HostKey ") else ln
                 for ln in self.config.read_text().splitlines()]
        self.config.write_text("\n".join(lines) + "\n")
        self.start()

    def _descendants(self) -> list[int]:
        if self.proc is None:
            return []
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        out, frontier = [], {self.proc.pid}
        while frontier:
            children = {p for p, pp in parents.items() if pp in frontier}
            out += sorted(children)
            frontier = children
        return out

    def drop_connections(self) -> None:
        """Kill every SSH session process (the connection drops; the server stays up)."""
        for pid in self._descendants():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """The node goes away: sessions and server."""
        pids = self._descendants()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Hosts:
    """Session-wide: test users, namespaces, keys. Nodes (sshd) are per test."""

    root: Path
    key: Path
    host_key: Path
    bridge: str | None = None
    hosts: list[Host] = field(default_factory=list)
    netns_ok: bool = False
    extra_hosts: list[Host] = field(default_factory=list)
    made_users: set[str] = field(default_factory=set)

    def ensure(self, n: int) -> list[Host]:
        if n > 1 and not IS_ROOT:
            pytest.skip("several sshd nodes need separate homes: run the tests as root")
        while len(self.hosts) < n:
            self.hosts.append(self._make_host(len(self.hosts)))
        return self.hosts[:n]

    def _make_host(self, i: int) -> Host:
        if not IS_ROOT:
            home = Path.home()
            user = os.environ.get("USER") or _run("id", "-un").stdout.strip()
            self._authorize(home, None)
            return Host(i, user, home, None, "127.0.0.1")
        user = f"{USER_PREFIX}{TAG}u{i}"
        for _ in range(50):  # useradd refuses while another process holds /etc/passwd
            done = _run("useradd", "-m", "-p", "*", "-s", "/bin/bash", user, check=False)
            if done.returncode in (0, 9):
                break
            time.sleep(0.1)
        home = Path(_run("getent", "passwd", user).stdout.split(":")[5])
        self._authorize(home, user)
        netns, address = self._namespace(i) if self.netns_ok else (None, "127.0.0.1")
        return Host(i, user, home, netns, address)

    def _namespace(self, i: int) -> tuple[str, str]:
        """Namespace `i` on the bridge: a machine of its own; (its name, its address)."""
        netns, address = f"sx{TAG}n{i}", f"{self._subnet}.{i + 2}"
        veth_h, veth_n = f"sx{TAG}h{i}", f"sx{TAG}p{i}"
        _run("ip", "netns", "add", netns)
        _run("ip", "link", "add", veth_h, "type", "veth", "peer", "name", veth_n)
        _run("ip", "link", "set", veth_h, "master", str(self.bridge), "up")
        _run("ip", "link", "set", veth_n, "netns", netns)
        _run("ip", "-n", netns, "addr", "add", f"{address}/24", "dev", veth_n)
        _run("ip", "-n", netns, "link", "set", veth_n, "up")
        _run("ip", "-n", netns, "link", "set", "lo", "up")
        return netns, address

    def named_hosts(self, n: int, user: str, public_key: str) -> list[Host]:
        """`n` machines (namespaces) whose login is `user` — the name a cloud image gives
        it — sharing that user's home (as NFS would), authorized for `public_key`."""
        if not (IS_ROOT and self.netns_ok):
            pytest.skip("machines with a given login name need root and network namespaces")
        entry = _run("getent", "passwd", user, check=False).stdout
        if entry and entry.split(":")[4] != NAMED_MARK:
            pytest.skip(f"a user {user!r} exists on this machine already")
        if not entry:
            _run("useradd", "-m", "-p", "*", "-s", "/bin/bash", "-c", NAMED_MARK, user)
        self.made_users.add(user)
        home = Path(_run("getent", "passwd", user).stdout.split(":")[5])
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        auth = ssh_dir / "authorized_keys"
        auth.write_text(public_key.strip() + "\n")
        auth.chmod(0o600)
        shutil.chown(ssh_dir, user, user)
        shutil.chown(auth, user, user)
        out = []
        for _ in range(n):
            i = 50 + len(self.extra_hosts)
            netns, address = self._namespace(i)
            host = Host(i, user, home, netns, address)
            self.extra_hosts.append(host)
            out.append(host)
        return out

    @property
    def gateway(self) -> str:
        """The address the namespaced machines reach this machine at."""
        return f"{self._subnet}.1"

    @property
    def _subnet(self) -> str:
        pid = os.getpid()
        return f"10.{100 + pid % 100}.{pid // 100 % 250}"

    def _authorize(self, home: Path, user: str | None) -> None:
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        auth = ssh_dir / "authorized_keys"
        line = (self.key.with_suffix(".pub")).read_text()
        if not auth.exists() or line not in auth.read_text():
            with auth.open("a") as f:
                f.write(line)
        auth.chmod(0o600)
        if user:
            shutil.chown(ssh_dir, user, user)
            shutil.chown(auth, user, user)

    def setup_network(self) -> None:
        if not IS_ROOT:
            return
        probe = f"sx{TAG}probe"
        if _run("ip", "netns", "add", probe, check=False).returncode != 0:
            return  # not permitted here: loopback ports instead
        _run("ip", "netns", "del", probe, check=False)
        self.bridge = f"sx{TAG}b"
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self._subnet}.1/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        self.netns_ok = True

    def node(self, host: Host, tmp: Path) -> Node:
        port = 22 if host.netns else _free_port()
        config = tmp / f"sshd_{host.index}.conf"
        config.write_text("\n".join([
            f"Port {port}", f"ListenAddress {host.address}", f"HostKey {self.host_key}",
            "PidFile none", "UsePAM no", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            "AuthorizedKeysFile .ssh/authorized_keys", "StrictModes no", "MaxSessions 100",
            "MaxStartups 200", "Subsystem sftp internal-sftp", f"AllowUsers {host.user}",
            "LogLevel ERROR", "UseDNS no", ""]))
        return Node(host, port, config)

    def wipe_homes(self) -> None:
        """Back to a fresh machine between tests (only what stix puts there)."""
        for h in self.hosts:
            for name in (".stix", "stix_workdir"):
                target = h.home / name
                if target.is_symlink() or target.is_file():
                    target.unlink()
                elif target.exists():
                    shutil.rmtree(target, ignore_errors=True)

    def teardown(self) -> None:
        for user in self.made_users:
            kill_user_processes(user)
            _run("userdel", "-r", "-f", user, check=False)
        for h in [*self.hosts, *self.extra_hosts]:
            if h.netns:
                _run("ip", "netns", "del", h.netns, check=False)
            if IS_ROOT and h.user.startswith(USER_PREFIX):
                kill_user_processes(h.user)
                _run("userdel", "-r", "-f", h.user, check=False)
        if self.bridge:
            _run("ip", "link", "del", self.bridge, check=False)


def make_hosts(root: Path) -> Hosts:
    if not Path(SSHD).exists():
        pytest.skip("sshd is not installed (apt-get install openssh-server)")
    if IS_ROOT:
        _cleanup_stale()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    key, host_key = root / "client_key", root / "host_key"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key))
    hosts = Hosts(root, key, host_key)
    hosts.setup_network()
    return hosts


@contextlib.contextmanager
def running_nodes(hosts: Hosts, n: int, tmp: Path) -> Iterator[list[Node]]:
    nodes = [hosts.node(h, tmp) for h in hosts.ensure(n)]
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.kill()
        # jobs started by the agent are detached: end them with their user's processes
        if IS_ROOT:
            for node in nodes:
                kill_user_processes(node.host.user)
        hosts.wipe_homes()
