"""A node's SSH host keys from the VM's boot diagnostics serial log.

cloud-init prints the keys the VM made at first boot between `-----BEGIN SSH HOST KEY
KEYS-----` and `-----END ...-----` on ttyS0; with boot diagnostics on (the stack turns
them on, in managed storage) Azure keeps that serial output, and
`retrieveBootDiagnosticsData` hands over a short-lived read-only (SAS) URL to it through
the authenticated API. The log is then fetched over TLS from Azure's storage with that URL
alone: the bearer token never goes to the storage host. The VM is the one named as the
node in the resource group the node's record names (`azure/<region>/<group>`; an older
record names only the region, and the subscription's VM list finds it), and it must hold
the node's address. REST with an azure-identity token; without azure-identity, stix
trusts the key on first use and says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from stix.clouds import rest
from stix.clouds.azure.power import ARM
from stix.errors import StixError

if TYPE_CHECKING:
    from stix.placement import Placement
    from stix.remote.transport import NodeAddress

COMPUTE_API = "2024-07-01"
NETWORK_API = "2024-05-01"
SAS_MINUTES = 5
_PERMISSIONS = ("Microsoft.Compute/virtualMachines/read and "
                "Microsoft.Compute/virtualMachines/retrieveBootDiagnosticsData/action, "
                "Microsoft.Network/networkInterfaces/read, "
                "Microsoft.Network/publicIPAddresses/read")


def source(placement: Placement, outputs: dict[str, Any]) -> str:
    """`azure/<region>/<resource group>` (the group the stack made or was given)."""
    from stix.clouds.azure.options import AzureOptions
    from stix.clouds.common import options

    group = (outputs.get("resource_group") or options(placement, AzureOptions).resource_group
             or f"stix-{placement.cluster}")
    return f"azure/{placement.region}/{group}"


def console_host_keys(region: str, node: NodeAddress, *, base: str = ARM) -> list[str]:
    """Keys in the serial log of the VM named `node.name` holding `node.host`; [] while
    not printed. Raises NoConsoleReader without azure-identity."""
    from stix.clouds.azure.credentials import find_sources

    parts = (node.host_key_source or "").split("/", 2)
    group = parts[2] if len(parts) > 2 else ""
    subscription = find_sources()[2]
    if not subscription:
        raise StixError(f"({node.name}, {node.host}) no Azure subscription to read the VM's "
                        "boot diagnostics from, to verify its host key",
                        hint="set AZURE_SUBSCRIPTION_ID")
    return boot_log_host_keys(base, _bearer(), subscription, group, node)


def _bearer() -> str:
    from stix.clouds.azure.power import token
    from stix.remote.hostkeys import NoConsoleReader

    try:
        import azure.identity  # noqa: F401
    except ImportError:
        raise NoConsoleReader("stix reads Azure host keys from the boot diagnostics log "
                              "with azure-identity, which is not installed",
                              hint="pip install azure-identity") from None
    return token()


def boot_log_host_keys(base: str, bearer: str, subscription: str, group: str,
                       node: NodeAddress) -> list[str]:
    """The keys the VM printed ([] while it has not), through the ARM API at `base`;
    `group` empty: the VM is looked for in the whole subscription."""
    from stix.remote.hostkeys import keys_from_console

    try:
        vm = _vm(base, bearer, subscription, group, node)
        if vm is None:
            return []
        uri = _serial_log_uri(base, bearer, vm, node.name)
        if not uri:
            return []
        _over_tls(base, uri, node.name)
        try:
            text = rest.fetch_text(uri, what=f"download the serial log of {node.name}")
        except rest.ApiError as exc:
            if exc.status != 404:  # 404: the log is not written yet
                raise
            return []
    except rest.ApiError as exc:
        raise rest.ApiError(f"({node.name}, {node.host}) cannot read the VM's boot "
                            f"diagnostics to verify its host key: {exc.message}", exc.status,
                            hint=f"stix needs {_PERMISSIONS}; the VM needs boot diagnostics "
                            "on, which the stack sets (`stix up` turns them on for a cluster "
                            "made before)") from None
    return keys_from_console(text)


def _vm(base: str, bearer: str, subscription: str, group: str,
        node: NodeAddress) -> dict[str, Any] | None:
    """The VM named as the node that holds its address; None when there is none (yet);
    an error when the name is taken by a VM elsewhere."""
    found = _named(base, bearer, subscription, group, node)
    held = [(vm, _addresses(base, bearer, vm)) for vm in found]
    holding = [vm for vm, addresses in held if node.host in addresses]
    if len(holding) > 1:
        raise StixError(f"({node.name}) {len(holding)} VMs named {node.name} hold "
                        f"{node.host}; stix cannot tell which one is the node")
    if holding:
        return holding[0]
    if held:
        vm, addresses = held[0]
        raise StixError(f"({node.name}) VM {vm.get('id', node.name)} holds "
                        f"{', '.join(addresses) or 'no address'}, not {node.host}: stix cannot "
                        f"tell which machine answers at {node.host}, and trusts no host key "
                        "there", hint=f"`stix refresh {node.cluster or '<cluster>'}` reads "
                        "the nodes' addresses again")
    return None


def _named(base: str, bearer: str, subscription: str, group: str,
           node: NodeAddress) -> list[dict[str, Any]]:
    compute = f"{base}/subscriptions/{quote(subscription)}"
    if group:
        url = (f"{compute}/resourceGroups/{quote(group)}/providers/Microsoft.Compute/"
               f"virtualMachines/{quote(node.name)}?api-version={COMPUTE_API}")
        try:
            _, _, vm = rest.call("GET", url, bearer, what=f"get VM {node.name}")
        except rest.ApiError as exc:
            if exc.status != 404:
                raise
            return []
        return [vm] if vm else []
    url = f"{compute}/providers/Microsoft.Compute/virtualMachines?api-version={COMPUTE_API}"
    found = []
    while url:
        _, _, page = rest.call("GET", url, bearer, what=f"find VM {node.name}")
        for vm in (page or {}).get("value") or []:
            tag = (vm.get("tags") or {}).get("stix-cluster")
            if vm.get("name") == node.name and (node.cluster is None or tag == node.cluster):
                found.append(vm)
        url = (page or {}).get("nextLink") or ""
    return found


def _addresses(base: str, bearer: str, vm: dict[str, Any]) -> list[str]:
    """The private and public addresses of the VM's network interfaces."""
    out = []
    profile = (vm.get("properties") or {}).get("networkProfile") or {}
    for ref in profile.get("networkInterfaces") or []:
        _, _, nic = rest.call("GET", f"{base}{quote(ref['id'])}?api-version={NETWORK_API}",
                              bearer, what=f"read network interface {ref['id']}")
        for cfg in ((nic or {}).get("properties") or {}).get("ipConfigurations") or []:
            props = cfg.get("properties") or {}
            if props.get("privateIPAddress"):
                out.append(str(props["privateIPAddress"]))
            public = (props.get("publicIPAddress") or {}).get("id")
            if public:
                _, _, pip = rest.call("GET", f"{base}{quote(public)}?api-version={NETWORK_API}",
                                      bearer, what=f"read public IP {public}")
                address = ((pip or {}).get("properties") or {}).get("ipAddress")
                if address:
                    out.append(str(address))
    return out


def _over_tls(base: str, uri: str, name: str) -> None:
    """Refuse a log URL without TLS (whoever is on the path could write the keys) unless
    the API itself is reached without it (a loopback stand-in)."""
    if base.lower().startswith("https:") and not uri.lower().startswith("https:"):
        raise StixError(f"({name}) Azure gave a serial log URL that is not HTTPS; stix reads "
                        "host keys only over TLS")


def _serial_log_uri(base: str, bearer: str, vm: dict[str, Any], name: str) -> str:
    url = (f"{base}{quote(str(vm['id']))}/retrieveBootDiagnosticsData"
           f"?api-version={COMPUTE_API}&sasUriExpirationTimeInMinutes={SAS_MINUTES}")
    _, _, reply = rest.call("POST", url, bearer, what=f"retrieve boot diagnostics of {name}")
    return str((reply or {}).get("serialConsoleLogBlobUri") or "")
