"""`ssh`: machines you already have, listed in node pools; placed on as `infra: ssh/<pool>`.

The pools file is `<stix home>/ssh_node_pools.yaml` (or $STIX_SSH_NODE_POOLS):

    lab:                          # pool name
      user: alice                 # defaults for every host of the pool (all optional)
      identity_file: ~/.ssh/id_ed25519
      port: 22
      gpus: RTX4090:1             # accelerator NAME:COUNT each host has
      cpus: 16                    # declared so tasks asking for cpus/memory can fit
      memory_gib: 64
      hosts:
        - 192.168.1.10            # just an address, or:
        - address: 192.168.1.11   # (SkyPilot's `ip` is accepted too)
          port: 2222
          user: bob
          identity_file: ~/.ssh/lab_key
          gpus: RTX4090:2
          internal_ip: 10.0.0.11  # what the other nodes use (STIX_NODE_IPS)

A cluster takes whole hosts; which ones is recorded with the cluster in the state DB, and
a host used by one cluster is not given to another until that cluster is down.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Collection
from pathlib import Path
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from stix.catalog.schema import Offer
from stix.clouds.base import CredentialStatus, InfraOptions, Machines
from stix.errors import StixError
from stix.machines.fit import container_image, wanted_accelerator
from stix.paths import stix_home
from stix.placement import Placement, PlacementAccelerator
from stix.remote import names
from stix.remote.transport import NodeAddress
from stix.task import AcceleratorReq, Resources, Task


def pools_path() -> Path:
    override = os.environ.get("STIX_SSH_NODE_POOLS")
    return Path(override).expanduser() if override else stix_home() / "ssh_node_pools.yaml"


class _Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str | None = None
    identity_file: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    gpus: str | None = None
    cpus: float | None = Field(None, ge=0)
    memory_gib: float | None = Field(None, ge=0)

    def accelerator(self) -> AcceleratorReq | None:
        return AcceleratorReq.parse(self.gpus) if self.gpus else None

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        # Reaches `user@host` argv and the ssh config: no option, no second line.
        return None if value is None else names.check_user(value)

    @field_validator("identity_file")
    @classmethod
    def _identity(cls, value: str | None) -> str | None:
        if value is not None:
            names.check_path(str(Path(value).expanduser().absolute()))
        return value


class Host(_Defaults):
    address: str = Field(min_length=1)
    internal_ip: str | None = None

    @field_validator("address", "internal_ip")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        # A name that cannot encode (a label over 63 characters) or that starts with '-'
        # must stop here, not deep inside a connect during `up` or `down`.
        return None if value is None else names.check_host(value)

    @model_validator(mode="before")
    @classmethod
    def _forms(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"address": data}
        if isinstance(data, dict) and "ip" in data and "address" not in data:
            data = dict(data)
            data["address"] = data.pop("ip")
        return data


class Pool(_Defaults):
    hosts: list[Host] = Field(min_length=1)

    def resolved(self) -> list[Host]:
        """Hosts with the pool's defaults filled in."""
        out = []
        for h in self.hosts:
            merged = {k: getattr(self, k) for k in _Defaults.model_fields}
            merged.update({k: v for k, v in h.model_dump().items() if v is not None})
            out.append(Host.model_validate(merged))
        return out


def load_pools(path: Path | None = None) -> dict[str, Pool]:
    """Every pool in the pools file; a missing file is no pools, a bad one an error."""
    import yaml

    path = path or pools_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError) as exc:
        raise StixError(f"{path}: cannot read the ssh node pools: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StixError(f"{path}: expected a mapping of pool name → pool")
    pools = {}
    for name, body in data.items():
        try:
            pools[str(name)] = Pool.model_validate(body)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in (name, *err["loc"]))
            message = err["msg"].removeprefix("Value error, ")
            raise StixError(f"{path}: {where}: {message}") from None
    return pools


def _host_key(host: Host | NodeAddress) -> str:
    port = host.port or 22
    return f"{host.address if isinstance(host, Host) else host.host}:{port}"


def _fits(host: Host, want: AcceleratorReq | None) -> bool:
    if want is None:
        return True
    have = host.accelerator()
    return (have is not None and have.name.upper() == want.name.upper()
            and have.count >= want.count)


class SshOptions(InfraOptions):
    want_accelerator: str | None = Field(None, description="the accelerator the task asked "
                                         "for (hosts are picked by it)")


class SshMachines(Machines):
    name = "ssh"
    options_model = SshOptions
    skypilot_config: ClassVar[dict[str, str]] = {
        "pod_config": "pods use stix's pod spec",
        "custom_metadata": "no extra labels or annotations are set",
        "provision_timeout": "stix waits for the machines as long as it always does",
    }
    ignores: ClassVar[dict[str, str]] = {
        "disk_size": "the hosts' disks are used as they are",
        "disk_tier": "the hosts' disks are used as they are",
        "ports": "nothing is opened: the hosts are reachable as your network allows",
        "labels": "your machines carry no stix tags",
        "image_id": "the hosts' own systems run the task (a `docker:` image runs in a "
                    "container on them)",
        "autostop": "stix does not stop or tear down your machines when idle",
    }

    def check_credentials(self, verify: bool = False) -> CredentialStatus:
        pools = load_pools()
        if not pools:
            return CredentialStatus("ssh", False, f"no node pools in {pools_path()}",
                                    hint="list your machines there (see `stix/machines/ssh.py`)")
        return CredentialStatus("ssh", True, f"{len(pools)} pool(s) in {pools_path()}",
                                sources=[str(pools_path())])

    def offers(self) -> list[Offer]:
        out = []
        for name, pool in sorted(load_pools().items()):
            hosts = pool.resolved()
            gpus = [h.accelerator() for h in hosts]
            names = {g.name if g else None for g in gpus}
            acc = names.pop() if len(names) == 1 else None
            count = min((g.count for g in gpus if g), default=0.0)
            out.append(Offer(cloud="ssh", instance_type=name,
                             vcpus=min(h.cpus or 0.0 for h in hosts),
                             memory_gib=min(h.memory_gib or 0.0 for h in hosts),
                             accelerator=acc, accelerator_count=count if acc else 0.0,
                             accelerator_memory_gib=None, region=name, zone=None, price=0.0,
                             spot_price=None))
        return out

    def _pool(self, name: str | None) -> tuple[str, Pool]:
        pools = load_pools()
        if not pools:
            raise StixError(f"infra ssh: no node pools in {pools_path()}",
                            hint="create it; the format is described in the stix docs (README)")
        if name is None:
            if len(pools) > 1:
                raise StixError(f"infra ssh: name the pool (ssh/<pool>); pools: "
                                f"{', '.join(sorted(pools))}")
            name = next(iter(pools))
        if name not in pools:
            raise StixError(f"infra ssh/{name}: no such pool in {pools_path()}; pools: "
                            f"{', '.join(sorted(pools))}")
        return name, pools[name]

    def placement(self, task: Task, cluster: str, resources: Resources) -> Placement:
        name, pool = self._pool(resources.region)
        want = wanted_accelerator(resources)
        hosts = [h for h in pool.resolved() if _fits(h, want)]
        if len(hosts) < task.num_nodes:
            need = f" with {want}" if want else ""
            raise StixError(f"infra ssh/{name}: the pool has {len(hosts)} host(s){need}, "
                            f"the task needs {task.num_nodes}")
        first = hosts[0]
        acc = first.accelerator()
        return Placement(
            cluster=cluster, cloud="ssh", region=name, instance_type=name,
            num_nodes=task.num_nodes, vcpus=first.cpus or 0.0, memory_gib=first.memory_gib or 0.0,
            accelerator=PlacementAccelerator(name=acc.name, count=acc.count) if acc else None,
            hourly_price=0.0, ssh_user=first.user or os.environ.get("USER", "root"),
            image_id=container_image(resources),
            extra={"want_accelerator": str(want) if want else None})

    def allocate(self, conn: sqlite3.Connection, placement: Placement,
                 avoid: Collection[str] = ()) -> list[NodeAddress]:
        from stix import state

        name, pool = self._pool(placement.region)
        options = placement.extra
        want_text = options.want_accelerator if isinstance(options, SshOptions) else None
        want = AcceleratorReq.parse(want_text) if want_text else None
        taken: dict[str, str] = {}
        for record in state.list_clusters(conn):
            if record.provider == self.name and record.name != placement.cluster:
                for node in record.nodes:
                    taken[_host_key(node)] = record.name
        lost = set(avoid)
        free = [h for h in pool.resolved() if _fits(h, want) and _host_key(h) not in taken
                and h.address not in lost and f"{h.address}:{h.port or 22}" not in lost]
        if len(free) < placement.num_nodes:
            users = sorted(set(taken.values()))
            raise StixError(
                f"infra ssh/{name}: {len(free)} free host(s), the task needs "
                f"{placement.num_nodes}" + (f" (in use by: {', '.join(users)})" if users else ""),
                hint="`stix down` a cluster to free its hosts, or add hosts to the pool")
        return [NodeAddress(name=f"node-{rank}", host=h.address, port=h.port or 22,
                            user=h.user, internal_ip=h.internal_ip,
                            identity_file=(str(Path(h.identity_file).expanduser().absolute())
                                           if h.identity_file else None),
                            cluster=placement.cluster)
                for rank, h in enumerate(free[:placement.num_nodes])]
