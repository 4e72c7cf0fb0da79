"""DigitalOcean: a cluster of Droplets in a stack-owned (or existing) VPC.

Declares: the provider (the token comes from the environment), a VPC in the placement's
region unless `extra.vpc_uuid` names one (its IP range left to DigitalOcean unless
`extra.vpc_cidr` sets it: VPC ranges may not overlap within an account), the SSH key
unless `extra.ssh_key` names one already in the account, the cluster's tag
(`stix-cluster:<name>`, owned by the stack so destroying it removes only this cluster's),
one Droplet per node (rank 0 is the head) carrying that tag, `managed-by:stix` and the
task's labels, and a Cloud Firewall on the cluster's tag: SSH and the task's ports from
`extra.ssh_cidrs`, everything between the cluster's own Droplets, all outbound traffic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from stix.clouds import common as c
from stix.clouds.digitalocean.options import DigitalOceanOptions
from stix.clouds.images import image_ref
from stix.placement import Placement

USER_DATA_LIMIT = 64 * 1024  # bytes of text; DigitalOcean takes user data only as text
# The NVIDIA AI/ML Ready image and its build for 8-GPU sizes (NVLink, fabric manager).
NVIDIA_IMAGE, NVIDIA_NVLINK_IMAGE = "gpu-h100x1-base", "gpu-h100x8-base"
EVERYWHERE = ["0.0.0.0/0", "::/0"]
_TAG_CHARS = re.compile(r"[^A-Za-z0-9_-]")
# Every port of every protocol a Cloud Firewall rule names (ICMP has no ports).
_ALL_TRAFFIC: tuple[dict[str, str], ...] = (
    {"protocol": "tcp", "port_range": "1-65535"}, {"protocol": "udp", "port_range": "1-65535"},
    {"protocol": "icmp"})


def tag(key: str, value: str) -> str:
    """A DigitalOcean tag for a label (`key:value`; tags take letters, digits, `_`, `-`
    and colons, up to 255 characters)."""
    return f"{_TAG_CHARS.sub('_', key)}:{_TAG_CHARS.sub('_', value)}"[:255]


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:  # fmt: skip
    import pulumi
    import pulumi_digitalocean as do

    p = placement
    o = c.options(p, DigitalOceanOptions)
    if o.subnet_cidr:
        raise c.ProgramError(f"placement {p.cluster}: DigitalOcean VPCs have no subnets",
                             hint="drop extra.subnet_cidr (extra.vpc_cidr sets the VPC's range)")
    provider = do.Provider(c.name(p, "do"))
    opts = pulumi.ResourceOptions(provider=provider)
    vpc_uuid = _vpc(p, o, opts)
    keys = [o.ssh_key] if o.ssh_key else [
        do.SshKey(c.name(p, "key"), public_key=public_key, opts=opts).fingerprint]
    labels = c.labels(p)
    cluster_tag = do.Tag(c.name(p, "tag"), name=tag("stix-cluster", p.cluster), opts=opts)
    tags = [cluster_tag.name, *(tag(k, v) for k, v in labels.items() if k != "stix-cluster")]

    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        droplet = do.Droplet(
            node, name=node.replace("_", "-"),  # a hostname: no underscores
            size=p.instance_type, region=p.region, image=_image(p), vpc_uuid=vpc_uuid,
            ssh_keys=keys, tags=[*tags, tag("stix-node-rank", str(rank))],
            user_data=_user_data(p, user_data_for_rank(rank)), ipv6=False, monitoring=False,
            public_networking=False if c.is_private(p) else None, opts=opts,
        )  # fmt: skip
        nodes.append({"name": node, "private_ip": droplet.ipv4_address_private,
                      "public_ip": None if c.is_private(p) else droplet.ipv4_address})
    do.Firewall(c.name(p, "fw"), tags=[cluster_tag.name], inbound_rules=_inbound(p, cluster_tag),
                outbound_rules=[{**rule, "destination_addresses": EVERYWHERE}
                                for rule in _ALL_TRAFFIC], opts=opts)
    return c.outputs(nodes, p.ssh_user, region=p.region)


def _vpc(p: Placement, o: DigitalOceanOptions, opts: Any) -> Any:
    """The VPC id: an existing one from `extra.vpc_uuid`, or one the stack owns."""
    import pulumi_digitalocean as do

    if o.vpc_uuid:
        return o.vpc_uuid
    if c.is_private(p):
        raise c.ProgramError(
            f"placement {p.cluster}: private Droplets need an existing VPC with a NAT gateway",
            hint="set extra.vpc_uuid in the stack config")
    vpc = do.Vpc(c.name(p, "vpc"), region=p.region, ip_range=o.vpc_cidr,
                 description=f"stix cluster {p.cluster}", opts=opts)
    return vpc.id


def _inbound(p: Placement, cluster_tag: Any) -> list[dict[str, Any]]:
    cidrs = c.ssh_cidrs(p)
    rules: list[dict[str, Any]] = [
        {"protocol": "tcp", "port_range": "22", "source_addresses": cidrs}]
    for r in c.port_ranges(p):
        rules.append({"protocol": "tcp", "port_range": r.text, "source_addresses": cidrs})
    if p.num_nodes > 1:  # a Cloud Firewall filters VPC traffic too
        rules += [{**rule, "source_tags": [cluster_tag.name]} for rule in _ALL_TRAFFIC]
    return rules


def _image(p: Placement) -> str:
    ref = image_ref(p)
    if ref == NVIDIA_IMAGE and p.accelerator is not None and p.accelerator.count >= 8:
        return NVIDIA_NVLINK_IMAGE
    return ref


def _user_data(p: Placement, text: str) -> str:
    size = len(text.encode("utf-8"))
    if size > USER_DATA_LIMIT:
        raise c.ProgramError(f"placement {p.cluster}: user-data is {size} bytes; DigitalOcean "
                             f"takes at most {USER_DATA_LIMIT} (as text, not compressed)",
                             hint="fewer buckets, or a smaller node agent")
    return text
