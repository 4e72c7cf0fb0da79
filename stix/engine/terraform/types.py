"""The Pulumi → Terraform tables, from the clouds that support the Terraform back end.

Bridged providers share resource schemas with their Terraform originals, so a type token
maps to a Terraform type and camelCase fields map to snake_case; each cloud's type table
says what the rule cannot know (map fields, attributes as blocks, auto-names). A cloud
without `capabilities.terraform` has no translation.
"""

from __future__ import annotations

from dataclasses import dataclass

from stix.clouds.resource import TerraformType

TfType = TerraformType


@dataclass(frozen=True)
class TfProvider:
    name: str  # Terraform's provider name (google)
    source: str  # registry source (hashicorp/google)
    keys: tuple[str, ...]  # settings of the Pulumi provider resource for its block


def _translates(token: str) -> bool:
    from stix.clouds.types import cloud_of

    cloud = cloud_of(token)
    return cloud is not None and cloud.capabilities.terraform


def resource(token: str) -> TfType | None:
    """The Terraform type of a Pulumi resource type, when its cloud translates."""
    from stix.clouds.types import resource_type

    rt = resource_type(token)
    return rt.terraform if rt is not None and _translates(token) else None


def data_source(token: str) -> str | None:
    """The Terraform data source of a Pulumi lookup, when its cloud translates."""
    from stix.clouds.types import lookup

    found = lookup(token)
    return found.terraform if found is not None and _translates(token) else None


def provider(package: str) -> TfProvider | None:
    """The Terraform provider for a Pulumi provider package (aws → hashicorp/aws)."""
    from stix.clouds.types import cloud_of

    cloud = cloud_of(f"pulumi:providers:{package}")
    if cloud is None or not cloud.capabilities.terraform or cloud.terraform_provider is None:
        return None
    name, source = cloud.terraform_provider
    return TfProvider(name, source, cloud.terraform_provider_keys)
