"""Lambda's Pulumi program: an SSH key, a firewall ruleset in the cluster's region (SSH and
the task's ports from `ssh_cidrs`, nothing else) and one instance per node, all resources
of stix's dynamic provider (`stix.clouds.dynamic`, types in `types.py`)."""

from __future__ import annotations

import hashlib
from typing import Any

from stix.clouds import common as c
from stix.clouds.base import UserData
from stix.clouds.lambda_cloud.api import API
from stix.clouds.lambda_cloud.options import LambdaOptions
from stix.clouds.lambda_cloud.types import by_name
from stix.placement import Placement

SSH_PORT = 22
DEFAULT_IMAGE = "lambda-default"  # Lambda's own default (Ubuntu with Lambda Stack)


def settings() -> dict[str, Any]:
    """What the provider keeps in the state besides the type: where the API is."""
    return {"base_url": API}


def image(ref: str) -> dict[str, str] | None:
    """The launch's `image` for an image reference: `family:NAME`, `id:ID`, or Lambda's
    default (None: the launch names no image)."""
    kind, _, value = ref.partition(":")
    if ref == DEFAULT_IMAGE or not value:
        return None
    return {kind: value}


def rules(p: Placement) -> list[dict[str, Any]]:
    """SSH and the task's ports, from each of `ssh_cidrs` (everyone when unset)."""
    task = c.port_ranges(p)
    ranges = [(r.low, r.high, f"task port {r.text}") for r in task]
    if not any(r.low <= SSH_PORT <= r.high for r in task):
        ranges.insert(0, (SSH_PORT, SSH_PORT, "SSH"))
    return [{"protocol": "tcp", "port_range": [low, high], "source_network": cidr,
             "description": f"stix {p.cluster}: {what}"}
            for cidr in c.ssh_cidrs(p) for low, high, what in ranges]


def key_name(p: Placement, public_key: str) -> str:
    digest = hashlib.sha256(public_key.strip().encode()).hexdigest()[:8]
    return c.name(p, f"stix-{digest}")


def build(p: Placement, user_data_for_rank: UserData, public_key: str) -> dict[str, Any]:
    import pulumi

    from stix.clouds.dynamic import declare
    from stix.clouds.images import image_ref

    c.options(p, LambdaOptions)
    conf = settings()
    key = declare(by_name("SshKey"), c.name(p, "key"),
                  {"name": key_name(p, public_key), "public_key": public_key.strip()}, conf)
    ruleset = declare(by_name("FirewallRuleset"), c.name(p, "firewall"),
                      {"name": c.name(p, "stix"), "region": p.region, "rules": rules(p)}, conf)
    tags = [{"key": k, "value": v} for k, v in c.labels(p).items()]
    boot = image(image_ref(p))
    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        inst = declare(by_name("Instance"), node, {
            "name": node, "region": p.region, "instance_type": p.instance_type,
            "ssh_key_name": key_name(p, public_key), "user_data": user_data_for_rank(rank),
            "image": boot, "firewall_ruleset_ids": [ruleset.id],
            "tags": [*tags, {"key": "stix-node-rank", "value": str(rank)}],
        }, conf, pulumi.ResourceOptions(depends_on=[key, ruleset]))  # fmt: skip
        nodes.append({"name": node, "public_ip": inst.public_ip,
                      "private_ip": inst.private_ip})
    return c.outputs(nodes, p.ssh_user, region=p.region)
