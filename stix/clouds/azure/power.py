"""Azure VM power through the Azure Resource Manager API: the power state of the
cluster's VMs, and deallocate / start for `stix stop` / `stix start` — azure-native holds
no power state, so the stack cannot. Deallocating (not an OS shutdown) is what ends
compute billing; the static public IPs and the disks stay."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from stix.clouds import rest
from stix.errors import StixError

if TYPE_CHECKING:
    from stix.clouds.base import NodePower, NodeState
    from stix.placement import Placement

ARM = "https://management.azure.com"
API_VERSION = "2024-07-01"
_POWER: dict[str, NodePower] = {
    "starting": "pending", "running": "running", "stopping": "stopping",
    "deallocating": "stopping", "stopped": "stopped", "deallocated": "stopped",
}


def token() -> str:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise StixError("Azure API calls need azure-identity",
                        hint="pip install azure-identity") from None
    try:
        return str(DefaultAzureCredential().get_token(f"{ARM}/.default").token)
    except Exception as exc:  # azure-identity raises a chain of kinds; all mean no token
        raise StixError(f"Azure credentials: {exc}", hint="run `az login`") from None


def _vms(base: str, subscription: str, group: str) -> str:
    return (f"{base}/subscriptions/{quote(subscription)}/resourceGroups/{quote(group)}"
            "/providers/Microsoft.Compute/virtualMachines")


def list_states(base: str, bearer: str, subscription: str, group: str,
                cluster: str) -> dict[str, NodeState]:
    from stix.clouds.base import NodeState

    url = f"{_vms(base, subscription, group)}?api-version={API_VERSION}&statusOnly=true"
    found: dict[str, NodeState] = {}
    while url:
        _, _, page = rest.call("GET", url, bearer, what=f"list VMs in {group}")
        for vm in (page or {}).get("value", []):
            if (vm.get("tags") or {}).get("stix-cluster") != cluster:
                continue
            found[vm["name"]] = NodeState(vm["name"], _power(vm), id=vm.get("id"))
        url = (page or {}).get("nextLink") or ""
    return found


def _power(vm: dict[str, Any]) -> NodePower:
    statuses = ((vm.get("properties") or {}).get("instanceView") or {}).get("statuses") or []
    for status in statuses:
        code = str(status.get("code", ""))
        if code.startswith("PowerState/"):
            return _POWER.get(code.split("/", 1)[1], "pending")
    return "pending"


def set_power(base: str, bearer: str, subscription: str, group: str, cluster: str,
              names: list[str], stopped: bool, *, timeout: float = 900.0,
              poll: float = 10.0) -> None:
    """Deallocate (or start) each VM, then wait until every one reports it."""
    action = "deallocate" if stopped else "start"
    for name in names:
        rest.call("POST", f"{_vms(base, subscription, group)}/{quote(name)}/{action}"
                          f"?api-version={API_VERSION}", bearer, what=f"{action} {name}")
    want = "stopped" if stopped else "running"
    deadline = time.monotonic() + timeout
    while True:
        states = list_states(base, bearer, subscription, group, cluster)
        pending = [n for n in names if n not in states or states[n].power != want]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise StixError(f"cluster {cluster}: {', '.join(pending)} did not reach {want} "
                            f"within {timeout:.0f} s")
        time.sleep(poll)


def where(placement: Placement, outputs: dict[str, Any]) -> tuple[str, str]:
    """(subscription, resource group) of the cluster's VMs."""
    from stix.clouds.azure.credentials import find_sources

    subscription = find_sources()[2]
    group = outputs.get("resource_group") or f"stix-{placement.cluster}"
    if not subscription:
        raise StixError("no Azure subscription chosen", hint="set AZURE_SUBSCRIPTION_ID")
    return subscription, str(group)
