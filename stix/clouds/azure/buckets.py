"""Blob containers stix creates, in storage accounts that allow no public blob access,
take HTTPS with TLS 1.2 or newer only, and encrypt at rest with Microsoft-managed keys
(set explicitly). Used by a bucket's own stack (its own resource group) and, for
`persistent: false` buckets, by the cluster's stack."""

from __future__ import annotations

from typing import Any

ENCRYPTION = {"key_source": "Microsoft.Storage",
              "services": {"blob": {"enabled": True, "key_type": "Account"}}}


def resource_group_of(stack: str) -> str:
    """The resource group a bucket stack owns (deterministic: clusters scope access to it)."""
    return f"stix-{stack}"


def account(logical: str, name: str, *, rg: Any, location: str, tags: dict[str, str],
            opts: Any) -> Any:
    import pulumi_azure_native as az

    return az.storage.StorageAccount(
        logical, account_name=name, resource_group_name=rg, location=location,
        kind="StorageV2", sku={"name": "Standard_LRS"}, allow_blob_public_access=False,
        minimum_tls_version="TLS1_2", enable_https_traffic_only=True, encryption=ENCRYPTION,
        tags=tags, opts=opts)


def container(logical: str, name: str, *, account_name: Any, rg: Any, opts: Any) -> Any:
    import pulumi_azure_native as az

    return az.storage.BlobContainer(logical, container_name=name, account_name=account_name,
                                    resource_group_name=rg, public_access="None", opts=opts)


def container_id(subscription: Any, rg: str, account_name: str, name: str) -> Any:
    """The resource id of a container stix knows by name (to scope a role to it)."""
    import pulumi

    return pulumi.Output.concat(
        "/subscriptions/", subscription, f"/resourceGroups/{rg}/providers/Microsoft.Storage/"
        f"storageAccounts/{account_name}/blobServices/default/containers/{name}")


def build(spec: Any) -> dict[str, Any]:
    """A persistent bucket's own stack (`stix.buckets.BucketSpec`)."""
    import pulumi
    import pulumi_azure_native as az

    from stix.clouds.common import MANAGED_BY

    provider = az.Provider(f"{spec.stack}-azure", location=spec.region)
    opts = pulumi.ResourceOptions(provider=provider)
    tags = dict(sorted({**spec.labels, "managed-by": MANAGED_BY}.items()))
    rg = az.resources.ResourceGroup(f"{spec.stack}-rg",
                                    resource_group_name=resource_group_of(spec.stack),
                                    location=spec.region, tags=tags, opts=opts)
    acct = account(f"{spec.stack}-account", spec.account, rg=rg.name, location=spec.region,
                   tags=tags, opts=opts)
    made = container(spec.stack, spec.name, account_name=acct.name, rg=rg.name, opts=opts)
    return {"bucket": made.name, "account": acct.name, "resource_group": rg.name,
            "region": spec.region}
