"""The Azure resources stix tagged (`stix orphans`): Azure Resource Manager lists every
resource and resource group of the subscription carrying a tag (`$filter=tagName eq ...`),
over the REST API with a token from azure-identity; VMs are then read one by one for their
size and power state. Deleting goes dependents first (VMs, NICs, addresses, disks,
security groups, networks, accounts, the rest) and resource groups last.

The base URL is a parameter so the calls can be exercised against an HTTP server on
loopback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from stix.clouds import rest
from stix.clouds.tagged import TAG_KEYS, Deleted, Scan, ScanError, TaggedResource, join, stack_of

CLOUD = "azure"
ARM = "https://management.azure.com"
LIST_API = "2021-04-01"  # resources, resource groups, providers
VM_API = "2024-07-01"
_HINT = ("run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET "
         "(and AZURE_SUBSCRIPTION_ID)")
# ARM type (lower case) → the kind shown, in deletion order.
KINDS = {
    "microsoft.compute/virtualmachines": "vm",
    "microsoft.network/networkinterfaces": "nic",
    "microsoft.network/publicipaddresses": "public-ip",
    "microsoft.compute/disks": "disk",
    "microsoft.network/networksecuritygroups": "nsg",
    "microsoft.network/virtualnetworks": "vnet",
    "microsoft.storage/storageaccounts": "storage-account",
    "microsoft.managedidentity/userassignedidentities": "identity",
}
ORDER = (*KINDS.values(), "other", "resource-group")


def token() -> str:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise ScanError("scanning Azure needs azure-identity, which is not installed",
                        hint="pip install azure-identity") from None
    try:
        return str(DefaultAzureCredential().get_token(f"{ARM}/.default").token)
    except Exception as exc:  # azure-identity raises a chain of kinds; all mean no token
        raise ScanError(f"azure: no usable credentials: {exc}", hint=_HINT) from None


def subscription() -> str:
    from stix.clouds.azure.credentials import find_sources

    found = find_sources()[2]
    if not found:
        raise ScanError("azure: no subscription to scan", hint="set AZURE_SUBSCRIPTION_ID")
    return found


def tag_filter(key: str) -> str:
    """ARM's filter for "carries tag `key`" (any value), ready for a query string."""
    return quote(f"tagName eq '{key}'")


def _pages(url: str, bearer: str, what: str) -> Iterator[dict[str, Any]]:
    while url:
        _, _, page = rest.call("GET", url, bearer, what=what)
        page = page or {}
        yield page
        url = page.get("nextLink") or ""


def kind_of(arm_type: str) -> str:
    return KINDS.get(arm_type.lower(), arm_type)


def parse(item: dict[str, Any], group: bool = False) -> TaggedResource | None:
    """One item of a resources (or resource groups) listing, the API's JSON."""
    stack = stack_of(item.get("tags") or {})
    if stack is None:
        return None
    kind = "resource-group" if group else kind_of(item.get("type", ""))
    return TaggedResource(CLOUD, str(item.get("location", "")).lower(), kind, item["id"], stack,
                          name=item.get("name", ""), detail="" if group or kind in
                          KINDS.values() else item.get("type", ""))


def _vm(base: str, bearer: str, r: TaggedResource) -> TaggedResource:
    """A VM with its size and power state (the listing carries neither)."""
    from dataclasses import replace

    _, _, vm = rest.call("GET", f"{base}{quote(r.id)}?api-version={VM_API}&$expand=instanceView",
                         bearer, what=f"read VM {r.name}")
    props = (vm or {}).get("properties") or {}
    size = (props.get("hardwareProfile") or {}).get("vmSize")
    statuses = (props.get("instanceView") or {}).get("statuses") or []
    power = next((str(s.get("code", "")).split("/", 1)[1] for s in statuses
                  if str(s.get("code", "")).startswith("PowerState/")), "unknown")
    running = power in ("running", "starting")
    return replace(r, machine=size if running else None, spot=props.get("priority") == "Spot",
                   detail=join(f"{size or '?'} {power}",
                               None if running else "no compute charge while deallocated"))


def scan_subscription(bearer: str, sub: str, regions: list[str] | None, *,
                      base: str = ARM) -> Scan:
    found = Scan(regions=sorted(regions) if regions else ["all"])
    seen: set[str] = set()
    root = f"{base}/subscriptions/{quote(sub)}"
    for key in TAG_KEYS:
        for path, group in ((f"{root}/resources", False), (f"{root}/resourcegroups", True)):
            what = "resource groups" if group else "resources"
            url = f"{path}?$filter={tag_filter(key)}&api-version={LIST_API}"
            try:
                for page in _pages(url, bearer, f"list {what} tagged {key}"):
                    for item in page.get("value") or []:
                        made = parse(item, group)
                        if made is None or made.id.lower() in seen:
                            continue
                        if regions is not None and made.region not in regions:
                            continue
                        seen.add(made.id.lower())
                        found.resources.append(made)
            except rest.ApiError as exc:
                if exc.status in (401, 403):
                    raise ScanError(f"azure refused the scan: {exc.message}", hint=_HINT) from None
                found.problems.append(f"azure: {what} could not be listed: {exc.message}")
    for i, r in enumerate(found.resources):
        if r.kind == "vm":
            try:
                found.resources[i] = _vm(base, bearer, r)
            except rest.ApiError as exc:
                found.problems.append(f"azure: VM {r.name} could not be read: {exc.message}")
    return found


def scan(regions: list[str] | None) -> Scan:
    return scan_subscription(token(), subscription(), regions)


# -- deleting -----------------------------------------------------------------------------------


def _api_version(base: str, bearer: str, arm_id: str, known: dict[str, str]) -> str:
    """The newest stable API version of the resource's type, as its provider lists it."""
    parts = arm_id.strip("/").split("/")
    at = [p.lower() for p in parts].index("providers")
    namespace, kind = parts[at + 1], "/".join(parts[at + 2::2])
    key = f"{namespace}/{kind}".lower()
    if key not in known:
        _, _, provider = rest.call(
            "GET", f"{base}/{'/'.join(parts[:2])}/providers/{namespace}?api-version={LIST_API}",
            bearer, what=f"read provider {namespace}")
        for entry in (provider or {}).get("resourceTypes") or []:
            versions = [v for v in entry.get("apiVersions") or [] if "preview" not in v]
            if versions:
                known[f"{namespace}/{entry.get('resourceType', '')}".lower()] = max(versions)
    if key not in known:
        raise ScanError(f"no API version of {namespace}/{kind} to delete it with")
    return known[key]


def _wait(headers: dict[str, str], bearer: str, timeout: float, poll: float) -> None:
    """Follow a long-running delete (Azure-AsyncOperation, else Location) to its end."""
    lower = {k.lower(): v for k, v in headers.items()}
    url = lower.get("azure-asyncoperation") or lower.get("location")
    deadline = time.monotonic() + timeout
    while url:
        if time.monotonic() > deadline:
            raise ScanError(f"not finished after {timeout:.0f}s")
        time.sleep(poll)
        status, _, body = rest.call("GET", url, bearer, what="deletion status")
        state = str((body or {}).get("status", "")).lower()
        if state in ("succeeded", "canceled", "failed"):
            if state != "succeeded":
                message = ((body or {}).get("error") or {}).get("message", state)
                raise ScanError(f"deletion {state}: {message}")
            return
        if not state and status in (200, 204):
            return


def delete_all(resources: list[TaggedResource], bearer: str, *, base: str = ARM,
               timeout: float = 1800.0, poll: float = 10.0) -> list[Deleted]:
    out = []
    versions: dict[str, str] = {}

    def rank(r: TaggedResource) -> int:
        return ORDER.index(r.kind) if r.kind in ORDER else ORDER.index("other")

    for r in sorted(resources, key=rank):
        try:
            version = (LIST_API if r.kind == "resource-group"
                       else _api_version(base, bearer, r.id, versions))
            status, headers, _ = rest.call("DELETE", f"{base}{quote(r.id)}?api-version={version}",
                                           bearer, what=f"delete {r.name}")
            if status == 202:
                _wait(headers, bearer, timeout, poll)
            out.append(Deleted(r))
        except rest.ApiError as exc:
            out.append(Deleted(r) if exc.status in (204, 404) else Deleted(r, exc.message))
        except ScanError as exc:
            out.append(Deleted(r, exc.message))
    return out


def delete(resources: list[TaggedResource]) -> list[Deleted]:
    return delete_all(resources, token())
