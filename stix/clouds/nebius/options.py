"""Nebius infra options (`stix:extra` of a Nebius stack)."""

from __future__ import annotations

from pydantic import Field

from stix.clouds.base import NetworkOptions


class NebiusOptions(NetworkOptions):
    project_id: str | None = Field(
        None, description="the project the cluster's resources go in (project-...); a Nebius "
        "project lives in one region, which must be the placement's (default: the "
        "provider's, i.e. the Nebius CLI profile's parent-id)")
    profile: str | None = Field(None, description="the Nebius CLI profile "
                                "(~/.nebius/config.yaml) the engine's provider signs in with")
    credentials_file: str | None = Field(
        None, description="a service account credentials file the engine's provider signs "
        "in with instead (the JSON the Nebius CLI writes for an authorized key)")
    network_id: str | None = Field(None, description="an existing VPC network (with "
                                   "subnet_id) instead of the stack-owned one")
    subnet_id: str | None = Field(None, description="an existing subnet of network_id "
                                  "(required with private)")
