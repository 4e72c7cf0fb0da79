"""Every resource type the AWS program (and the EKS node pool) emits: what forces its
replacement, and its Terraform type (the AWS provider is bridged: one to one)."""

from __future__ import annotations

from typing import Any

from stix.clouds.aws import exposure
from stix.clouds.resource import Lookup, ResourceType, TerraformType

_SG_RULE = {"cidr_blocks": [], "description": "", "from_port": 0, "ipv6_cidr_blocks": [],
            "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": False,
            "to_port": 0}
# Unset optional attributes are null (an empty string is a value, e.g. an invalid CIDR).
_ROUTE: dict[str, Any] = {k: None for k in (
    "carrier_gateway_id", "cidr_block", "core_network_arn", "destination_prefix_list_id",
    "egress_only_gateway_id", "gateway_id", "ipv6_cidr_block", "local_gateway_id",
    "nat_gateway_id", "network_interface_id", "transit_gateway_id", "vpc_endpoint_id",
    "vpc_peering_connection_id")}

TYPES = (
    ResourceType("aws:ec2/vpc:Vpc", ("cidrBlock",), TerraformType("aws_vpc")),
    ResourceType("aws:ec2/subnet:Subnet", ("vpcId", "cidrBlock", "availabilityZone"),
                 TerraformType("aws_subnet")),
    ResourceType("aws:ec2/internetGateway:InternetGateway", (),
                 TerraformType("aws_internet_gateway")),
    ResourceType("aws:ec2/routeTable:RouteTable", ("vpcId",), TerraformType(
        "aws_route_table", full_items={"routes": _ROUTE}, renames={"routes": "route"})),
    ResourceType("aws:ec2/routeTableAssociation:RouteTableAssociation", ("subnetId",),
                 TerraformType("aws_route_table_association")),
    ResourceType("aws:ec2/securityGroup:SecurityGroup", ("vpcId", "description", "name"),
                 TerraformType("aws_security_group",
                               full_items={"ingress": _SG_RULE, "egress": _SG_RULE},
                               autoname="name_prefix"), exposure=exposure.security_group),
    ResourceType("aws:ec2/keyPair:KeyPair", ("publicKey", "keyName"),
                 TerraformType("aws_key_pair", autoname="key_name_prefix")),
    ResourceType("aws:ec2/placementGroup:PlacementGroup", ("strategy",),
                 TerraformType("aws_placement_group", autoname="name")),
    ResourceType("aws:ec2/instance:Instance", (
        "ami", "availabilityZone", "subnetId", "keyName", "instanceMarketOptions",
        "placementGroup", "associatePublicIpAddress", "tenancy", "rootBlockDevice.encrypted",
    ), TerraformType("aws_instance", maps=frozenset({"tags", "tagsAll", "volumeTags"})),
        exposure=exposure.instance),
    ResourceType("aws:ec2transitgateway/instanceState:InstanceState", ("instanceId",),
                 TerraformType("aws_ec2_instance_state")),
    ResourceType("aws:s3/bucket:Bucket", ("bucket",), TerraformType("aws_s3_bucket"),
                 exposure=exposure.bucket),
    ResourceType("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", ("bucket",),
                 TerraformType("aws_s3_bucket_public_access_block")),
    ResourceType("aws:s3/bucketServerSideEncryptionConfiguration:"
                 "BucketServerSideEncryptionConfiguration", ("bucket", "expectedBucketOwner"),
                 TerraformType("aws_s3_bucket_server_side_encryption_configuration",
                               full_items={"rules": {"bucket_key_enabled": None}},
                               renames={"rules": "rule"})),
    ResourceType("aws:iam/role:Role", ("name",),
                 TerraformType("aws_iam_role", autoname="name_prefix")),
    ResourceType("aws:iam/rolePolicy:RolePolicy", ("role", "name"),
                 TerraformType("aws_iam_role_policy", autoname="name_prefix")),
    ResourceType("aws:iam/instanceProfile:InstanceProfile", ("name",),
                 TerraformType("aws_iam_instance_profile", autoname="name_prefix")),
    ResourceType("aws:iam/rolePolicyAttachment:RolePolicyAttachment", ("role", "policyArn"),
                 TerraformType("aws_iam_role_policy_attachment")),
    ResourceType("aws:eks/nodeGroup:NodeGroup", (
        "clusterName", "nodeGroupName", "nodeRoleArn", "subnetIds", "instanceTypes",
        "amiType", "capacityType", "diskSize",
    ), TerraformType("aws_eks_node_group")),
)

LOOKUPS = (
    Lookup("aws:ssm/getParameter:getParameter", ("arn", "id", "insecureValue", "type", "value"),
           "aws_ssm_parameter"),
    Lookup("aws:ec2/getAmi:getAmi", ("arn", "id", "imageId", "name"), "aws_ami"),
)
