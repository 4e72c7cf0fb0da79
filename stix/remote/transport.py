"""How stix talks to one node: run a command (streaming), write a file, sync a tree.

Two implementations behind one small interface: SSH (asyncssh, imported only when a
connection is made, ONE connection per node with every command multiplexed on it), and a
local subprocess for the `local` provider. Remote paths are relative to the node's home
(the SSH login directory, or the local node's own directory), so callers never spell
`~` and two local clusters never share files.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import shutil
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stix.errors import StixError

OutputSink = Callable[[bytes], None]

CONNECT_TIMEOUT = 10.0
# Detect a silently vanished node (no FIN/RST) within about a minute.
KEEPALIVE_INTERVAL = 15
KEEPALIVE_COUNT_MAX = 4


class NodeUnreachableError(StixError):
    """A node could not be reached, or its connection was lost."""


@dataclass(frozen=True)
class NodeAddress:
    """Where one node is and how to log in; stored in the state DB as JSON."""

    name: str
    host: str
    port: int = 22
    user: str | None = None
    identity_file: str | None = None
    internal_ip: str | None = None  # what the other nodes use to reach it
    local_home: str | None = None   # set for `local` nodes: their own directory
    # The name its host key is pinned under (None: `[host]:port`), and where a cloud node's
    # key is learned (`<cloud>/<region>`; None: trust on first use). See `hostkeys`.
    host_key_alias: str | None = None
    host_key_source: str | None = None
    # The cluster whose files, agent state and job ids live apart on this node (homes may
    # be shared between machines, as on NFS); None only for records made before that.
    cluster: str | None = None
    # How to reach it when not directly (`ssh_proxy_command` in the config: a bastion, a
    # private subnet): an OpenSSH ProxyCommand, `%h`/`%p`/`%r` expanded to host/port/user.
    proxy_command: str | None = None

    @property
    def ip(self) -> str:
        return self.internal_ip or self.host

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NodeAddress:
        return cls(**data)


@dataclass
class RunResult:
    exit_status: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def error_text(self) -> str:
        text = (self.stderr or self.stdout).decode("utf-8", "replace").strip()
        return text.splitlines()[-1] if text else f"exit code {self.exit_status}"


class NodeTransport(ABC):
    """One node. `python` is how to start the node's Python (for the agent)."""

    address: NodeAddress
    python: str = "python3"

    @property
    def label(self) -> str:
        return f"{self.address.name}, {self.address.ip}"

    @abstractmethod
    async def run(self, command: str, *, stdin: bytes | None = None,
                  on_stdout: OutputSink | None = None,
                  on_stderr: OutputSink | None = None) -> RunResult:
        """Run `command` with bash in the node home. Output is streamed to the sinks when
        given (and then not collected). Raises NodeUnreachableError if the node is lost."""

    async def write_file(self, path: str, data: bytes, mode: int = 0o600) -> None:
        """Create `path` (relative to the node home) holding `data`, never readable by others
        while being written."""
        parent = os.path.dirname(path)
        quoted = shlex.quote(path if path.startswith("/") else "./" + path)  # never an option
        cmd = (f"umask 077 && {'mkdir -p -- ' + shlex.quote(parent) + ' && ' if parent else ''}"
               f"cat > {quoted} && chmod {mode:o} -- {quoted}")
        result = await self.run(cmd, stdin=data)
        if not result.ok:
            raise NodeUnreachableError(f"({self.label}) cannot write {path}: "
                                       f"{result.error_text()}")

    @abstractmethod
    async def sync_tree(self, local_root: Path, files: list[str], excluded: list[str],
                        remote_dir: str, *, use_rsync: bool = True) -> str:
        """Copy `files` (relative to `local_root`) under `remote_dir`; returns the method used
        ("rsync", "sftp" or "copy"). `excluded` lists paths that rsync must skip."""

    @abstractmethod
    def interactive_argv(self) -> list[str]:
        """argv for an interactive shell on the node (`stix ssh`)."""

    async def close(self) -> None:
        return None


# ---------------------------------------------------------------- SSH


def ssh_options(address: NodeAddress) -> list[str]:
    """OpenSSH client options reaching `address` (for rsync -e and `stix ssh`): the host
    key must be the one pinned in stix's known-hosts file, and nothing else is trusted."""
    from stix.remote.sshconfig import host_key_options

    opts = ["-p", str(address.port), "-o", "LogLevel=ERROR",
            "-o", f"ConnectTimeout={int(CONNECT_TIMEOUT)}"]
    opts += [f"-o{k}={v}" for k, v in host_key_options(address)]
    if address.identity_file:
        opts += ["-i", address.identity_file, "-o", "IdentitiesOnly=yes"]
    return opts


def expand_proxy(address: NodeAddress) -> str:
    """The node's ProxyCommand with OpenSSH's tokens filled in (host and user are checked
    names, so they cannot break out of the command)."""
    from stix.remote import names

    command = address.proxy_command or ""
    values = {"h": names.check_host(address.host), "p": str(int(address.port)),
              "r": names.check_user(address.user) if address.user else "", "%": "%"}
    return re.sub(r"%(.)", lambda m: values.get(m.group(1), m.group(0)), command)


def ssh_target(address: NodeAddress) -> str:
    """`user@host`, checked so that neither can be read as an option or a second host."""
    from stix.remote import names

    try:
        host = names.check_host(address.host)
        user = names.check_user(address.user) if address.user else None
    except ValueError as exc:
        raise StixError(f"node {address.name}: {exc}") from None
    return f"{user}@{host}" if user else host


def rsync_argv(address: NodeAddress, local_root: Path, remote_dir: str) -> list[str]:
    """rsync of `local_root` to `remote_dir` on the node, over ssh with the pinned host key
    (excludes are read from stdin)."""
    ssh_cmd = shlex.join(["ssh", *ssh_options(address)])
    return ["rsync", "-a", "--protect-args", "-e", ssh_cmd, "--exclude-from=-",
            f"{local_root.absolute()}/", f"{ssh_target(address)}:{remote_dir}/"]


class SshTransport(NodeTransport):
    """One asyncssh connection per node; every command is a channel on it."""

    def __init__(self, address: NodeAddress, conn: Any) -> None:
        self.address = address
        self._conn = conn
        self._sftp: Any = None
        self._has_rsync: bool | None = None

    @classmethod
    async def connect(cls, address: NodeAddress, timeout: float = CONNECT_TIMEOUT
                      ) -> SshTransport:
        import asyncssh

        from stix.remote import hostkeys

        target = ssh_target(address)
        kwargs: dict[str, Any] = {
            "port": address.port, "config": None,
            "connect_timeout": timeout, "keepalive_interval": KEEPALIVE_INTERVAL,
            "keepalive_count_max": KEEPALIVE_COUNT_MAX,
        }
        if address.user:
            kwargs["username"] = address.user
        if address.identity_file:
            kwargs["client_keys"] = [address.identity_file]
            kwargs["agent_path"] = None
        if address.proxy_command:  # run by a shell, as OpenSSH runs it
            kwargs["proxy_command"] = ["/bin/sh", "-c", expand_proxy(address)]

        async def opener(known_hosts: Any, client_factory: Any) -> Any:
            try:
                return await asyncssh.connect(address.host, known_hosts=known_hosts,
                                              client_factory=client_factory, **kwargs)
            except asyncssh.HostKeyNotVerifiable:
                raise hostkeys.HostKeyMismatch(None) from None
            except asyncssh.KeyExchangeFailed as exc:
                if known_hosts[0] and "host key" in str(exc).lower():
                    raise hostkeys.HostKeyMismatch(None) from None
                raise NodeUnreachableError(f"({address.name}, {address.ip}) cannot connect "
                                           f"to {target}:{address.port}: {_reason(exc)}") from None
            except (OSError, asyncssh.Error, asyncio.TimeoutError, UnicodeError,
                    ValueError) as exc:
                raise NodeUnreachableError(
                    f"({address.name}, {address.ip}) cannot connect to "
                    f"{target}:{address.port}: {_reason(exc)}") from None

        return cls(address, await hostkeys.open_verified(address, opener))

    async def run(self, command: str, *, stdin: bytes | None = None,
                  on_stdout: OutputSink | None = None,
                  on_stderr: OutputSink | None = None) -> RunResult:
        import asyncssh

        try:
            proc = await self._conn.create_process(command, encoding=None)
            if stdin is not None:
                proc.stdin.write(stdin)
            proc.stdin.write_eof()
            out, err = await asyncio.gather(_pump(proc.stdout, on_stdout),
                                            _pump(proc.stderr, on_stderr))
            await proc.wait_closed()
        except (OSError, asyncssh.Error) as exc:
            raise NodeUnreachableError(f"({self.label}) connection lost: {_reason(exc)}") from None
        status = proc.exit_status
        if status is None:  # channel closed without a status: the connection went away
            raise NodeUnreachableError(f"({self.label}) connection lost during a command")
        return RunResult(status if status >= 0 else 255, out, err)

    async def _remote_has_rsync(self) -> bool:
        if self._has_rsync is None:
            self._has_rsync = (await self.run("command -v rsync >/dev/null")).ok
        return self._has_rsync

    async def sync_tree(self, local_root: Path, files: list[str], excluded: list[str],
                        remote_dir: str, *, use_rsync: bool = True) -> str:
        if use_rsync and shutil.which("rsync") and await self._remote_has_rsync():
            await self._rsync(local_root, excluded, remote_dir)
            return "rsync"
        await self._sftp_put(local_root, files, remote_dir)
        return "sftp"

    async def _rsync(self, local_root: Path, excluded: list[str], remote_dir: str) -> None:
        from stix.remote.sync import rsync_exclude_lines

        made = await self.run(f"mkdir -p -- {shlex.quote(remote_dir)}")
        if not made.ok:
            raise NodeUnreachableError(f"({self.label}) cannot create {remote_dir}: "
                                       f"{made.error_text()}")
        exclude_data = "".join(line + "\n" for line in rsync_exclude_lines(excluded))
        argv = rsync_argv(self.address, local_root, remote_dir)
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate(exclude_data.encode())
        if proc.returncode != 0:
            text = err.decode("utf-8", "replace").strip().splitlines()
            raise NodeUnreachableError(f"({self.label}) rsync to {remote_dir} failed "
                                       f"(exit {proc.returncode}): {text[-1] if text else ''}")

    async def _sftp_put(self, local_root: Path, files: list[str], remote_dir: str) -> None:
        import asyncssh

        try:
            if self._sftp is None:
                self._sftp = await self._conn.start_sftp_client()
            sftp = self._sftp
            dirs = sorted({os.path.dirname(f) for f in files} | {""})
            for d in dirs:
                await sftp.makedirs(f"{remote_dir}/{d}" if d else remote_dir, exist_ok=True)
            sem = asyncio.Semaphore(16)

            async def put(rel: str) -> None:
                async with sem:
                    await sftp.put(str(local_root / rel), f"{remote_dir}/{rel}",
                                   preserve=True)

            await asyncio.gather(*(put(f) for f in files))
        except (OSError, asyncssh.Error) as exc:
            raise NodeUnreachableError(f"({self.label}) SFTP to {remote_dir} failed: "
                                       f"{_reason(exc)}") from None

    def interactive_argv(self) -> list[str]:
        return ["ssh", *ssh_options(self.address), ssh_target(self.address)]

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
        self._conn.close()
        with contextlib.suppress(asyncio.TimeoutError, OSError):
            await asyncio.wait_for(self._conn.wait_closed(), 5)


async def _pump(stream: Any, sink: OutputSink | None) -> bytes:
    chunks: list[bytes] = []
    while True:
        data = await stream.read(65536)
        if not data:
            break
        if sink is not None:
            sink(data)
        else:
            chunks.append(data)
    return b"".join(chunks)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    text = str(exc) or getattr(exc, "reason", "") or type(exc).__name__
    return text.strip()


# ---------------------------------------------------------------- local


class LocalTransport(NodeTransport):
    """A `local` node: subprocesses on this machine in the node's own home directory."""

    def __init__(self, address: NodeAddress) -> None:
        if not address.local_home:
            raise StixError(f"local node {address.name} has no home directory recorded")
        self.address = address
        self.home = Path(address.local_home)
        self.python = sys.executable

    def env(self) -> dict[str, str]:
        from stix.remote.agent_client import STIX_DIR

        return {**os.environ, "STIX_AGENT_HOME": str(self.home / STIX_DIR / "agent"),
                "STIX_NODE_HOME": str(self.home)}

    async def run(self, command: str, *, stdin: bytes | None = None,
                  on_stdout: OutputSink | None = None,
                  on_stderr: OutputSink | None = None) -> RunResult:
        self.home.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", command, cwd=self.home, env=self.env(),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        assert proc.stdin is not None
        if stdin:
            proc.stdin.write(stdin)
        proc.stdin.close()
        out, err = await asyncio.gather(_pump(proc.stdout, on_stdout),
                                        _pump(proc.stderr, on_stderr))
        return RunResult(await proc.wait(), out, err)

    def inside(self, path: str) -> Path:
        """`path` (relative to the node home) as a real path inside the home; anything
        that would land outside it (absolute, `..`, a symlink out) is refused."""
        home = Path(os.path.realpath(self.home))
        where = Path(os.path.realpath(home / path))
        if not os.path.isabs(path) and (where == home or home in where.parents):
            return where
        raise StixError(f"({self.label}) {path}: outside the node's own directory {home}; "
                        "a local node writes only there")

    async def write_file(self, path: str, data: bytes, mode: int = 0o600) -> None:
        dest = self.inside(path)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            os.fchmod(out.fileno(), mode)

    async def sync_tree(self, local_root: Path, files: list[str], excluded: list[str],
                        remote_dir: str, *, use_rsync: bool = True) -> str:
        target = self.inside(remote_dir)
        target.mkdir(parents=True, exist_ok=True)

        def copy() -> None:
            home = Path(os.path.realpath(self.home))
            for rel in files:
                dest = self.inside(os.path.relpath(target / rel, home))  # no symlink out
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.is_symlink():
                    dest.unlink()
                shutil.copy2(local_root / rel, dest, follow_symlinks=False)

        await asyncio.get_running_loop().run_in_executor(None, copy)
        return "copy"

    def interactive_argv(self) -> list[str]:
        return [os.environ.get("SHELL") or "bash"]


async def connect(address: NodeAddress, timeout: float = CONNECT_TIMEOUT) -> NodeTransport:
    """The transport for `address`: local when it has a local home, SSH otherwise."""
    if address.local_home:
        return LocalTransport(address)
    return await SshTransport.connect(address, timeout)
