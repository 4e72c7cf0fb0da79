"""OCI node states through signed REST calls, against a local HTTP stand-in for OCI's
Core Services API (ListInstances, ListVnicAttachments, GetVnic, `opc-next-page` paging,
JSON error bodies with `code` and `message`) that checks each request's signature with the
public half of a key made here — a stand-in following the documented API, not OCI."""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from stix.clouds.oci import api, nodes
from stix.errors import StixError
from stix.placement import Placement

COMPARTMENT = "ocid1.compartment.oc1..aaaatest"
KEY_ID = "ocid1.tenancy.oc1..ten/ocid1.user.oc1..me/aa:bb"
INSTANCES = [
    [{"id": "i-0", "displayName": "t-0", "lifecycleState": "RUNNING",
      "freeformTags": {"stix-cluster": "t"}},
     {"id": "i-x", "displayName": "u-0", "lifecycleState": "RUNNING",
      "freeformTags": {"stix-cluster": "u"}}],
    [{"id": "i-1", "displayName": "t-1", "lifecycleState": "STOPPED",
      "freeformTags": {"stix-cluster": "t"}},
     {"id": "i-old", "displayName": "t-0", "lifecycleState": "TERMINATED",
      "freeformTags": {"stix-cluster": "t"}}],
]
VNICS = {"i-0": ("v-0", "203.0.113.5", "10.42.0.2"), "i-1": ("v-1", None, "10.42.0.3")}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _verified(handler: BaseHTTPRequestHandler, public: Any) -> bool:
    auth = handler.headers.get("authorization", "")
    fields = dict(re.findall(r'(\w+)="([^"]*)"', auth))
    if fields.get("keyId") != KEY_ID or fields.get("algorithm") != "rsa-sha256":
        return False
    lines = []
    for name in fields.get("headers", "").split():
        value = (f"{handler.command.lower()} {handler.path}" if name == "(request-target)"
                 else handler.headers.get(name, ""))
        lines.append(f"{name}: {value}")
    try:
        public.verify(base64.b64decode(fields["signature"]), "\n".join(lines).encode(),
                      padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return fields["headers"] == "date (request-target) host"


@pytest.fixture(scope="module")
def server(key: rsa.RSAPrivateKey) -> Iterator[str]:
    public = key.public_key()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if not _verified(self, public):
                self._send(401, {"code": "NotAuthenticated", "message": "The required "
                                 "information to complete authentication was not provided "
                                 "or was incorrect."})
                return
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/20160918/instances" and q.get("compartmentId") == COMPARTMENT:
                page = int(q.get("page", "0"))
                more = {"opc-next-page": str(page + 1)} if page + 1 < len(INSTANCES) else {}
                self._send(200, INSTANCES[page], more)
            elif url.path == "/20160918/vnicAttachments":
                vnic = VNICS[q["instanceId"]][0]
                self._send(200, [{"vnicId": "v-detached", "lifecycleState": "DETACHED"},
                                 {"vnicId": vnic, "lifecycleState": "ATTACHED"}])
            elif url.path == "/20160918/users/ocid1.user.oc1..me":
                self._send(200, {"id": "ocid1.user.oc1..me", "name": "me@example.com"})
            elif url.path.startswith("/20160918/vnics/"):
                vnic = url.path.rsplit("/", 1)[1]
                _, public_ip, private_ip = next(v for v in VNICS.values() if v[0] == vnic)
                self._send(200, {"id": vnic, "isPrimary": True, "publicIp": public_ip,
                                 "privateIp": private_ip})
            else:
                self._send(404, {"code": "NotAuthorizedOrNotFound",
                                 "message": "Authorization failed or requested resource "
                                            "not found."})

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def placement() -> Placement:
    return Placement(cluster="t", cloud="oci", region="us-ashburn-1",
                     instance_type="VM.Standard.E4.Flex$_2_8", vcpus=2, memory_gib=8,
                     hourly_price=0.04, num_nodes=2, extra={"compartment_id": COMPARTMENT})


def test_node_states_read_power_and_addresses(server: str, key: rsa.RSAPrivateKey) -> None:
    states = nodes.node_states(placement(), api.Signer(KEY_ID, key), server)
    assert sorted(states) == ["t-0", "t-1"]  # the other cluster's and the terminated twin: out
    assert (states["t-0"].power, states["t-0"].public_ip, states["t-0"].private_ip,
            states["t-0"].id) == ("running", "203.0.113.5", "10.42.0.2", "i-0")
    assert (states["t-1"].power, states["t-1"].public_ip) == ("stopped", None)


def test_a_wrong_key_is_refused_and_classified(server: str) -> None:
    from stix.engine.errors import classify

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(api.OciApiError) as caught:
        nodes.node_states(placement(), api.Signer(KEY_ID, other), server)
    assert caught.value.status == 401 and "NotAuthenticated" in str(caught.value)
    assert classify(str(caught.value), "oci") == "credentials"


def test_signer_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     key: rsa.RSAPrivateKey, server: str) -> None:
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"secret")))
    config = tmp_path / "config"
    config.write_text(f"[DEFAULT]\nuser=ocid1.user.oc1..me\nfingerprint=aa:bb\nkey_file={pem}\n"
                      "tenancy=ocid1.tenancy.oc1..ten\nregion=us-ashburn-1\npass_phrase=secret\n")
    monkeypatch.setenv("OCI_CONFIG_FILE", str(config))
    for var in ("OCI_CLI_PROFILE", "OCI_CLI_TENANCY", "OCI_CLI_USER", "OCI_CLI_KEY_FILE",
                "OCI_CLI_FINGERPRINT", "OCI_CLI_REGION"):
        monkeypatch.delenv(var, raising=False)
    signer = api.signer_from_config()
    assert signer.key_id == KEY_ID
    assert sorted(nodes.node_states(placement(), signer, server)) == ["t-0", "t-1"]
    from stix.clouds.oci.credentials import read_profile, verify_profile

    status = verify_profile(read_profile(), base=server)  # GetUser, signed with the profile's key
    assert status.ok and status.detail == ("signed in as me@example.com (tenancy "
                                           "ocid1.tenancy.oc1..ten)")
    pem.write_text("not a key")
    with pytest.raises(StixError, match="cannot be read as a PEM private key"):
        api.signer_from_config()
