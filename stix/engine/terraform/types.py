"""The Pulumi → Terraform table for the bridged providers (AWS now, GCP by the same rules).

Bridged providers share resource schemas with their Terraform originals, so a type token
maps to a Terraform type and camelCase fields map to snake_case. What the table adds is
what the rule cannot know: map-typed fields whose keys must stay as written (tags), and
"attributes as blocks" whose Terraform JSON form needs every field present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TfType:
    name: str
    # Fields holding maps (user keys, never snake-cased).
    maps: frozenset[str] = frozenset({"tags", "tagsAll", "labels"})
    # List-of-object attributes whose items need every key in Terraform JSON.
    full_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Pulumi-only inputs dropped here (moved to the provider block or meaningless in TF).
    drop: frozenset[str] = frozenset({"region"})
    # Pulumi names (often plural list blocks) whose Terraform name differs.
    renames: dict[str, str] = field(default_factory=dict)
    # Pulumi auto-names these from the logical name (plus a random suffix); Terraform gets
    # the logical name as `name` or, for a `*_prefix` field, as a prefix.
    autoname: str | None = None


_SG_RULE = {"cidr_blocks": [], "description": "", "from_port": 0, "ipv6_cidr_blocks": [],
            "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": False,
            "to_port": 0}
# Unset optional attributes are null (an empty string is a value, e.g. an invalid CIDR).
_ROUTE: dict[str, Any] = {k: None for k in (
    "carrier_gateway_id", "cidr_block", "core_network_arn", "destination_prefix_list_id",
    "egress_only_gateway_id", "gateway_id", "ipv6_cidr_block", "local_gateway_id",
    "nat_gateway_id", "network_interface_id", "transit_gateway_id", "vpc_endpoint_id",
    "vpc_peering_connection_id")}

RESOURCES: dict[str, TfType] = {
    "aws:ec2/vpc:Vpc": TfType("aws_vpc"),
    "aws:ec2/subnet:Subnet": TfType("aws_subnet"),
    "aws:ec2/internetGateway:InternetGateway": TfType("aws_internet_gateway"),
    "aws:ec2/routeTable:RouteTable": TfType(
        "aws_route_table", full_items={"routes": _ROUTE}, renames={"routes": "route"}),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": TfType("aws_route_table_association"),
    "aws:ec2/securityGroup:SecurityGroup": TfType(
        "aws_security_group", full_items={"ingress": _SG_RULE, "egress": _SG_RULE},
        autoname="name_prefix"),
    "aws:ec2/keyPair:KeyPair": TfType("aws_key_pair", autoname="key_name_prefix"),
    "aws:ec2/instance:Instance": TfType(
        "aws_instance", maps=frozenset({"tags", "tagsAll", "volumeTags"})),
    "aws:ec2/placementGroup:PlacementGroup": TfType("aws_placement_group", autoname="name"),
    "aws:ec2/eip:Eip": TfType("aws_eip"),
    "aws:s3/bucket:Bucket": TfType("aws_s3_bucket"),
    "aws:s3/bucketV2:BucketV2": TfType("aws_s3_bucket"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        TfType("aws_s3_bucket_public_access_block"),
    "aws:iam/role:Role": TfType("aws_iam_role", autoname="name_prefix"),
    "aws:iam/rolePolicy:RolePolicy": TfType("aws_iam_role_policy", autoname="name_prefix"),
    "aws:iam/instanceProfile:InstanceProfile": TfType("aws_iam_instance_profile",
                                                      autoname="name_prefix"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": TfType("aws_iam_role_policy_attachment"),
    "aws:eks/cluster:Cluster": TfType("aws_eks_cluster"),
    "aws:eks/nodeGroup:NodeGroup": TfType("aws_eks_node_group"),
    "gcp:compute/network:Network": TfType("google_compute_network"),
    "gcp:compute/subnetwork:Subnetwork": TfType("google_compute_subnetwork"),
    "gcp:compute/firewall:Firewall": TfType("google_compute_firewall"),
    "gcp:compute/instance:Instance": TfType(
        "google_compute_instance", maps=frozenset({"labels", "metadata"})),
    "gcp:storage/bucket:Bucket": TfType("google_storage_bucket"),
    "gcp:serviceaccount/account:Account": TfType("google_service_account"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": TfType("google_storage_bucket_iam_member"),
    "gcp:container/nodePool:NodePool": TfType("google_container_node_pool"),
}

DATA: dict[str, str] = {
    "aws:ssm/getParameter:getParameter": "aws_ssm_parameter",
    "aws:ec2/getAmi:getAmi": "aws_ami",
    "gcp:compute/getImage:getImage": "google_compute_image",
}

# Provider package → (Terraform provider name, registry source).
PROVIDERS: dict[str, tuple[str, str]] = {
    "aws": ("aws", "hashicorp/aws"),
    "gcp": ("google", "hashicorp/google"),
}
