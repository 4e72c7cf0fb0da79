"""GCP's and Azure's host-key readers, exercised without those clouds: a STAND-IN
(tests/http_support.py, a real HTTP server on loopback) answers with bodies written by
hand after the documented JSON of Compute Engine `instances.get`, `aggregated/instances`
and `instances.getSerialPortOutput`, and of ARM `virtualMachines` (get, list,
`retrieveBootDiagnosticsData`), `networkInterfaces` and `publicIPAddresses`; the serial
log it serves stands in for Azure's storage. The console text inside is cloud-init's own
(its `write-ssh-key-fingerprints` script, run here). What this proves is limited to the
requests stix makes and how it reads answers of those shapes, not that the clouds answer
so."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from http_support import StandIn
from test_remote_hostkeys import _connect, _new_key, _public, cloud_init_console

from stix.clouds import registry, rest
from stix.clouds.azure.hostkeys import boot_log_host_keys
from stix.clouds.gcp.hostkeys import serial_host_keys
from stix.errors import StixError
from stix.remote import hostkeys
from stix.remote.hostkeys import HostKeyError
from stix.remote.transport import NodeAddress


def _key(folder: Path, name: str) -> tuple[Path, str]:
    key = _new_key(folder, name)
    return key, _public(key)


def _node(source: str, host: str = "34.1.2.3", name: str = "web-0") -> NodeAddress:
    return NodeAddress(name, host, host_key_source=source, cluster="web")


def _serial(text: str) -> str:
    """A serial console carries CR LF line ends."""
    return text.replace("\n", "\r\n")


# -- GCP -----------------------------------------------------------------------------------

GCE = "/projects/p1/zones/us-central1-a/instances/web-0"


def _gce(status: str = "RUNNING", nat: str | None = "34.1.2.3",
         private: str = "10.128.0.2") -> dict[str, Any]:
    nic: dict[str, Any] = {"name": "nic0", "networkIP": private}
    if nat:
        nic["accessConfigs"] = [{"type": "ONE_TO_ONE_NAT", "name": "External NAT",
                                 "natIP": nat}]
    return {"kind": "compute#instance", "id": "4711", "name": "web-0", "status": status,
            "zone": ".../zones/us-central1-a", "networkInterfaces": [nic]}


def _serial_port(pages: list[tuple[int, str]]) -> Any:
    """serialPort answers: `pages` are (start, contents); a start past the end is empty."""
    def answer(_path: str, query: dict[str, list[str]]) -> Any:
        asked = int(query.get("start", ["0"])[0])
        for start, contents in pages:
            if start >= asked:
                return 200, {}, {"kind": "compute#serialPortOutput", "contents": contents,
                                 "start": str(start), "next": str(start + len(contents))}
        end = pages[-1][0] + len(pages[-1][1])
        return 200, {}, {"kind": "compute#serialPortOutput", "contents": "",
                         "start": str(end), "next": str(end)}
    return answer


def test_gcp_keys_from_the_instance_in_the_recorded_zone(stand_in: StandIn,
                                                         tmp_path: Path) -> None:
    key, line = _key(tmp_path, "host")
    stand_in.routes[("GET", GCE)] = (200, {}, _gce())
    console = _serial(cloud_init_console(tmp_path, key))
    stand_in.routes[("GET", f"{GCE}/serialPort")] = _serial_port([(0, console)])
    node = _node("gcp/us-central1/us-central1-a/p1")
    assert serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                            node) == [line]
    assert stand_in.paths("GET") == [GCE, f"{GCE}/serialPort", f"{GCE}/serialPort"]
    port = stand_in.calls[1][2]
    assert port["port"] == ["1"] and port["start"] == ["0"]
    assert stand_in.calls[2][2]["start"] == [str(len(console))]
    assert stand_in.headers[0]["Authorization"] == "Bearer tok"
    # The private address is the node's address too (private clusters).
    assert serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                            _node("gcp/us-central1", "10.128.0.2")) == [line]


def test_gcp_serial_output_is_read_page_after_page(stand_in: StandIn, tmp_path: Path) -> None:
    key, line = _key(tmp_path, "host")
    console = _serial(cloud_init_console(tmp_path, key))
    middle = console.index(hostkeys.BEGIN_KEYS) + 10  # the block spans two pages
    stand_in.routes[("GET", GCE)] = (200, {}, _gce())
    stand_in.routes[("GET", f"{GCE}/serialPort")] = _serial_port(
        [(0, console[:middle]), (middle, console[middle:])])
    assert serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                            _node("gcp/us-central1")) == [line]
    starts = [q["start"] for m, p, q in stand_in.calls if p.endswith("/serialPort")]
    assert starts == [["0"], [str(middle)], [str(len(console))]]


def test_gcp_output_dropped_between_pages_breaks_the_text(stand_in: StandIn,
                                                          tmp_path: Path) -> None:
    key, _ = _key(tmp_path, "host")
    console = _serial(cloud_init_console(tmp_path, key))
    middle = console.index(hostkeys.BEGIN_KEYS) + 10
    # The buffer moved on: the second page starts later than asked, mid-block.
    stand_in.routes[("GET", GCE)] = (200, {}, _gce())
    stand_in.routes[("GET", f"{GCE}/serialPort")] = _serial_port(
        [(0, console[:middle]), (middle + 40, console[middle + 40:])])
    assert serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                            _node("gcp/us-central1")) == []


def test_gcp_not_printed_yet_or_not_there_yet_is_empty(stand_in: StandIn) -> None:
    stand_in.routes[("GET", GCE)] = (200, {}, _gce())
    stand_in.routes[("GET", f"{GCE}/serialPort")] = _serial_port(
        [(0, _serial("[    1.0] Booting...\n" + hostkeys.BEGIN_KEYS + "\n"))])
    node = _node("gcp/us-central1")
    assert serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                            node) == []
    stand_in.routes[("GET", GCE)] = (200, {}, _gce(status="STAGING"))
    stand_in.routes[("GET", f"{GCE}/serialPort")] = _serial_port([(0, "")])
    assert serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                            node) == []
    del stand_in.routes[("GET", GCE)]  # 404: not created yet
    assert serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                            node) == []


def test_gcp_an_instance_holding_another_address_is_not_the_node(stand_in: StandIn,
                                                                 tmp_path: Path) -> None:
    key, _ = _key(tmp_path, "host")
    stand_in.routes[("GET", GCE)] = (200, {}, _gce(nat="35.9.9.9"))
    stand_in.routes[("GET", f"{GCE}/serialPort")] = _serial_port(
        [(0, cloud_init_console(tmp_path, key))])
    with pytest.raises(StixError) as err:
        serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                         _node("gcp/us-central1"))
    assert "holds 35.9.9.9, 10.128.0.2, not 34.1.2.3" in err.value.message
    assert "stix refresh web" in str(err.value.hint)
    assert stand_in.paths("GET") == [GCE]  # its console was never read


def test_gcp_zone_found_by_the_aggregated_list_for_older_records(stand_in: StandIn,
                                                                 tmp_path: Path) -> None:
    key, line = _key(tmp_path, "host")
    here = "/projects/p1/zones/us-central1-b/instances/web-0"
    elsewhere = {**_gce(nat="34.1.2.3"), "zone": ".../zones/europe-west1-b"}
    pages: Iterator[Any] = iter([
        (200, {}, {"kind": "compute#instanceAggregatedList", "items": {
            "zones/europe-west1-b": {"instances": [elsewhere]},
            "zones/us-central1-a": {"warning": {"code": "NO_RESULTS_ON_PAGE"}},
        }, "nextPageToken": "t2"}),
        (200, {}, {"items": {"zones/us-central1-b": {"instances": [
            _gce(status="TERMINATED", nat=None), _gce()]}}}),
    ])
    stand_in.routes[("GET", "/projects/p1/aggregated/instances")] = lambda _p, _q: next(pages)
    stand_in.routes[("GET", f"{here}/serialPort")] = _serial_port(
        [(0, cloud_init_console(tmp_path, key))])
    assert serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "",
                            _node("gcp/us-central1")) == [line]
    first, second = stand_in.calls[0][2], stand_in.calls[1][2]
    assert first["filter"] == ["name=web-0"] and "pageToken" not in first
    assert second["pageToken"] == ["t2"]
    assert stand_in.paths("GET")[2] == f"{here}/serialPort"


def test_gcp_a_refused_call_is_one_readable_error(stand_in: StandIn) -> None:
    stand_in.routes[("GET", GCE)] = (200, {}, _gce())
    stand_in.routes[("GET", f"{GCE}/serialPort")] = (403, {}, {"error": {
        "code": 403, "message": "Required 'compute.instances.getSerialPortOutput' permission",
        "errors": [{"reason": "forbidden"}]}})
    with pytest.raises(rest.ApiError) as err:
        serial_host_keys(stand_in.url, "tok", "p1", "us-central1", "us-central1-a",
                         _node("gcp/us-central1"))
    assert err.value.status == 403
    assert err.value.message.startswith("(web-0, 34.1.2.3) cannot read the instance's serial")
    assert "HTTP 403" in err.value.message and "getSerialPortOutput" in err.value.message
    assert "in project p1" in str(err.value.hint)


def test_gcp_reader_uses_the_zone_and_project_the_record_names(
        stand_in: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from stix.clouds.gcp import hostkeys as gcp_keys

    key, line = _key(tmp_path, "host")
    other = "/projects/p9/zones/us-central1-a/instances/web-0"
    stand_in.routes[("GET", other)] = (200, {}, _gce())
    stand_in.routes[("GET", f"{other}/serialPort")] = _serial_port(
        [(0, cloud_init_console(tmp_path, key))])
    monkeypatch.setattr(gcp_keys, "_bearer", lambda: "tok")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p1")
    node = _node("gcp/us-central1/us-central1-a/p9")
    assert gcp_keys.console_host_keys("us-central1", node, base=stand_in.url) == [line]
    stand_in.calls.clear()  # no project in the record: the credentials' one
    assert gcp_keys.console_host_keys("us-central1", _node("gcp/us-central1/us-central1-a"),
                                      base=stand_in.url) == []
    assert stand_in.paths("GET") == [GCE]


# -- Azure ---------------------------------------------------------------------------------

SUB = "/subscriptions/s1"
GROUP = f"{SUB}/resourceGroups/stix-web"
VM = f"{GROUP}/providers/Microsoft.Compute/virtualMachines/web-0"
NIC = f"{GROUP}/providers/Microsoft.Network/networkInterfaces/web-0-nic"
PIP = f"{GROUP}/providers/Microsoft.Network/publicIPAddresses/web-0-ip"
BLOB = "/bootdiagnostics-web0-1234/web-0.1234.serialconsole.log"


def _vm(vm_id: str = VM, nic: str = NIC, cluster: str = "web") -> dict[str, Any]:
    return {"name": vm_id.rsplit("/", 1)[1], "id": vm_id, "location": "eastus",
            "type": "Microsoft.Compute/virtualMachines", "tags": {"stix-cluster": cluster},
            "properties": {"provisioningState": "Succeeded",
                           "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
                           "networkProfile": {"networkInterfaces": [
                               {"id": nic, "properties": {"primary": True}}]}}}


def _nic(nic: str = NIC, pip: str | None = PIP, private: str = "10.0.1.4") -> dict[str, Any]:
    props: dict[str, Any] = {"privateIPAddress": private,
                             "privateIPAllocationMethod": "Dynamic", "primary": True}
    if pip:
        props["publicIPAddress"] = {"id": pip}
    return {"name": nic.rsplit("/", 1)[1], "id": nic, "properties": {
        "ipConfigurations": [{"name": "ipconfig", "id": f"{nic}/ipConfigurations/ipconfig",
                              "properties": props}],
        "virtualMachine": {"id": VM}}}


def _pip(pip: str = PIP, address: str = "20.1.2.3") -> dict[str, Any]:
    return {"name": pip.rsplit("/", 1)[1], "id": pip, "properties": {
        "ipAddress": address, "publicIPAllocationMethod": "Static",
        "ipConfiguration": {"id": f"{NIC}/ipConfigurations/ipconfig"}}}


def _azure(stand_in: StandIn, console: bytes | None, *, address: str = "20.1.2.3") -> None:
    stand_in.routes[("GET", VM)] = (200, {}, _vm())
    stand_in.routes[("GET", NIC)] = (200, {}, _nic())
    stand_in.routes[("GET", PIP)] = (200, {}, _pip(address=address))
    stand_in.routes[("POST", f"{VM}/retrieveBootDiagnosticsData")] = (200, {}, {
        "consoleScreenshotBlobUri": f"{stand_in.url}/shot.bmp?sig=s",
        "serialConsoleLogBlobUri": f"{stand_in.url}{BLOB}?sv=2021&sr=b&sp=r&sig=secret"})
    if console is not None:
        stand_in.routes[("GET", BLOB)] = (200, {}, console)


def test_azure_keys_from_the_boot_diagnostics_serial_log(stand_in: StandIn,
                                                        tmp_path: Path) -> None:
    key, line = _key(tmp_path, "host")
    _azure(stand_in, _serial(cloud_init_console(tmp_path, key)).encode())
    node = _node("azure/eastus/stix-web", "20.1.2.3")
    assert boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web", node) == [line]
    assert [(m, p) for m, p, _ in stand_in.calls] == [
        ("GET", VM), ("GET", NIC), ("GET", PIP),
        ("POST", f"{VM}/retrieveBootDiagnosticsData"), ("GET", BLOB)]
    action = stand_in.calls[3][2]
    assert action["sasUriExpirationTimeInMinutes"] == ["5"] and action["api-version"]
    assert stand_in.calls[4][2]["sig"] == ["secret"]
    assert all(h["Authorization"] == "Bearer tok" for h in stand_in.headers[:4])
    assert "Authorization" not in stand_in.headers[4]  # the token never goes to storage
    # A private node is matched by the NIC's own address.
    assert boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web",
                              _node("azure/eastus/stix-web", "10.0.1.4")) == [line]


def test_azure_not_printed_yet_is_empty(stand_in: StandIn) -> None:
    node = _node("azure/eastus/stix-web", "20.1.2.3")
    _azure(stand_in, None)  # the log blob is not written yet (404)
    assert boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web", node) == []
    _azure(stand_in, b"[    0.000000] Linux version 6.5.0-1025-azure\r\n")
    assert boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web", node) == []
    stand_in.routes[("POST", f"{VM}/retrieveBootDiagnosticsData")] = (200, {}, {})
    assert boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web", node) == []
    del stand_in.routes[("GET", VM)]  # 404: not created yet
    stand_in.calls.clear()
    assert boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web", node) == []
    assert stand_in.paths("POST") == []


def test_azure_a_vm_holding_another_address_is_not_the_node(stand_in: StandIn,
                                                           tmp_path: Path) -> None:
    key, _ = _key(tmp_path, "host")
    _azure(stand_in, cloud_init_console(tmp_path, key).encode(), address="20.9.9.9")
    with pytest.raises(StixError) as err:
        boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web",
                           _node("azure/eastus/stix-web", "20.1.2.3"))
    assert "holds 10.0.1.4, 20.9.9.9, not 20.1.2.3" in err.value.message
    assert stand_in.paths("POST") == []  # its log was never asked for


def test_azure_vm_found_in_the_subscription_for_older_records(stand_in: StandIn,
                                                             tmp_path: Path) -> None:
    key, line = _key(tmp_path, "host")
    _azure(stand_in, cloud_init_console(tmp_path, key).encode())
    listing = f"{SUB}/providers/Microsoft.Compute/virtualMachines"
    theirs = "/subscriptions/s1/resourceGroups/g2/providers/Microsoft.Compute/virtualMachines/web-0"
    pages: Iterator[Any] = iter([
        (200, {}, {"value": [_vm(theirs, cluster="someone-else")],
                   "nextLink": f"{stand_in.url}{listing}?api-version=x&$skiptoken=2"}),
        (200, {}, {"value": [_vm()]}),
    ])
    stand_in.routes[("GET", listing)] = lambda _p, _q: next(pages)
    assert boot_log_host_keys(stand_in.url, "tok", "s1", "",
                              _node("azure/eastus", "20.1.2.3")) == [line]
    assert stand_in.paths("GET")[:3] == [listing, listing, NIC]
    assert stand_in.calls[1][2]["$skiptoken"] == ["2"]


def test_azure_a_refused_call_is_one_readable_error(stand_in: StandIn) -> None:
    _azure(stand_in, None)
    stand_in.routes[("POST", f"{VM}/retrieveBootDiagnosticsData")] = (403, {}, {"error": {
        "code": "AuthorizationFailed", "message": "The client does not have authorization "
        "to perform action 'Microsoft.Compute/virtualMachines/retrieveBootDiagnosticsData/"
        "action'"}})
    with pytest.raises(rest.ApiError) as err:
        boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web",
                           _node("azure/eastus/stix-web", "20.1.2.3"))
    assert err.value.status == 403
    assert err.value.message.startswith("(web-0, 20.1.2.3) cannot read the VM's boot diag")
    assert "AuthorizationFailed" in err.value.message
    assert "boot diagnostics" in str(err.value.hint)
    stand_in.routes[("POST", f"{VM}/retrieveBootDiagnosticsData")] = (200, {}, {
        "serialConsoleLogBlobUri": f"{stand_in.url}{BLOB}?sig=secret"})
    stand_in.routes[("GET", BLOB)] = (403, {}, b"<Error><Code>AuthenticationFailed</Code>"
                                               b"</Error>")
    with pytest.raises(rest.ApiError) as err:
        boot_log_host_keys(stand_in.url, "tok", "s1", "stix-web",
                           _node("azure/eastus/stix-web", "20.1.2.3"))
    assert "download the serial log of web-0: HTTP 403" in err.value.message
    assert "secret" not in str(err.value)


def test_azure_serial_log_only_over_tls_when_the_api_is() -> None:
    from stix.clouds.azure.hostkeys import _over_tls

    with pytest.raises(StixError, match="not HTTPS"):
        _over_tls("https://management.azure.com", "http://md-x.blob.core/log?sig=s", "web-0")
    _over_tls("https://management.azure.com", "https://md-x.blob.core/log?sig=s", "web-0")
    _over_tls("http://127.0.0.1:8080", "http://127.0.0.1:8080/log", "web-0")


# -- what the records hold, and how stix reads them ----------------------------------------


def test_each_cloud_records_what_finds_the_node_again() -> None:
    from stack_support import placement

    from stix.cluster.stacks import nodes_from_outputs

    outputs = {"nodes": [{"name": "t-0", "public_ip": "1.2.3.4"}], "resource_group": "rg1"}
    cases = [
        (placement("aws", "m5.large", region="us-east-1", zone="us-east-1a"), "aws/us-east-1"),
        (placement("gcp", "n2-standard-8", region="us-central1", zone="us-central1-a"),
         "gcp/us-central1/us-central1-a"),
        (placement("gcp", "n2-standard-8", region="us-central1", zone="us-central1-a",
                   extra={"project": "p9"}), "gcp/us-central1/us-central1-a/p9"),
        (placement("azure", "Standard_D8s_v5", region="eastus"), "azure/eastus/rg1"),
    ]
    for p, want in cases:
        [node] = nodes_from_outputs(outputs, p)
        assert node.host_key_source == want
    azure = placement("azure", "Standard_D8s_v5", region="eastus")
    assert registry.cloud("azure").host_key_source(azure, {}) == "azure/eastus/stix-t"


def test_without_the_auth_library_stix_says_why_and_trusts_first_use(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    if importlib.util.find_spec("google") and importlib.util.find_spec("google.auth"):
        pytest.skip("google-auth is installed here")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p1")
    node = _node("gcp/us-central1/us-central1-a")
    assert asyncio.run(hostkeys.from_cloud(node)) is None
    err = capfd.readouterr().err
    assert "web-0 (34.1.2.3): stix reads GCP host keys from the serial port output with " \
           "google-auth, which is not installed (pip install google-auth requests)" in err


# -- end to end: a real sshd node whose cloud is the stand-in ------------------------------


@pytest.mark.sshd
@pytest.mark.parametrize("cloud", ["gcp", "azure"])
def test_the_node_key_is_pinned_from_its_console_and_an_intruder_refused(
        cloud: str, sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any,
        stand_in: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """The whole path (first pin, a presented key the console does not show, a replaced
    instance) with the cloud's reader sent to the stand-in instead of the cloud's API and
    given a dummy token."""
    import importlib

    node = sshd_nodes(1)[0]
    plain = node.address(sshd_hosts.key)
    reader = importlib.import_module(f"stix.clouds.{cloud}.hostkeys")
    monkeypatch.setattr(reader, "_bearer", lambda: "tok")
    monkeypatch.setattr(registry.cloud(cloud), "host_keys", lambda region, n: (
        reader.console_host_keys(region, n, base=stand_in.url)))
    if cloud == "gcp":
        where = "gcp/us-central1/us-central1-a/p1"
        stand_in.routes[("GET", GCE)] = (200, {}, _gce(nat=plain.host))
        log = f"{GCE}/serialPort"

        def console(text: str) -> None:
            stand_in.routes[("GET", log)] = _serial_port([(0, _serial(text))])
    else:
        monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "s1")
        where = "azure/eastus/stix-web"
        _azure(stand_in, None, address=plain.host)

        def console(text: str) -> None:
            stand_in.routes[("GET", BLOB)] = (200, {}, _serial(text).encode())
    alias = hostkeys.cloud_alias("web", "web-0", plain.host)
    address = NodeAddress("web-0", plain.host, plain.port, plain.user, plain.identity_file,
                          host_key_alias=alias, host_key_source=where, cluster="web")

    console(cloud_init_console(tmp_path, sshd_hosts.host_key))
    _connect(address)
    assert hostkeys.pinned(alias) == [_public(sshd_hosts.host_key)]
    assert f"from the {where} console output" in hostkeys.known_hosts_path().read_text()

    node.use_host_key(_new_key(tmp_path, "intruder"))  # the console does not show it
    with pytest.raises(HostKeyError) as err:
        _connect(address)
    assert f"which {where} does not report for this node" in err.value.message
    assert hostkeys.pinned(alias) == [_public(sshd_hosts.host_key)]

    console(cloud_init_console(tmp_path, tmp_path / "intruder"))  # the instance was replaced
    capfd.readouterr()
    _connect(address)
    assert f"has a new host key, confirmed by {where}" in capfd.readouterr().err
    assert hostkeys.pinned(alias) == [_public(tmp_path / "intruder")]
