"""The plain records a provider answers with (stix.clouds.base is the interface that
answers): credentials, node states, charges, capabilities, bucket stores, the machine
types and retired hardware a cloud publishes. Data and small methods only."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from stix.placement import Bucket

StopMode = Literal["stop", "down"]


@dataclass(frozen=True)
class CredentialStatus:
    """Whether stix can act on a provider, and how the user can fix it when not."""

    cloud: str
    ok: bool
    detail: str
    hint: str | None = None
    sources: list[str] = field(default_factory=list)


NodePower = Literal["pending", "running", "stopping", "stopped", "terminated"]


@dataclass(frozen=True)
class NodeState:
    """One node as its cloud reports it (addresses change across a stop and start)."""

    name: str
    power: NodePower
    public_ip: str | None = None
    private_ip: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class Charge:
    """Something each node of a cluster bills besides its machine, as the cost report
    prices it: USD per hour while the machine runs and while it is stopped (0.0: not
    billed then; None: billed, but stix has no price for it)."""

    what: str  # "disk 256 GB (medium) gp3", "public IPv4 address"
    kind: Literal["disk", "address"]
    running: float | None
    stopped: float | None


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do; generic code branches on these, never on names."""

    provisions: bool = True  # stix creates the machines (through an IaC engine)
    uses_catalog: bool = True  # offers come from catalog_data/<name>/vms.csv
    zoned_prices: bool = True  # catalog rows name a zone (False: priced per region)
    spot: bool = True
    stop_start: bool = False  # machines can be stopped and started again (`stix stop`)
    stop_spot: bool = False  # ... spot machines too
    # A powered-off machine still bills in full (so `stix stop`, which would save nothing,
    # refuses and says so).
    stopped_bills: bool = False
    # How nodes run the task: "ssh" (agent, sync, setup, run over SSH) or None when the
    # node phase is not available on this provider yet (said so after provisioning).
    node_access: Literal["ssh"] | None = "ssh"
    terraform: bool = False  # the resource graph translates to Terraform JSON
    container_images: bool = False  # `image_id: docker:...` is what the nodes run
    # A cluster's nodes reach each other over a private network (False: one node per
    # cluster; the optimizer leaves the provider out of multi-node tasks).
    multi_node: bool = True
    # The task's ports can be limited to `ssh_cidrs` (False: only SSH can; the plan's
    # exposure list shows the ports open to everyone).
    port_firewall: bool = True
    managed_kubernetes: str | None = None  # the service a node pool is added to (eks...)
    autostop: tuple[StopMode, ...] = ()  # what a node can do to itself when idle
    # Every cluster runs on this one machine: servers of two clusters must not share a port.
    this_machine: bool = False
    # Its shipped rows are an example, not prices (a marketplace): a plan places there only
    # when the task names the cloud, or once `stix catalog update` read observed prices.
    example_prices: bool = False


@dataclass(frozen=True)
class StoreTool:
    """The node-side tool for one bucket mode and the apt packages it needs."""

    name: str
    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Store:
    """A bucket store a cloud's nodes reach with their own identity (no keys on nodes).

    Its node-side shell lives in `stix/clouds/<template_dir>/`: `bucket-install.sh.j2`
    (the tools), `bucket-copy.sh.j2` and `bucket-mount.sh.j2` (one bucket `b`)."""

    name: str  # the task's `store:` value
    tools: dict[str, StoreTool]  # mode (MOUNT | COPY) → tool
    template_dir: str
    # Characters this store refuses in bucket names beyond the generic rules.
    bad_name_chars: str = ""
    account_pattern: str | None = None  # a store whose containers live in an account

    def account(self, cluster: str, bucket: Bucket) -> str:
        """The account holding the bucket (stores with `account_pattern`)."""
        return bucket.account or ""

    def url(self, bucket: str, prefix: str, account: str) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Retired:
    """An accelerator a cloud sold once, and the machine types it came on: a task naming
    either is refused with who retired it and when, and what the cloud sells instead."""

    accelerator: str
    types: str  # a regular expression a retired type's whole name matches
    note: str  # who retired them, and when
    instead: tuple[str, ...]  # accelerators the cloud sells in their place, nearest first

    def names(self, name: str) -> bool:
        return name.lower() == self.accelerator.lower() or bool(re.fullmatch(self.types, name))


@dataclass(frozen=True)
class MachineType:
    """One machine type as its cloud publishes it (the type list kept with the fetcher)."""

    name: str
    vcpus: float
    memory_gib: float
    accelerator: str | None = None
    count: float = 0
    arch: str = "x86_64"
    shared_core: bool = False  # burstable or shared-core: only when named or allowed


def check_shape(known: MachineType | None, vcpus: float, memory_gib: float,
                accelerator: str | None, count: float) -> str:
    """Why a row's shape contradicts the published type ("" when it does not or when the
    type is not in the list)."""
    if known is None:
        return ""
    if (known.accelerator or None, float(known.count)) != (accelerator, float(count)):
        have = f"{known.accelerator}:{known.count:g}" if known.accelerator else "no accelerator"
        said = f"{accelerator}:{count:g}" if accelerator else "none"
        return f"{known.name} comes with {have}, the row says {said}"
    if abs(known.vcpus - vcpus) > 1e-6:
        return f"{known.name} has {known.vcpus:g} vCPUs, the row says {vcpus:g}"
    if abs(known.memory_gib - memory_gib) > 0.05 * known.memory_gib:
        return f"{known.name} has {known.memory_gib:g} GiB, the row says {memory_gib:g}"
    return ""
