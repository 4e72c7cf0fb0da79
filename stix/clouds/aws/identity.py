"""What a stix server's machine may do in the AWS account (`role: stix-server`), as the
IAM policy its stack declares — reviewed in the plan like every other resource.

A server provisions clusters as `stix up` does: EC2 (networks, security groups, key
pairs, instances, their state), S3 (the tasks' buckets, whose names users choose), and
the per-cluster node roles. IAM is the part that could widen access, so it is limited:
roles and instance profiles are created only carrying the `managed-by: stix` tag, changed
or deleted only when they carry it, and passed only to EC2."""

from __future__ import annotations

from typing import Any

_ROLES = ["iam:CreateRole", "iam:TagRole", "iam:CreateInstanceProfile",
          "iam:TagInstanceProfile"]
_OWN = ["iam:DeleteRole", "iam:UntagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
        "iam:UpdateAssumeRolePolicy", "iam:DeleteInstanceProfile",
        "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
        "iam:UntagInstanceProfile"]
_READ = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies",
         "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
         "iam:GetInstanceProfile", "iam:ListRoleTags", "iam:ListInstanceProfileTags",
         "sts:GetCallerIdentity"]


def server_policy() -> dict[str, Any]:
    tagged = {"StringEquals": {"aws:ResourceTag/managed-by": "stix"}}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Clusters", "Effect": "Allow", "Action": ["ec2:*"], "Resource": "*"},
        {"Sid": "Buckets", "Effect": "Allow", "Action": ["s3:*"], "Resource": "*"},
        {"Sid": "NewNodeRoles", "Effect": "Allow", "Action": _ROLES, "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/managed-by": "stix"}}},
        {"Sid": "OwnNodeRoles", "Effect": "Allow", "Action": _OWN, "Resource": "*",
         "Condition": tagged},
        {"Sid": "ReadNodeRoles", "Effect": "Allow", "Action": _READ, "Resource": "*"},
        {"Sid": "PassNodeRoles", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}},
    ]}  # fmt: skip
