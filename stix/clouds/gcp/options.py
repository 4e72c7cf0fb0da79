"""GCP infra options (`stix:extra` of a GCP stack)."""

from __future__ import annotations

from pydantic import Field

from stix.clouds.base import NetworkOptions


class GcpOptions(NetworkOptions):
    project: str | None = Field(None, description="GCP project (default: the environment's)")
    network: str | None = Field(None, description="an existing network (with subnet_id)")
    subnet_id: str | None = Field(None, description="an existing subnetwork self link")
