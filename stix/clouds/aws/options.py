"""AWS infra options (`stix:extra` of an AWS stack)."""

from __future__ import annotations

from pydantic import Field

from stix.clouds.base import NetworkOptions


class AwsOptions(NetworkOptions):
    vpc_id: str | None = Field(None, description="use this VPC instead of creating one "
                               "(with subnet_id)")
    subnet_id: str | None = Field(None, description="an existing subnet of vpc_id")
