"""An EKS managed node group in an existing EKS cluster, for Kubernetes placements with
`extra.managed: eks` (plain resources: pulumi-eks / awsx are remote components that mocks
cannot see into)."""

from __future__ import annotations

from typing import Any

from stix.clouds import common as c
from stix.clouds.kubernetes.options import KubernetesOptions
from stix.clouds.kubernetes.pools import POOL_LABEL, pool_name
from stix.placement import Placement

_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
             "AmazonEC2ContainerRegistryReadOnly")  # fmt: skip


def node_group(p: Placement, cluster: str, labels: dict[str, str]) -> Any:
    import pulumi
    import pulumi_aws as aws

    o = c.options(p, KubernetesOptions)
    provider = aws.Provider(c.name(p, "aws"), region=p.region)
    opts = pulumi.ResourceOptions(provider=provider)
    if not o.subnet_ids:
        raise c.ProgramError(f"placement {p.cluster}: an EKS node group needs extra.subnet_ids "
                             "(a list of the cluster's subnets)")
    tags = c.labels(p)
    role_arn: Any = o.node_role_arn
    attachments: list[Any] = []
    if not role_arn:
        role = aws.iam.Role(c.name(p, "node-role"), tags=tags, opts=opts,
                            assume_role_policy=pulumi.Output.json_dumps({
                                "Version": "2012-10-17", "Statement": [{
                                    "Effect": "Allow", "Action": "sts:AssumeRole",
                                    "Principal": {"Service": "ec2.amazonaws.com"}}]}))  # fmt: skip
        for policy in _POLICIES:
            attachments.append(aws.iam.RolePolicyAttachment(
                c.name(p, f"node-{policy.lower().replace('_', '-')}"), role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}", opts=opts))  # fmt: skip
        role_arn = role.arn
    arm = p.arch == "arm64"
    ami_type = ("AL2023_ARM_64_NVIDIA" if arm else "AL2023_x86_64_NVIDIA") if p.accelerator \
        else ("AL2023_ARM_64_STANDARD" if arm else "AL2023_x86_64_STANDARD")
    return aws.eks.NodeGroup(
        c.name(p, "pool"), cluster_name=cluster, node_group_name=pool_name(p),
        node_role_arn=role_arn, subnet_ids=sorted(str(s) for s in o.subnet_ids),
        instance_types=[p.instance_type], ami_type=ami_type, disk_size=p.disk_size,
        capacity_type="SPOT" if p.use_spot else "ON_DEMAND",
        scaling_config={"desired_size": p.num_nodes, "min_size": p.num_nodes,
                        "max_size": p.num_nodes},
        labels=labels, taints=[{"key": POOL_LABEL, "value": p.cluster, "effect": "NO_SCHEDULE"}],
        tags=tags, opts=pulumi.ResourceOptions(provider=provider, depends_on=attachments),
    )  # fmt: skip
