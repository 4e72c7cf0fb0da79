"""Provider registry: name → class, imported only when asked for."""

from __future__ import annotations

import importlib

from stix.errors import StixError
from stix.providers.base import CredentialStatus, Provider

# "module:Class" so that listing providers imports nothing.
_REGISTRY: dict[str, str] = {}


def register(name: str, target: str) -> None:
    _REGISTRY[name] = target


register("aws", "stix.providers.aws:AwsProvider")
register("gcp", "stix.providers.gcp:GcpProvider")
register("azure", "stix.providers.azure:AzureProvider")
register("kubernetes", "stix.providers.kubernetes:KubernetesProvider")
register("local", "stix.providers.local:LocalProvider")
register("ssh", "stix.providers.ssh:SshProvider")


register("aws", "stix.providers.aws:AwsProvider")
register("gcp", "stix.providers.gcp:GcpProvider")
register("azure", "stix.providers.azure:AzureProvider")
register("kubernetes", "stix.providers.kubernetes:KubernetesProvider")


def names() -> list[str]:
    return sorted(_REGISTRY)


def get(name: str) -> Provider:
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise StixError(f"stix has no provider {name!r}; it has {', '.join(names())}") from None
    module, _, cls = target.partition(":")
    provider: Provider = getattr(importlib.import_module(module), cls)()
    return provider


__all__ = ["CredentialStatus", "Provider", "get", "names", "register"]
