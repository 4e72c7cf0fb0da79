"""A node's SSH host keys from Compute Engine's serial port output (port 1), or a TPU
VM's from its guest attributes (`guest_host_keys`).

cloud-init prints the keys the instance made at first boot between `-----BEGIN SSH HOST
KEY KEYS-----` and `-----END ...-----` on ttyS0, which is serial port 1; Compute Engine
keeps the last megabyte of it and hands it over the authenticated API, which no one on the
network path to the node can forge. The instance is the node's name (its instance name)
in the zone the node's record names (`gcp/<region>/<zone>[/<project>]`; a record made
before zones were recorded names only the region, and the aggregated list finds the zone),
and it must be live and hold the node's address. REST with a google-auth token; without
google-auth, stix trusts the key on first use and says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from stix.clouds import rest
from stix.clouds.gcp.nodes import API, TPU_API
from stix.errors import StixError

if TYPE_CHECKING:
    from stix.placement import Placement
    from stix.remote.transport import NodeAddress

_LIVE = ("PROVISIONING", "STAGING", "RUNNING", "REPAIRING")
_PERMISSIONS = "compute.instances.get (or .list) and compute.instances.getSerialPortOutput"
_MAX_PAGES = 32  # the API keeps 1 MB; this bounds a misbehaving `next`


def source(placement: Placement, project: str | None) -> str:
    """`gcp/<region>/<zone>[/<project>]`: the project only when the stack names one (else
    the credentials' project, as for the node states); `/tpu` after it for a TPU VM."""
    from stix.clouds.gcp.tpu import is_tpu

    parts = ["gcp", placement.region, placement.zone or "", project or ""]
    if placement.accelerator is not None and is_tpu(placement.accelerator.name):
        return "/".join([*parts, "tpu"])
    return "/".join(parts).rstrip("/")


def console_host_keys(region: str, node: NodeAddress, *, base: str = API,
                      tpu_base: str = TPU_API) -> list[str]:
    """Keys in the serial port output of the instance named `node.name` holding
    `node.host`; [] while not printed. Raises NoConsoleReader without google-auth."""
    from stix.clouds.gcp.credentials import find_sources

    parts = (node.host_key_source or "").split("/")
    zone = parts[2] if len(parts) > 2 else ""
    project = (parts[3] if len(parts) > 3 else "") or find_sources()[2]
    if not project:
        raise StixError(f"({node.name}, {node.host}) no GCP project to read the instance's "
                        "serial port output from, to verify its host key",
                        hint="set GOOGLE_CLOUD_PROJECT")
    if len(parts) > 4 and parts[4] == "tpu":
        return guest_host_keys(tpu_base,
                               _bearer("https://www.googleapis.com/auth/cloud-platform"),
                               project, zone, node)
    return serial_host_keys(base, _bearer(), project, region, zone, node)


def guest_host_keys(base: str, bearer: str, project: str, zone: str,
                    node: NodeAddress) -> list[str]:
    """A TPU VM's keys, which its guest agent publishes as guest attributes (`hostkeys/`),
    read through the TPU API (`base`) once the VM is READY and holds the node's address
    ([] before). A TPU VM has no serial port output stix can read."""
    url = f"{base}/projects/{quote(project)}/locations/{quote(zone)}/nodes/{quote(node.name)}"
    try:
        try:
            _, _, item = rest.call("GET", url, bearer, what=f"get TPU VM {node.name}")
        except rest.ApiError as exc:
            if exc.status == 404:
                return []
            raise
        item = item or {}
        if item.get("state") != "READY":
            return []
        held = [str(e.get("ipAddress")) for e in item.get("networkEndpoints") or []] + [
            str((e.get("accessConfig") or {}).get("externalIp"))
            for e in item.get("networkEndpoints") or []]
        if node.host not in held:
            raise StixError(f"({node.name}) TPU VM {node.name} holds "
                            f"{', '.join(h for h in held if h != 'None') or 'no address'}, "
                            f"not {node.host}: stix trusts no host key there",
                            hint=f"`stix refresh {node.cluster or '<cluster>'}` reads the "
                            "nodes' addresses again")
        _, _, got = rest.call("POST", f"{url}:getGuestAttributes", bearer,
                              {"queryPath": "hostkeys/"},
                              what=f"read the guest attributes of {node.name}")
    except rest.ApiError as exc:
        raise rest.ApiError(f"({node.name}, {node.host}) cannot read the TPU VM's guest "
                            f"attributes to verify its host key: {exc.message}", exc.status,
                            hint="stix needs tpu.nodes.get and tpu.nodes.getGuestAttributes "
                            f"in project {project}") from None
    keys = []
    for attrs in (got or {}).get("guestAttributes") or []:
        if str(attrs.get("workerId", "0")) != "0":
            continue
        for entry in (attrs.get("queryValue") or {}).get("items") or []:
            if entry.get("namespace") == "hostkeys" and entry.get("key") and entry.get("value"):
                keys.append(f"{entry['key']} {entry['value']}")
    return keys


def _bearer(scope: str = "https://www.googleapis.com/auth/compute") -> str:
    from stix.clouds.gcp.nodes import token
    from stix.remote.hostkeys import NoConsoleReader

    try:
        import google.auth.transport.requests  # noqa: F401  (what `token` needs)
    except ImportError:
        raise NoConsoleReader("stix reads GCP host keys from the serial port output with "
                              "google-auth, which is not installed",
                              hint="pip install google-auth requests") from None
    return token(scope)


def serial_host_keys(base: str, bearer: str, project: str, region: str, zone: str,
                     node: NodeAddress) -> list[str]:
    """The keys the instance printed ([] while it has not), read from `base` (the
    Compute Engine v1 API); `zone` empty: searched in the region's zones."""
    from stix.remote.hostkeys import keys_from_console

    where = f"{base}/projects/{quote(project)}"
    try:
        found = _instance(where, bearer, region, zone, node)
        if found is None:
            return []
        text = _serial_output(f"{where}/zones/{quote(found)}/instances/{quote(node.name)}",
                              bearer, node.name)
    except rest.ApiError as exc:
        raise rest.ApiError(f"({node.name}, {node.host}) cannot read the instance's serial "
                            f"port output to verify its host key: {exc.message}",
                            exc.status, hint=f"stix needs {_PERMISSIONS} in project "
                            f"{project}") from None
    return keys_from_console(text)


def _instance(where: str, bearer: str, region: str, zone: str,
              node: NodeAddress) -> str | None:
    """The zone of the live instance named as the node that holds its address; None when
    there is none (yet); an error when the name is taken by an instance elsewhere."""
    found: list[tuple[str, dict[str, Any]]] = []
    if zone:
        url = f"{where}/zones/{quote(zone)}/instances/{quote(node.name)}"
        try:
            _, _, item = rest.call("GET", url, bearer, what=f"get instance {node.name}")
        except rest.ApiError as exc:
            if exc.status != 404:
                raise
            item = None
        found = [(zone, item)] if item else []
    else:
        found = _search(where, bearer, region, node.name)
    live = [(z, i) for z, i in found if i.get("status") in _LIVE]
    holding = [z for z, i in live if node.host in _addresses(i)]
    if len(holding) > 1:
        raise StixError(f"({node.name}) {len(holding)} live instances named {node.name} hold "
                        f"{node.host}; stix cannot tell which one is the node")
    if holding:
        return holding[0]
    if live:
        z, item = live[0]
        held = ", ".join(_addresses(item)) or "no address"
        raise StixError(f"({node.name}) instance {node.name} in {z} holds {held}, not "
                        f"{node.host}: stix cannot tell which machine answers at {node.host}, "
                        "and trusts no host key there",
                        hint=f"`stix refresh {node.cluster or '<cluster>'}` reads the nodes' "
                        "addresses again")
    return None


def _search(where: str, bearer: str, region: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    """Instances named `name` in the region's zones (aggregated list, every page)."""
    first = f"{where}/aggregated/instances?filter={quote(f'name={name}')}"
    found: list[tuple[str, dict[str, Any]]] = []
    url = first
    while url:
        _, _, page = rest.call("GET", url, bearer, what=f"find instance {name}")
        for key, scoped in ((page or {}).get("items") or {}).items():
            zone = str(key).removeprefix("zones/")
            if not zone.startswith(f"{region}-"):
                continue
            found += [(zone, i) for i in (scoped or {}).get("instances") or []
                      if i.get("name") == name]
        more = (page or {}).get("nextPageToken")
        url = f"{first}&pageToken={quote(more)}" if more else ""
    return found


def _addresses(item: dict[str, Any]) -> list[str]:
    out = []
    for nic in item.get("networkInterfaces") or []:
        out += [a["natIP"] for a in nic.get("accessConfigs") or [] if a.get("natIP")]
        if nic.get("networkIP"):
            out.append(str(nic["networkIP"]))
    return out


def _serial_output(instance_url: str, bearer: str, name: str) -> str:
    """Serial port 1 from its oldest kept byte on, page after page (`start` = the last
    `next`) until a page brings nothing new. Output the buffer dropped between two pages
    breaks the text: only what follows the gap is kept."""
    pieces: list[str] = []
    start = 0
    for _ in range(_MAX_PAGES):
        _, _, page = rest.call("GET", f"{instance_url}/serialPort?port=1&start={start}",
                               bearer, what=f"read the serial port output of {name}")
        page = page or {}
        if _position(page.get("start"), start) != start:
            pieces.clear()
        contents = str(page.get("contents") or "")
        following = _position(page.get("next"), start)
        if contents:
            pieces.append(contents)
        if not contents or following <= start:
            break
        start = following
    return "".join(pieces)


def _position(value: Any, default: int) -> int:
    """A byte position (int64, which the JSON API writes as a string)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
