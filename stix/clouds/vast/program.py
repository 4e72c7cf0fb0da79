"""Vast's Pulumi program: one instance per cluster, a resource of stix's dynamic provider
(`stix.clouds.dynamic`, the type in `types.py`, its operations in `api.py`).

The stack records the shape asked for — the GPU and its count (from the instance-type
name), the least vCPUs and RAM, the region (a country code), the highest $/h, on-demand or
interruptible — not an offer: offers change by the minute, so the provider's create
searches at apply time and rents the cheapest match. The exact host is known only after
`stix up` (its `machine_id`, address and price are outputs).

The instance runs the task's container image (`image_id: docker:IMAGE`, else the catalog's
default image) with Vast's SSH entrypoint; the stack's public key is attached to it, and
its `onstart` also writes the key (and, with `ssh_cidrs`, which sources sshd admits: Vast
has no firewall, so the task's published ports stay open to everyone).
Vast instances share no private network, so a cluster is one node.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from stix.clouds import common as c
from stix.clouds.base import UserData
from stix.clouds.vast.machines import parse
from stix.clouds.vast.options import VastOptions
from stix.placement import Placement

SSH_USER = "root"  # Vast's SSH entrypoint logs in as root
PRICE_MARGIN = 1.25  # the market moves between the catalog's snapshot and apply time
MAX_PORTS = 32
MULTI_NODE = ("Vast instances share no private network (each is a container on its own "
              "host, reached through mapped ports), so a cluster has one node")


def settings() -> dict[str, Any]:
    """What the provider keeps in the state besides the type: where the API is."""
    from stix.clouds.vast.api import API

    return {"base_url": API}


def container_image(p: Placement) -> str:
    from stix.clouds.images import image_ref

    if p.image_id and p.image_id.startswith("docker:"):
        return p.image_id.removeprefix("docker:")
    return image_ref(p).removeprefix("docker:")


def max_price(p: Placement) -> float:
    given = c.options(p, VastOptions).max_price
    return given if given is not None else round(p.hourly_price * PRICE_MARGIN, 4)


def onstart(public_key: str, cidrs: list[str] | None) -> str:
    """What the instance runs once Vast's entrypoint is up: the stack's key in root's
    authorized keys (Vast attaches it too), and sshd limited to `cidrs` when set."""
    lines = ["mkdir -p /root/.ssh && chmod 700 /root/.ssh",
             f"grep -qxF {shlex.quote(public_key)} /root/.ssh/authorized_keys 2>/dev/null || "
             f"echo {shlex.quote(public_key)} >> /root/.ssh/authorized_keys",
             "chmod 600 /root/.ssh/authorized_keys"]
    if cidrs:
        allow = " ".join(f"root@{cidr}" for cidr in cidrs)
        lines += [f"echo {shlex.quote('AllowUsers ' + allow)} >> /etc/ssh/sshd_config",
                  "kill -HUP $(cat /var/run/sshd.pid 2>/dev/null) 2>/dev/null || true"]
    lines.append("command -v rsync >/dev/null || (apt-get update -qq && "
                 "apt-get install -y -qq rsync python3 >/dev/null 2>&1) || true")
    return "\n".join(lines) + "\n"


def ports(p: Placement) -> list[int]:
    """The task's ports, each published as itself (`-p N:N`); Vast maps every one to a
    host port of its own, so a range is at most `MAX_PORTS` ports."""
    found = sorted({port for r in c.port_ranges(p) for port in range(r.low, r.high + 1)})
    if len(found) > MAX_PORTS:
        raise c.ProgramError(f"placement {p.cluster}: {len(found)} ports; a Vast instance "
                             f"publishes at most {MAX_PORTS} (each takes a host port)")
    return found


def instance_inputs(p: Placement, public_key: str) -> dict[str, Any]:
    """The instance as the stack records it (see the module docstring)."""
    from stix.catalog.hardware import accelerator_memory

    if p.num_nodes > 1:
        raise c.ProgramError(f"placement {p.cluster}: num_nodes {p.num_nodes}: {MULTI_NODE}")
    shape = parse(p.instance_type)
    if shape is None or p.accelerator is None:
        raise c.ProgramError(f"placement {p.cluster}: {p.instance_type!r} is not a Vast "
                             "instance type (<GPUs>x-<GPU>-<vCPUs>-<GiB>)")
    o = c.options(p, VastOptions)
    cidrs = sorted(o.ssh_cidrs) if o.ssh_cidrs else None
    limited = cidrs is not None and c.DEFAULT_SSH_CIDR not in cidrs
    memory = p.accelerator.memory_gib or accelerator_memory(p.accelerator.name)
    key = public_key.strip()
    return {
        "label": c.node_name(p, 0), "gpu_name": shape.gpu_name, "num_gpus": shape.gpus,
        "min_gpu_memory_gib": round(memory * 0.9, 1) if memory else None,
        "min_vcpus": shape.vcpus, "min_memory_gib": shape.memory_gib, "region": p.region,
        "max_price": max_price(p), "interruptible": p.use_spot,
        "verified": o.verified is not False, "datacenter": bool(o.datacenter),
        "image": container_image(p), "disk_gb": p.disk_size,
        "ports": ports(p),
        "env": {"STIX_LABEL_" + re.sub(r"[^A-Za-z0-9]", "_", k).upper(): v
                for k, v in c.labels(p).items()},
        "onstart": onstart(key, cidrs if limited else None), "public_key": key,
        "ssh_cidrs": cidrs, "state": "stopped" if p.power == "stopped" else "running",
    }  # fmt: skip


def build(p: Placement, user_data_for_rank: UserData, public_key: str) -> dict[str, Any]:
    from stix.clouds.dynamic import declare
    from stix.clouds.vast.types import instance_type

    inputs = instance_inputs(p, public_key)
    node = c.node_name(p, 0)
    inst = declare(instance_type(), node, inputs, settings())
    nodes = [{"name": node, "public_ip": inst.ssh_host,
              "ssh_port": inst.ssh_port}]
    return c.outputs(nodes, SSH_USER, region=p.region, machine_id=inst.machine_id,
                     hourly_price=inst.hourly_price)
