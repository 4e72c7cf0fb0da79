"""The cluster's Droplets as DigitalOcean reports them (`GET /v2/droplets?tag_name=` the
cluster's tag): power state and addresses, for `stix status --refresh`. Plain REST with
the user's token; no SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stix.errors import StixError

if TYPE_CHECKING:
    from stix.clouds.base import NodePower, NodeState
    from stix.placement import Placement

API = "https://api.digitalocean.com/v2"
_POWER: dict[str, NodePower] = {"new": "pending", "active": "running", "off": "stopped",
                                "archive": "terminated"}
MAX_PAGES = 50


def _address(droplet: dict[str, Any], kind: str) -> str | None:
    networks = droplet.get("networks") if isinstance(droplet.get("networks"), dict) else {}
    for net in (networks or {}).get("v4") or []:
        if isinstance(net, dict) and net.get("type") == kind and net.get("ip_address"):
            return str(net["ip_address"])
    return None


def _rank(droplet: Any) -> int | None:
    """The node's rank, from the `stix-node-rank:<n>` tag the program gave it."""
    if not isinstance(droplet, dict):
        return None
    for text in droplet.get("tags") or []:
        key, _, value = str(text).partition(":")
        if key == "stix-node-rank" and value.isdigit():
            return int(value)
    return None


def node_states(placement: Placement, api: str = API) -> dict[str, NodeState]:
    from stix.clouds.base import NodeState
    from stix.clouds.common import node_name
    from stix.clouds.digitalocean.credentials import find_token
    from stix.clouds.digitalocean.program import tag
    from stix.clouds.rest import ApiError, call

    token, _ = find_token()
    if not token:
        raise StixError(f"cluster {placement.cluster}: no DigitalOcean API token to read its "
                        "Droplets with", hint="export DIGITALOCEAN_TOKEN=<token>")
    cluster_tag = tag("stix-cluster", placement.cluster)
    url: str | None = f"{api}/droplets?per_page=200&tag_name={cluster_tag}"
    found: dict[str, NodeState] = {}
    pages = 0
    while url and pages < MAX_PAGES:
        pages += 1
        try:
            _, _, body = call("GET", url, token, what="DigitalOcean GET /v2/droplets")
        except ApiError as exc:
            raise StixError(f"cluster {placement.cluster}: cannot read its Droplets: "
                            f"{exc.message}") from None
        body = body if isinstance(body, dict) else {}
        for droplet in body.get("droplets") or []:
            rank = _rank(droplet)
            if rank is None:
                continue
            power = _POWER.get(str(droplet.get("status")), "terminated")
            name = node_name(placement, rank)  # the Droplet's own name is a hostname
            found[name] = NodeState(name, power, _address(droplet, "public"),
                                    _address(droplet, "private"), str(droplet.get("id", "")))
        nxt = ((body.get("links") or {}).get("pages") or {}).get("next")
        url = nxt if isinstance(nxt, str) and nxt else None
    return {k: v for k, v in found.items() if v.power != "terminated"}
