"""The cluster's OCI instances as OCI reports them (ListInstances in the stack's
compartment, by the `stix-cluster` freeform tag), with each one's primary VNIC addresses:
power state for reconciliation, and the addresses a stop and start may change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.clouds.oci import api

if TYPE_CHECKING:
    from stix.clouds.base import NodePower, NodeState
    from stix.placement import Placement

_POWER: dict[str, NodePower] = {
    "PROVISIONING": "pending", "STARTING": "pending", "RUNNING": "running",
    "MOVING": "running", "CREATING_IMAGE": "running", "STOPPING": "stopping",
    "STOPPED": "stopped", "TERMINATING": "terminated", "TERMINATED": "terminated",
}  # fmt: skip


def node_states(placement: Placement, signer: api.Signer | None = None,
                base: str | None = None) -> dict[str, NodeState]:
    from stix.clouds.base import NodeState
    from stix.clouds.oci.program import compartment

    signer = signer or api.signer_from_config()
    base = base or api.endpoint(placement.region)
    where = compartment(placement)
    what = f"cluster {placement.cluster}: listing its instances in {placement.region}"
    found: dict[str, NodeState] = {}
    for inst in api.list_all(signer, base, "instances", {"compartmentId": where}, what):
        tags = inst.get("freeformTags") or {}
        name = inst.get("displayName")
        power = _POWER.get(str(inst.get("lifecycleState")), "terminated")
        if tags.get("stix-cluster") != placement.cluster or not isinstance(name, str):
            continue
        if power == "terminated":
            continue  # a terminated twin lingers beside a node's live instance
        public, private = _addresses(signer, base, where, str(inst.get("id")), what)
        found[name] = NodeState(name, power, public, private, inst.get("id"))
    return found


def _addresses(signer: api.Signer, base: str, where: str, instance: str,
               what: str) -> tuple[str | None, str | None]:
    """(public, private) address of the instance's primary VNIC."""
    attached = api.list_all(signer, base, "vnicAttachments",
                            {"compartmentId": where, "instanceId": instance}, what)
    for attachment in attached:
        if attachment.get("lifecycleState") != "ATTACHED" or not attachment.get("vnicId"):
            continue
        vnic, _ = api.get(signer, f"{base}/{api.API_VERSION}/vnics/{attachment['vnicId']}",
                          what)
        if isinstance(vnic, dict) and vnic.get("isPrimary", True):
            return vnic.get("publicIp"), vnic.get("privateIp")
    return None, None
