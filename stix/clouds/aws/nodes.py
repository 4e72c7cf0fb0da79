"""The cluster's EC2 instances as EC2 reports them (DescribeInstances by the stix-cluster
tag): power state and addresses, for reconciliation and for the addresses a stop and
start change. boto3 is imported only here; AWS_ENDPOINT_URL is honoured by boto3 itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.errors import StixError

if TYPE_CHECKING:
    from stix.clouds.base import NodePower, NodeState
    from stix.placement import Placement

_POWER: dict[str, NodePower] = {
    "pending": "pending", "running": "running", "stopping": "stopping", "stopped": "stopped",
    "shutting-down": "terminated", "terminated": "terminated",
}


def node_states(placement: Placement) -> dict[str, NodeState]:
    from stix.clouds.base import NodeState

    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise StixError("reading the cluster's instances needs boto3",
                        hint="pip install boto3") from None
    ec2 = boto3.client("ec2", region_name=placement.region)
    found: dict[str, NodeState] = {}
    try:
        pages = ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "tag:stix-cluster", "Values": [placement.cluster]}])
        instances = [i for page in pages for r in page.get("Reservations", [])
                     for i in r.get("Instances", [])]
    except (BotoCoreError, ClientError) as exc:
        raise StixError(f"cluster {placement.cluster}: cannot read its instances in "
                        f"{placement.region}: {exc}",
                        hint="stix needs ec2:DescribeInstances there") from None
    for inst in instances:
        tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
        name = tags.get("Name")
        power = _POWER.get(inst.get("State", {}).get("Name", ""), "terminated")
        if not name or (name in found and power == "terminated"):
            continue  # a terminated twin lingers beside a node's live instance
        found[name] = NodeState(name, power, inst.get("PublicIpAddress"),
                                inst.get("PrivateIpAddress"), inst.get("InstanceId"))
    return {k: v for k, v in found.items() if v.power != "terminated"}
