"""Azure infra options (`stix:extra` of an Azure stack)."""

from __future__ import annotations

from pydantic import Field

from stix.clouds.base import NetworkOptions


class AzureOptions(NetworkOptions):
    resource_group: str | None = Field(None, description="an existing resource group "
                                       "(default: one the stack owns)")
