"""The node phase of `up` (and of `exec`): wait for the nodes → agent → sync → setup → run.

It only needs node addresses, so every provider uses it once its machines exist.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stix.errors import StixError
from stix.remote import container as ct
from stix.remote import fanout, sync
from stix.remote.transport import NodeAddress, NodeTransport
from stix.remote.wait import wait_for_node, wait_for_nodes
from stix.say import Say, quiet

RECONNECT_TIMEOUT = 30.0


@dataclass
class RunSpec:
    """Everything the nodes need to run one job of a task."""

    cluster: str
    job_id: str
    name: str
    run: str | None
    setup: str | None = None
    envs: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    local_mounts: dict[str, str] = field(default_factory=dict)
    gpus_per_node: float = 0.0
    cluster_info: dict[str, Any] = field(default_factory=dict)
    task_id: str = ""
    remote_cwd: str | None = None  # where the job runs, when not in the synced workdir
    # The user confirmed sending file_mount sources that are credential stores or keys.
    allow_private: bool = False
    git_url: str | None = None  # `workdir: {url, ref}`: fetched on the nodes instead
    git_ref: str | None = None
    container: ct.Container | None = None  # setup and run happen inside it

    def __post_init__(self) -> None:
        if not self.task_id:
            stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
            self.task_id = f"stix-{stamp}_{self.cluster}_{self.job_id}"

    def env_for(self, addresses: list[NodeAddress], rank: int) -> dict[str, str]:
        """Task envs, then secrets, then the node variables (which the task cannot shadow)."""
        node = fanout.node_env(addresses, rank, cluster=self.cluster, task_id=self.task_id,
                               gpus_per_node=self.gpus_per_node,
                               cluster_info=self.cluster_info)
        return {**self.envs, **self.secrets, **node}

    @property
    def cwd(self) -> str | None:
        return (self.remote_workdir if self.workdir is not None or self.git_url
                else self.remote_cwd)

    def script(self, text: str, envs: list[dict[str, str]]) -> str:
        """What the agent runs for `text`: itself, or its way into the container."""
        if self.container is None:
            return text
        names = {k for env in envs for k in env}
        return ct.wrap(self.container, text, names, self.cwd)

    @property
    def remote_workdir(self) -> str:
        """Where the workdir lands on the nodes (each cluster's own folder)."""
        from stix.remote.agent_client import workdir_of

        return workdir_of(self.cluster)


async def connect_nodes(addresses: list[NodeAddress], timeout: float = 300.0
                        ) -> list[NodeTransport]:
    return await wait_for_nodes(addresses, timeout)


async def reconnect(address: NodeAddress) -> NodeTransport:
    return await wait_for_node(address, time.monotonic() + RECONNECT_TIMEOUT)


async def prepare(transports: list[NodeTransport], addresses: list[NodeAddress],
                  spec: RunSpec, printer: fanout.LinePrinter, *, setup: bool = True,
                  upload_agent: bool = True, new_container: bool = True,
                  say: Say = quiet) -> None:
    """Agent, files, the task's container (made when `new_container`, else it must be
    there: exec never remakes it) and (when `setup`, or a new container) setup."""
    if upload_agent:
        await fanout.upload_agent(transports)
    if setup:
        stale = await fanout.stop_orphan_setups(transports)
        if stale:
            say(f"stopped {len(stale)} setup run(s) left by an earlier `stix up` that did "
                f"not finish: {', '.join(stale)}")
    if spec.workdir is not None or spec.local_mounts:
        say(f"syncing files to {len(transports)} node(s)")
        await sync.sync_task_files(transports, spec.workdir, spec.local_mounts,
                                   remote_workdir=spec.remote_workdir,
                                   allow_private=spec.allow_private, say=say)
    if spec.git_url:
        say(f"fetching {spec.git_url} {spec.git_ref or 'HEAD'} on {len(transports)} node(s)")
        await fetch_git(transports, spec)
    if spec.container is not None:
        created = await start_container(transports, spec, create=new_container, say=say)
        if created and not setup and spec.setup:
            say("the container is new: running setup in it")
            setup = True
    if setup and spec.setup:
        say(f"running setup on {len(transports)} node(s)")
        envs = [spec.env_for(addresses, rank) for rank in range(len(addresses))]
        await fanout.run_setup(transports, spec.script(spec.setup, envs), envs, printer,
                               spec.cwd)


async def start_container(transports: list[NodeTransport], spec: RunSpec, *, create: bool,
                          say: Say = quiet) -> bool:
    """The cluster's container running on every node (`create`: made or remade when
    missing or changed; else it must be there). True when any node made a new one."""
    c = spec.container
    assert c is not None
    login = ct.login_from({**spec.envs, **spec.secrets})
    script = f"bash -c {shlex.quote(ct.start_script(c, create=create, login=login))}"
    stdin = login.password.encode() if login else None
    if create:
        say(f"starting container {c.image} on {len(transports)} node(s)")
    results = await asyncio.gather(*(t.run(script, stdin=stdin) for t in transports))
    failed = [f"  ({t.label}) {ct.explain_exit(r.exit_status, _stderr(r.stderr))}"
              for t, r in zip(transports, results, strict=True) if not r.ok]
    if failed:
        raise ct.ContainerError(
            f"container {c.image}: not running on {len(failed)} of {len(transports)} "
            "node(s):\n" + "\n".join(failed),
            hint="the nodes need docker or podman (cloud-init installs docker.io on VMs), "
                 "and the image must be pullable from them")
    return any(r.stdout.decode().strip() == "created" for r in results)


def _stderr(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def git_command(spec: RunSpec) -> str:
    """Fetch the repository at its ref into the cluster's workdir (a branch, tag or commit:
    a shallow fetch, then a forced checkout of what it fetched); every value quoted, and
    git's command-running `ext::` transport refused."""
    q = shlex.quote
    git = "git -c protocol.ext.allow=never -c advice.detachedHead=false"
    return (f"set -e; mkdir -p {q(spec.remote_workdir)}; cd {q(spec.remote_workdir)}; "
            f"[ -d .git ] || git init -q .; "
            f"{git} fetch -q --depth 1 {q(spec.git_url or '')} {q(spec.git_ref or 'HEAD')}; "
            f"{git} checkout -q -f FETCH_HEAD")


async def fetch_git(transports: list[NodeTransport], spec: RunSpec) -> None:
    command = git_command(spec)
    results = await asyncio.gather(*(t.run(command) for t in transports))
    failed = [f"  ({t.label}) {r.error_text()}" for t, r in zip(transports, results,
                                                                strict=True) if not r.ok]
    if failed:
        raise StixError(f"workdir {spec.git_url} {spec.git_ref or 'HEAD'}: the fetch failed on "
                        f"{len(failed)} of {len(transports)} node(s):\n" + "\n".join(failed),
                        hint="the nodes need git and access to the repository")


async def start_run(transports: list[NodeTransport], addresses: list[NodeAddress],
                    spec: RunSpec) -> None:
    envs = [spec.env_for(addresses, rank) for rank in range(len(addresses))]
    await fanout.submit_job(transports, spec.job_id, spec.name,
                            spec.script(spec.run or "true", envs), envs,
                            spec.cwd)


async def follow(transports: list[NodeTransport], job_id: str,
                 printer: fanout.LinePrinter, *, follow: bool = True,
                 offsets: list[int] | None = None) -> fanout.JobOutcome:
    return await fanout.follow_job(transports, job_id, printer, offsets=offsets,
                                   follow=follow, reconnect=reconnect)


async def close_all(transports: list[NodeTransport]) -> None:
    for t in transports:
        await t.close()
