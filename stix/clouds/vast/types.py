"""The resource type of Vast's program: one dynamic-provider type (`stix.clouds.dynamic`),
what forces its replacement, and what it exposes to the internet.

Every input of an instance but its power state forces a replacement: the shape asked for
(GPU, count, least vCPUs and RAM, region, highest price, market) decides which offer is
rented, and Vast changes none of image, disk, ports or key on a running contract. The
offer itself is chosen at apply time, so it is an output (`machine_id`, `hourly_price`).

A Vast instance sits on its host's public address, and Vast has no firewall: SSH (on the
host port mapped to the container's 22) and every published task port are reachable from
anywhere; `ssh_cidrs` makes sshd refuse other sources, and the task's ports stay open to
everyone (the exposure list says so)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.clouds.resource import WORLD, Exposed, ResourceType

if TYPE_CHECKING:
    from stix.clouds.dynamic import DynamicType
    from stix.stack.graph import Graph, Resource

MODULE = "vast"
PACKAGE = f"pulumi-python:dynamic/{MODULE}"  # = DynamicType.package
SHAPE = ("gpu_name", "num_gpus", "min_gpu_memory_gib", "min_vcpus", "min_memory_gib",
         "region", "max_price", "interruptible", "verified", "datacenter")
COMPUTED = ("ssh_host", "ssh_port", "public_ip", "status", "hourly_price", "machine_id",
            "geolocation")


def instance_type() -> DynamicType:
    from stix.clouds.dynamic import DynamicType

    return DynamicType(MODULE, "Instance", "stix.clouds.vast.api:Instance",
                       replace_on=(*SHAPE, "label", "image", "disk_gb", "env", "onstart",
                                   "ports", "public_key", "ssh_cidrs"),
                       computed=COMPUTED)


def _instance(resource: Resource, graph: Graph) -> list[Exposed]:
    name = resource.inputs.get("label") or resource.name
    cidrs = resource.inputs.get("ssh_cidrs") or sorted(WORLD)[:1]
    out = [Exposed("public_ip", f"{name} is on its host's public address (every Vast "
                                "instance is)")]
    if WORLD & set(cidrs):
        out.append(Exposed("open", f"{name}: SSH (tcp 22 in the container) open to 0.0.0.0/0 "
                                   "(Vast has no firewall)"))
    for port in resource.inputs.get("ports") or []:
        out.append(Exposed("open", f"{name}: task port {port} open to 0.0.0.0/0 (Vast has "
                                   "no firewall)"))
    return out


def resource_types() -> tuple[ResourceType, ...]:
    return (instance_type().resource_type(_instance),)
