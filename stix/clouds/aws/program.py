"""AWS: a cluster of EC2 instances in a stack-owned (or existing) VPC.

Declares: provider (the region lives there, not on resources), VPC + subnet + internet
gateway + route table unless `extra.vpc_id`/`subnet_id` name existing ones, a security
group (SSH and the task's ports from `extra.ssh_cidrs`; all traffic between the cluster's
own nodes), the key pair, a cluster placement group for multi-node GPU clusters, the S3
buckets that die with the cluster (`persistent: false`; persistent ones have stacks of
their own) and an instance profile that reaches exactly the task's S3 buckets, and one
instance per node (rank 0 is the head) with its power state (an `InstanceState`: running,
or stopped by `stix stop`) and what an OS shutdown does (terminate under autodown).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from stix.clouds import common as c
from stix.clouds.aws.options import AwsOptions
from stix.clouds.images import image_ref
from stix.placement import Placement

SSM_PREFIX = "resolve:ssm:"
# disk tier → (volume type, iops, throughput MB/s); None = the type's default
DISK = {
    "low": ("gp3", None, None),
    "medium": ("gp3", 3000, 250),
    "high": ("gp3", 7000, 750),
    "ultra": ("io2", 20000, None),
}


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:  # fmt: skip
    import pulumi
    import pulumi_aws as aws

    p = placement
    tags = c.labels(p)
    provider = aws.Provider(c.name(p, "aws"), region=p.region)
    opts = pulumi.ResourceOptions(provider=provider)
    vpc_id, subnet_id = _network(p, tags, opts)

    sg = aws.ec2.SecurityGroup(
        c.name(p, "sg"), vpc_id=vpc_id, description=f"stix cluster {p.cluster}",
        ingress=_ingress(p), egress=[{"protocol": "-1", "from_port": 0, "to_port": 0,
                                      "cidr_blocks": ["0.0.0.0/0"], "description": "egress"}],
        tags={**tags, "Name": c.name(p, "sg")}, opts=opts,
    )  # fmt: skip
    key = aws.ec2.KeyPair(c.name(p, "key"), public_key=public_key, tags=tags, opts=opts)
    group = None
    if p.num_nodes > 1 and p.accelerator is not None:
        group = aws.ec2.PlacementGroup(c.name(p, "pg"), strategy="cluster", tags=tags, opts=opts)
    profile = _node_identity(p, tags, opts)

    ami = _ami(p, provider)
    volume_type, iops, throughput = DISK[c.tier(p)]
    root: dict[str, Any] = {"volume_size": p.disk_size, "volume_type": volume_type,
                            "encrypted": True, "delete_on_termination": True}  # fmt: skip
    if iops is not None:
        root["iops"] = iops
    if throughput is not None:
        root["throughput"] = throughput
    market = None
    if p.use_spot:
        market = {"market_type": "spot",
                  "spot_options": {"spot_instance_type": "one-time",
                                   "instance_interruption_behavior": "terminate"}}  # fmt: skip

    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        inst = aws.ec2.Instance(
            node, ami=ami, instance_type=p.instance_type, subnet_id=subnet_id,
            vpc_security_group_ids=[sg.id], key_name=key.key_name,
            associate_public_ip_address=not c.is_private(p),
            root_block_device=root, instance_market_options=market,
            placement_group=group.name if group is not None else None,
            iam_instance_profile=profile.name if profile is not None else None,
            metadata_options={"http_tokens": "required", "http_endpoint": "enabled"},
            tags={**tags, "Name": node, "stix-node-rank": str(rank)},
            volume_tags={**tags, "Name": node},
            instance_initiated_shutdown_behavior=on_shutdown(p),
            **_user_data(user_data_for_rank(rank)), opts=opts,
        )  # fmt: skip
        if not p.use_spot:  # one-time spot instances cannot be stopped
            # The SDK files Terraform's aws_ec2_instance_state under ec2transitgateway.
            aws.ec2transitgateway.InstanceState(
                f"{node}-power", instance_id=inst.id, opts=opts,
                state="stopped" if p.power == "stopped" else "running")
        nodes.append({"name": node, "private_ip": inst.private_ip,
                      "public_ip": None if c.is_private(p) else inst.public_ip})  # fmt: skip
    return c.outputs(nodes, p.ssh_user, region=p.region)


def on_shutdown(p: Placement) -> str | None:
    """What an OS shutdown does: autodown's node action is a shutdown, so the stack makes
    it terminate the instance; otherwise it stops it (spot: AWS always terminates)."""
    if p.use_spot:
        return None
    return "terminate" if p.autostop_minutes is not None and p.autostop_down else "stop"


def _network(p: Placement, tags: dict[str, str], opts: Any) -> tuple[Any, Any]:
    """(vpc id, subnet id): existing ones from `extra`, or a stack-owned public network."""
    import pulumi_aws as aws

    o = c.options(p, AwsOptions)
    vpc_id, subnet_id = o.vpc_id, o.subnet_id
    if vpc_id or subnet_id:
        if not (vpc_id and subnet_id):
            raise c.ProgramError(f"placement {p.cluster}: extra.vpc_id and extra.subnet_id "
                                 "go together (the security group needs the VPC)")
        return vpc_id, subnet_id
    if c.is_private(p):
        raise c.ProgramError(
            f"placement {p.cluster}: private nodes need an existing subnet with a NAT route",
            hint="set extra.vpc_id and extra.subnet_id in the stack config",
        )
    vpc = aws.ec2.Vpc(c.name(p, "vpc"), cidr_block=o.vpc_cidr or c.DEFAULT_VPC_CIDR,
                      enable_dns_hostnames=True, enable_dns_support=True,
                      tags={**tags, "Name": c.name(p, "vpc")}, opts=opts)  # fmt: skip
    subnet = aws.ec2.Subnet(
        c.name(p, "subnet"), vpc_id=vpc.id,
        cidr_block=o.subnet_cidr or c.DEFAULT_SUBNET_CIDR,
        availability_zone=p.zone, map_public_ip_on_launch=True,
        tags={**tags, "Name": c.name(p, "subnet")}, opts=opts,
    )  # fmt: skip
    igw = aws.ec2.InternetGateway(c.name(p, "igw"), vpc_id=vpc.id,
                                  tags={**tags, "Name": c.name(p, "igw")}, opts=opts)
    table = aws.ec2.RouteTable(
        c.name(p, "rt"), vpc_id=vpc.id,
        routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
        tags={**tags, "Name": c.name(p, "rt")}, opts=opts,
    )  # fmt: skip
    aws.ec2.RouteTableAssociation(c.name(p, "rta"), subnet_id=subnet.id,
                                  route_table_id=table.id, opts=opts)
    return vpc.id, subnet.id


def _ingress(p: Placement) -> list[dict[str, Any]]:
    cidrs = c.ssh_cidrs(p)
    rules: list[dict[str, Any]] = [{"protocol": "tcp", "from_port": 22, "to_port": 22,
                                    "cidr_blocks": cidrs, "description": "ssh"}]  # fmt: skip
    for r in c.port_ranges(p):
        rules.append({"protocol": "tcp", "from_port": r.low, "to_port": r.high,
                      "cidr_blocks": cidrs, "description": f"task port {r.text}"})  # fmt: skip
    if p.num_nodes > 1:
        rules.append({"protocol": "-1", "from_port": 0, "to_port": 0, "self": True,
                      "description": "between the cluster nodes"})  # fmt: skip
    return rules


def _ami(p: Placement, provider: Any) -> Any:
    import pulumi
    import pulumi_aws as aws

    ref = image_ref(p)
    if ref.startswith(SSM_PREFIX):
        found = aws.ssm.get_parameter_output(
            name=ref[len(SSM_PREFIX):], opts=pulumi.InvokeOutputOptions(provider=provider)
        )  # fmt: skip
        return found.value
    return ref


def _user_data(text: str) -> dict[str, str]:
    """`user_data`, or `user_data_base64` of the gzip when only that fits AWS's limit."""
    from stix.remote.cloudinit import user_data_payload

    payload = user_data_payload(text, "aws")
    if payload == text.encode("utf-8"):
        return {"user_data": text}
    return {"user_data_base64": base64.b64encode(payload).decode("ascii")}


def _node_identity(p: Placement, tags: dict[str, str], opts: Any) -> Any:
    """S3 buckets to create, and an instance profile for exactly the task's S3 buckets
    (and, for a stix server, what it needs to run clusters); None when nodes need none."""
    import pulumi
    import pulumi_aws as aws

    from stix.clouds.aws.buckets import bucket
    from stix.clouds.aws.identity import server_policy
    from stix.clouds.aws.options import AwsOptions

    s3 = [b for b in p.buckets if b.store == "s3"]
    server = c.options(p, AwsOptions).role == "stix-server"
    if not s3 and not server:
        return None
    arns: list[Any] = []
    for i, b in enumerate(s3):
        if b.create and not b.persistent:  # the cluster's own: emptied and deleted with it
            made = bucket(c.name(p, f"bucket-{i}"), b.name, force_destroy=True, tags=tags,
                          opts=opts)
            arns.append(made.arn)
        else:  # an existing bucket, or one with its own stack (stix.buckets)
            arns.append(f"arn:aws:s3:::{b.name}")
    role = aws.iam.Role(
        c.name(p, "role"), tags=tags, opts=opts,
        assume_role_policy=pulumi.Output.json_dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": "ec2.amazonaws.com"}}],
        }),
    )  # fmt: skip
    if server:
        aws.iam.RolePolicy(c.name(p, "server"), role=role.name, opts=opts,
                           policy=pulumi.Output.json_dumps(server_policy()))
    if not arns:
        return aws.iam.InstanceProfile(c.name(p, "profile"), role=role.name, tags=tags,
                                       opts=opts)
    objects = [pulumi.Output.concat(arn, "/*") for arn in arns]
    aws.iam.RolePolicy(
        c.name(p, "buckets"), role=role.name, opts=opts,
        policy=pulumi.Output.json_dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                 "Resource": arns},
                {"Effect": "Allow",
                 "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                            "s3:AbortMultipartUpload"],
                 "Resource": objects},
            ],
        }),
    )  # fmt: skip
    return aws.iam.InstanceProfile(c.name(p, "profile"), role=role.name, tags=tags, opts=opts)
