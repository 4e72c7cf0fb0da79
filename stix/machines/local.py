"""`local`: this machine as the cluster, with no SSH and no cloud account.

Every local cluster node gets its own home under `<stix home>/local/<cluster>/<node>/`, so
two clusters (or two nodes of one cluster) never share files, job ids or logs. Everything
a cluster writes stays inside it — a file_mount target must be `~/...` there (an absolute
or `~/../` target would write to this machine's real filesystem, and `down` could not
take it back) — and `down` removes it.
"""

from __future__ import annotations

import os
import platform
import posixpath
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path
from typing import ClassVar

from stix.catalog.schema import Offer
from stix.clouds.base import Capabilities, CredentialStatus, Machines
from stix.errors import StixError
from stix.machines.fit import container_image, wanted_accelerator
from stix.paths import stix_home
from stix.placement import Placement, PlacementAccelerator
from stix.remote.transport import NodeAddress
from stix.task import Resources, Task


def local_root() -> Path:
    return stix_home() / "local"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _gpus() -> tuple[str | None, int]:
    """(name, count) of NVIDIA GPUs here, when nvidia-smi is installed."""
    if not shutil.which("nvidia-smi"):
        return None, 0
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, 0
    names = [n.strip() for n in out.splitlines() if n.strip()]
    if not names:
        return None, 0
    # "NVIDIA A100-SXM4-80GB" → "A100-SXM4-80GB": close enough to match catalog names.
    return names[0].removeprefix("NVIDIA ").split()[0], len(names)


def _escapes(rel: str) -> bool:
    """Whether a path relative to the node home leaves it (`..` above its start)."""
    norm = posixpath.normpath(rel or ".")
    return norm == ".." or norm.startswith("../") or norm.startswith("/")


class LocalMachines(Machines):
    name = "local"
    capabilities: ClassVar[Capabilities] = Capabilities(
        provisions=False, uses_catalog=False, zoned_prices=False, spot=False,
        this_machine=True)
    ignores: ClassVar[dict[str, str]] = {
        "disk_size": "this machine's disk is used as it is",
        "disk_tier": "this machine's disk is used as it is",
        "ports": "nothing is opened or forwarded: the task's servers listen on this machine",
        "labels": "local clusters carry no tags",
        "image_id": "this machine's own system runs the task (a `docker:` image runs in "
                    "a container on it)",
        "autostop": "set it after `up` with `stix autostop CLUSTER -i MIN --down`",
    }

    def check_credentials(self, verify: bool = False) -> CredentialStatus:
        return CredentialStatus(self.name, True, "this machine; no credentials needed")

    def mount_target_problem(self, target: str) -> str | None:
        if target == "~" or (target.startswith("~/") and not _escapes(target[2:])):
            return None
        return (f"mount target {target!r}: on the local provider file mounts land in the "
                "node's own directory (removed by `stix down`), so the target must be ~/... "
                "and stay inside it; this one would write to this machine outside it")

    def location(self, placement: Placement) -> str:
        return self.name

    def idle_action(self, cluster: str, down: bool) -> str | None:
        """`stix down CLUSTER --yes` with this interpreter and stix home: a local cluster
        can be torn down when idle, never this machine stopped."""
        if not down:
            return None
        home = os.environ.get("STIX_HOME")
        return (f"{'STIX_HOME=' + shlex.quote(home) + ' ' if home else ''}"
                f"{shlex.quote(sys.executable)} -m stix down {shlex.quote(cluster)} --yes")

    def offers(self) -> list[Offer]:
        gpu, count = _gpus()
        return [Offer(cloud="local", instance_type="local", vcpus=float(os.cpu_count() or 1),
                      memory_gib=_memory_gib(), accelerator=gpu, accelerator_count=float(count),
                      accelerator_memory_gib=None, region="local", zone=None, price=0.0,
                      spot_price=None, arch=platform.machine() or "x86_64")]

    def placement(self, task: Task, cluster: str, resources: Resources) -> Placement:
        for target in task.file_mounts:
            problem = self.mount_target_problem(target)
            if problem:
                raise StixError(f"file_mounts: {problem}")
        offer = self.offers()[0]
        want = wanted_accelerator(resources)
        if want is not None and (offer.accelerator is None
                                 or offer.accelerator.upper() != want.name.upper()
                                 or offer.accelerator_count < want.count):
            have = (f"{offer.accelerator}:{offer.accelerator_count:g}"
                    if offer.accelerator else "no GPU")
            raise StixError(f"resources.accelerators: this machine has {have}, "
                            f"the task wants {want}")
        if resources.use_spot:
            raise StixError("resources.use_spot: the local provider has no spot market")
        acc = (PlacementAccelerator(name=offer.accelerator, count=offer.accelerator_count)
               if offer.accelerator else None)
        return Placement(cluster=cluster, cloud="local", region="local",
                         instance_type="local", num_nodes=task.num_nodes, vcpus=offer.vcpus,
                         memory_gib=offer.memory_gib, accelerator=acc, arch=offer.arch,
                         hourly_price=0.0, ssh_user=os.environ.get("USER", "local"),
                         image_id=container_image(resources))

    def allocate(self, conn: sqlite3.Connection, placement: Placement,
                 avoid: Collection[str] = ()) -> list[NodeAddress]:
        nodes = []
        for rank in range(placement.num_nodes):
            home = local_root() / placement.cluster / f"node-{rank}"
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            nodes.append(NodeAddress(name=f"node-{rank}", host="localhost",
                                     internal_ip="127.0.0.1", local_home=str(home),
                                     cluster=placement.cluster))
        return nodes

    def rediscover(self) -> dict[str, int]:
        """A local cluster's node homes (node-<rank>) name it."""
        root = local_root()
        if not root.is_dir():
            return {}
        found = {}
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            homes = [h for h in folder.iterdir() if h.is_dir() and h.name.startswith("node-")]
            if homes:
                found[folder.name] = len(homes)
        return found

    def release(self, nodes: list[NodeAddress]) -> None:
        for node in nodes:
            if node.local_home:
                home = Path(node.local_home)
                shutil.rmtree(home, ignore_errors=True)
                parent = home.parent
                if parent.is_dir() and parent.parent == local_root() and not any(
                        parent.iterdir()):
                    parent.rmdir()
