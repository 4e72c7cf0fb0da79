"""The resource types and lookups of every registered cloud, by type token: what the diff,
the offline mocks and the Terraform back end read. Built once, on first use."""

from __future__ import annotations

from functools import cache

from stix.clouds.base import Cloud
from stix.clouds.resource import Lookup, ResourceType

PROVIDER_PREFIX = "pulumi:providers:"
DYNAMIC_PREFIX = "pulumi-python:dynamic/"  # stix.clouds.dynamic: one module per cloud


@cache
def _tables() -> tuple[dict[str, ResourceType], dict[str, Lookup], dict[str, Cloud]]:
    from stix.clouds import registry

    types: dict[str, ResourceType] = {}
    lookups: dict[str, Lookup] = {}
    packages: dict[str, Cloud] = {}
    for cloud in registry.all_clouds():
        for package in cloud.pulumi_packages:
            packages.setdefault(package, cloud)
        for rt in cloud.resource_types():
            types.setdefault(rt.token, rt)
        for lk in cloud.lookups():
            lookups.setdefault(lk.token, lk)
    return types, lookups, packages


def resource_type(token: str) -> ResourceType | None:
    return _tables()[0].get(token)


def lookup(token: str) -> Lookup | None:
    return _tables()[1].get(token)


def package_of(token: str) -> str:
    """The Pulumi package of a type token (`aws:ec2/vpc:Vpc` → aws; a provider resource
    `pulumi:providers:aws` → aws; a dynamic provider's type
    `pulumi-python:dynamic/<module>:<Name>` → pulumi-python:dynamic/<module>, which is
    `DynamicType.package`)."""
    if token.startswith(PROVIDER_PREFIX):
        return token[len(PROVIDER_PREFIX):]
    if token.startswith(DYNAMIC_PREFIX):
        return token.rsplit(":", 1)[0]
    return token.split(":", 1)[0]


def cloud_of(token: str) -> Cloud | None:
    """The cloud whose Pulumi package a type (or provider) token belongs to."""
    return _tables()[2].get(package_of(token))


def replace_on(token: str) -> tuple[str, ...]:
    """Input paths that force `token` to be replaced (the type's own, and its cloud's)."""
    rt = resource_type(token)
    cloud = cloud_of(token)
    own = rt.replace_on if rt is not None else ()
    return own + (cloud.replace_on_all if cloud is not None else ())
