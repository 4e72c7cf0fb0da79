"""AWS infra options (`stix:extra` of an AWS stack)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stix.clouds.base import NetworkOptions


class AwsOptions(NetworkOptions):
    vpc_id: str | None = Field(None, description="use this VPC instead of creating one "
                               "(with subnet_id)")
    subnet_id: str | None = Field(None, description="an existing subnet of vpc_id")
    role: Literal["stix-server"] | None = Field(
        None, description="what the nodes may do in the account beyond the task's buckets: "
        "stix-server grants what a stix server needs to run clusters (stix server deploy; "
        "stix/clouds/aws/identity.py lists it)")
