"""Nebius: a cluster of Compute VMs in a stack-owned (or existing) VPC network.

Declares: the provider (the project from `extra.project_id`, else the provider's default,
the Nebius CLI profile's parent-id; signing in through `extra.profile` or
`extra.credentials_file` when set), a VPC network and subnet unless `extra.network_id` and
`extra.subnet_id` name existing ones, a security group with its rules (SSH and the task's
ports from `extra.ssh_cidrs`, everything between the cluster's own nodes, all egress),
and per node (rank 0 is the head) a boot disk from the region's Ubuntu 22.04 image family
(with the NVIDIA driver and CUDA on GPU platforms) and the VM: platform and preset, the
cloud-init user-data that carries the SSH key, a public address unless `extra.private`,
preemptible (stopped by Nebius when preempted, never recovered) under spot, and its power
state (`stopped` by `stix stop`). The nodes of a cluster share the subnet, so they reach
each other on their private addresses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stix.clouds import common as c
from stix.clouds.images import image_ref
from stix.clouds.nebius.machines import split
from stix.clouds.nebius.options import NebiusOptions
from stix.placement import Placement

# disk tier → Nebius disk type. Only low differs: the faster network SSD types come in
# fixed size steps stix does not size for, so high and ultra get the network SSD too.
DISK = {"low": "NETWORK_HDD", "medium": "NETWORK_SSD", "high": "NETWORK_SSD",
        "ultra": "NETWORK_SSD"}
IMAGE_ID = re.compile(r"computeimage-[a-z0-9]+")
# A security rule names single ports (no ranges) and source CIDRs, at most 8 of each.
RULE_MAX = 8
MAX_TASK_PORTS = 64
EVERYWHERE = "0.0.0.0/0"
_LABEL_BAD = re.compile(r"[^a-z0-9_.-]")
_PREFIX = re.compile(r"/\d{1,3}$")


def nebius_labels(placement: Placement) -> dict[str, str]:
    """Labels as Nebius takes them: lowercase letters, digits, '_', '.', '-', 63 at most."""
    return {_LABEL_BAD.sub("_", k.lower())[:63]: _LABEL_BAD.sub("_", v.lower())[:63]
            for k, v in c.labels(placement).items()}


def address(text: str | None) -> str | None:
    """An interface address without the prefix length Nebius reports it with (`/32`)."""
    return _PREFIX.sub("", text) if text else None


def task_ports(p: Placement) -> list[int]:
    """The task's ports one by one (Nebius rules take no ranges), refused past a bound."""
    ports = [n for r in c.port_ranges(p) for n in range(r.low, r.high + 1)]
    if len(ports) > MAX_TASK_PORTS:
        raise c.ProgramError(
            f"placement {p.cluster}: Nebius security rules list ports one by one (at most "
            f"{RULE_MAX} a rule), and the task opens {len(ports)}",
            hint=f"open at most {MAX_TASK_PORTS} ports, or reach the rest through SSH tunnels")
    return ports


def _chunks(items: list[Any], size: int = RULE_MAX) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:  # fmt: skip
    import pulumi
    import pulumi_nebius as nb

    p = placement
    o = c.options(p, NebiusOptions)
    platform, preset = split(p.instance_type)
    labels = nebius_labels(p)
    provider = nb.Provider(c.name(p, "nebius"), **_provider_args(o))
    opts = pulumi.ResourceOptions(provider=provider)
    project = o.project_id
    network_id, subnet_id = _network(p, o, labels, opts)
    sg = nb.VpcV1SecurityGroup(c.name(p, "sg"), name=c.name(p, "sg"), parent_id=project,
                               network_id=network_id, labels=labels, opts=opts)
    _rules(p, sg, labels, opts)

    ref = image_ref(p)
    source: dict[str, Any] = ({"source_image_id": ref} if IMAGE_ID.fullmatch(ref)
                              else {"source_image_family": {"image_family": ref}})
    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        disk = nb.ComputeV1Disk(
            f"{node}-boot", name=f"{node}-boot", parent_id=project, type=DISK[c.tier(p)],
            size_gibibytes=p.disk_size, labels=labels, opts=opts, **source)
        nic: dict[str, Any] = {"name": "eth0", "subnet_id": subnet_id, "ip_address": {},
                               "security_groups": [{"id": sg.id}]}
        if not c.is_private(p):
            nic["public_ip_address"] = {}
        inst = nb.ComputeV1Instance(
            node, name=node, parent_id=project, hostname=node,
            resources={"platform": platform, "preset": preset},
            boot_disk={"attach_mode": "READ_WRITE", "existing_disk": {"id": disk.id}},
            network_interfaces=[nic], cloud_init_user_data=user_data_for_rank(rank),
            labels={**labels, "stix-node-rank": str(rank)},
            preemptible={"on_preemption": "STOP", "priority": 1} if p.use_spot else None,
            recovery_policy="FAIL" if p.use_spot else None,
            stopped=p.power == "stopped", opts=opts)
        iface = inst.status.apply(lambda s: s.network_interfaces[0])
        nodes.append({
            "name": node,
            "private_ip": iface.apply(lambda n: address(n.ip_address.address)),
            "public_ip": None if c.is_private(p) else iface.apply(
                lambda n: address(n.public_ip_address.address) if n.public_ip_address
                else None),
        })  # fmt: skip
    return c.outputs(nodes, p.ssh_user, region=p.region)


def _provider_args(o: NebiusOptions) -> dict[str, Any]:
    """How the engine's provider signs in: a named CLI profile, a service account's
    credentials file, or (neither set) the provider's own default."""
    args: dict[str, Any] = {}
    if o.project_id:
        args["parent_id"] = o.project_id
    if o.profile:
        args["profile"] = {"name": o.profile}
    elif o.credentials_file:
        args["service_account"] = {"credentials_file": o.credentials_file}
    return args


def _network(p: Placement, o: NebiusOptions, labels: dict[str, str],
             opts: Any) -> tuple[Any, Any]:
    """(network id, subnet id): existing ones from `extra`, or a stack-owned pair."""
    import pulumi_nebius as nb

    if o.network_id or o.subnet_id:
        if not (o.network_id and o.subnet_id):
            raise c.ProgramError(f"placement {p.cluster}: extra.network_id and extra.subnet_id "
                                 "go together (the security group needs the network)")
        return o.network_id, o.subnet_id
    if c.is_private(p):
        raise c.ProgramError(
            f"placement {p.cluster}: private nodes need an existing subnet you can reach",
            hint="set extra.network_id and extra.subnet_id in the stack config")
    net = nb.VpcV1Network(c.name(p, "net"), name=c.name(p, "net"), parent_id=o.project_id,
                          labels=labels, opts=opts)
    pools = ({"pools": [{"cidrs": [{"cidr": o.subnet_cidr}]}], "use_network_pools": False}
             if o.subnet_cidr else {"use_network_pools": True})
    sub = nb.VpcV1Subnet(c.name(p, "subnet"), name=c.name(p, "subnet"),
                         parent_id=o.project_id, network_id=net.id, ipv4_private_pools=pools,
                         labels=labels, opts=opts)
    return net.id, sub.id


def _rules(p: Placement, sg: Any, labels: dict[str, str], opts: Any) -> None:
    """SSH and the task's ports from the SSH CIDRs; the nodes to each other; all egress."""
    import pulumi_nebius as nb

    def rule(suffix: str, **spec: Any) -> None:
        nb.VpcV1SecurityRule(c.name(p, suffix), name=c.name(p, suffix), parent_id=sg.id,
                             access="ALLOW", labels=labels, opts=opts, **spec)

    cidrs = _chunks(c.ssh_cidrs(p))
    for i, group in enumerate(cidrs):
        rule(f"ssh-{i}", protocol="TCP", ingress={"destination_ports": [22],
                                                  "source_cidrs": group})
    for j, ports in enumerate(_chunks(task_ports(p))):
        for i, group in enumerate(cidrs):
            rule(f"ports-{j}-{i}", protocol="TCP",
                 ingress={"destination_ports": ports, "source_cidrs": group})
    if p.num_nodes > 1:
        rule("cluster", protocol="ANY", ingress={"source_security_group_id": sg.id})
    rule("egress", protocol="ANY", egress={"destination_cidrs": [EVERYWHERE]})
