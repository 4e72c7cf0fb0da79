"""OCI infra options (`stix:extra` of an OCI stack)."""

from __future__ import annotations

from pydantic import Field

from stix.clouds.base import NetworkOptions


class OciOptions(NetworkOptions):
    compartment_id: str | None = Field(
        None, description="the compartment OCID the cluster's resources go in (default: the "
        "tenancy's root compartment, from OCI_CLI_TENANCY or the OCI config file)")
    availability_domain: int | None = Field(
        None, ge=1, le=3, description="which availability domain of the region (1-3, "
        "default 1; OCI prefixes AD names per tenancy, so stix asks by number)")
    subnet_id: str | None = Field(None, description="an existing subnet OCID instead of the "
                                  "stack-owned VCN (required with private)")
