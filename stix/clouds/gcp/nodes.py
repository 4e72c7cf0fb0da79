"""The cluster's Compute Engine instances as GCP reports them (instances.list in the
cluster's zone, filtered by its stix-cluster label), or its TPU VMs (the TPU API's
nodes.list): status and addresses. An ephemeral
external IP changes across a stop and start, so `stix start` reads it here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from stix.clouds import rest
from stix.errors import StixError

if TYPE_CHECKING:
    from stix.clouds.base import NodePower, NodeState
    from stix.placement import Placement

API = "https://compute.googleapis.com/compute/v1"
_POWER: dict[str, NodePower] = {
    "PROVISIONING": "pending", "STAGING": "pending", "RUNNING": "running",
    "REPAIRING": "running", "STOPPING": "stopping", "SUSPENDING": "stopping",
    "SUSPENDED": "stopped", "TERMINATED": "stopped",
}


def token(scope: str = "https://www.googleapis.com/auth/compute") -> str:
    """An access token from Application Default Credentials (google-auth); the TPU API
    takes the cloud-platform scope."""
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError:
        raise StixError("reading GCP instances needs google-auth",
                        hint="pip install google-auth requests") from None
    try:
        creds, _ = google.auth.default(scopes=[scope])
        creds.refresh(google.auth.transport.requests.Request())
    except Exception as exc:  # google-auth raises many kinds; all mean "no usable token"
        raise StixError(f"GCP credentials: {exc}",
                        hint="run `gcloud auth application-default login`") from None
    return str(creds.token)


def list_states(base: str, bearer: str, project: str, zone: str,
                cluster: str) -> dict[str, NodeState]:
    label = f"labels.stix-cluster={cluster}"
    first = f"{base}/projects/{quote(project)}/zones/{quote(zone)}/instances?filter={quote(label)}"
    return {item["name"]: _state(item)
            for item in _listed(first, "items", bearer, f"list instances in {zone}")}


def _listed(first: str, key: str, bearer: str, what: str) -> Iterator[dict[str, Any]]:
    """Every item of a paged GCP list answer (`key` holds a page's items)."""
    url = first
    while url:
        _, _, page = rest.call("GET", url, bearer, what=what)
        yield from (page or {}).get(key, [])
        more = (page or {}).get("nextPageToken")
        sep = "&" if "?" in first else "?"
        url = f"{first}{sep}pageToken={quote(more)}" if more else ""


def _state(item: dict[str, Any]) -> NodeState:
    from stix.clouds.base import NodeState

    nic = (item.get("networkInterfaces") or [{}])[0]
    access = (nic.get("accessConfigs") or [{}])[0]
    return NodeState(item["name"], _POWER.get(item.get("status", ""), "pending"),
                     access.get("natIP"), nic.get("networkIP"), str(item.get("id") or ""))


TPU_API = "https://tpu.googleapis.com/v2"
# TPU API node states; a preempted spot TPU VM is gone for good (it cannot be restarted).
_TPU_POWER: dict[str, NodePower] = {
    "CREATING": "pending", "STARTING": "pending", "RESTARTING": "pending",
    "REPAIRING": "pending", "READY": "running", "STOPPING": "stopping", "STOPPED": "stopped",
    "DELETING": "terminated", "PREEMPTED": "terminated", "TERMINATED": "terminated",
}


def list_tpu_states(base: str, bearer: str, project: str, zone: str,
                    cluster: str) -> dict[str, NodeState]:
    """The cluster's TPU VMs (nodes.list of the TPU API in the zone, the stix-cluster label
    matched here: the list takes no filter), by node name."""
    from stix.clouds.base import NodeState

    first = f"{base}/projects/{quote(project)}/locations/{quote(zone)}/nodes"
    found: dict[str, NodeState] = {}
    for item in _listed(first, "nodes", bearer, f"list TPU VMs in {zone}"):
        if (item.get("labels") or {}).get("stix-cluster") != cluster:
            continue
        name = str(item.get("name", "")).rsplit("/", 1)[-1]
        endpoint = (item.get("networkEndpoints") or [{}])[0]
        access = endpoint.get("accessConfig") or {}
        found[name] = NodeState(name, _TPU_POWER.get(item.get("state", ""), "pending"),
                                access.get("externalIp"), endpoint.get("ipAddress"),
                                str(item.get("id") or ""))
    return found


def node_states(placement: Placement, project: str | None) -> dict[str, NodeState]:
    from stix.clouds.gcp.credentials import find_sources
    from stix.clouds.gcp.tpu import is_tpu

    project = project or find_sources()[2]
    if not project or not placement.zone:
        raise StixError(f"cluster {placement.cluster}: no GCP project to read its instances "
                        "from", hint="set GOOGLE_CLOUD_PROJECT or stix:extra.project")
    if placement.accelerator is not None and is_tpu(placement.accelerator.name):
        bearer = token("https://www.googleapis.com/auth/cloud-platform")
        return list_tpu_states(TPU_API, bearer, project, placement.zone, placement.cluster)
    return list_states(API, token(), project, placement.zone, placement.cluster)
