"""GCP's and Azure's node readers and Azure's deallocate/start, exercised without those
clouds: a STAND-IN (tests/http_support.py, a real HTTP server on loopback) answers with
bodies written by hand after the documented JSON of Compute Engine `instances.list` and
ARM `virtualMachines` (list with statusOnly, deallocate, start). The tests check the
requests stix makes and how it reads the answers, nothing more."""

from __future__ import annotations

from typing import Any

import pytest
from http_support import StandIn

from stix.clouds import rest


def _gce(name: str, status: str, nat: str | None = None) -> dict[str, Any]:
    nic: dict[str, Any] = {"networkIP": "10.0.0.2"}
    if nat:
        nic["accessConfigs"] = [{"natIP": nat, "type": "ONE_TO_ONE_NAT"}]
    return {"id": "123", "name": name, "status": status, "networkInterfaces": [nic]}


def test_gcp_instances_by_label_with_paging(stand_in: StandIn) -> None:
    from stix.clouds.gcp.nodes import list_states

    path = "/projects/p1/zones/us-central1-a/instances"
    pages = iter([
        (200, {}, {"items": [_gce("c-0", "RUNNING", "34.1.2.3")], "nextPageToken": "t2"}),
        (200, {}, {"items": [_gce("c-1", "TERMINATED")]}),
    ])
    stand_in.routes[("GET", path)] = lambda _p, _q: next(pages)
    found = list_states(stand_in.url, "tok", "p1", "us-central1-a", "c")
    assert (found["c-0"].power, found["c-0"].public_ip, found["c-0"].private_ip) == (
        "running", "34.1.2.3", "10.0.0.2")
    assert found["c-1"].power == "stopped" and found["c-1"].public_ip is None
    [(_, _, first), (_, _, second)] = stand_in.calls
    assert first["filter"] == ["labels.stix-cluster=c"] and "pageToken" not in first
    assert second["pageToken"] == ["t2"]


def _vm(name: str, power: str, cluster: str = "c") -> dict[str, Any]:
    return {"name": name, "id": f"/subscriptions/s/resourceGroups/g/providers/"
                                f"Microsoft.Compute/virtualMachines/{name}",
            "tags": {"stix-cluster": cluster},
            "properties": {"instanceView": {"statuses": [
                {"code": "ProvisioningState/succeeded"}, {"code": f"PowerState/{power}"}]}}}


VMS = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines"


def test_azure_power_states_of_the_cluster_only(stand_in: StandIn) -> None:
    from stix.clouds.azure.power import list_states

    stand_in.routes[("GET", VMS)] = (200, {}, {"value": [
        _vm("c-0", "running"), _vm("c-1", "deallocated"), _vm("x-0", "running", "other")]})
    found = list_states(stand_in.url, "tok", "s", "g", "c")
    assert {k: v.power for k, v in found.items()} == {"c-0": "running", "c-1": "stopped"}
    [(_, _, query)] = stand_in.calls
    assert query["statusOnly"] == ["true"] and query["api-version"]


def test_azure_deallocate_then_wait_until_every_vm_says_so(stand_in: StandIn) -> None:
    from stix.clouds.azure.power import set_power

    answers = iter([{"value": [_vm("c-0", "deallocating"), _vm("c-1", "running")]},
                    {"value": [_vm("c-0", "deallocated"), _vm("c-1", "deallocated")]}])
    stand_in.routes[("GET", VMS)] = lambda _p, _q: (200, {}, next(answers))
    for name in ("c-0", "c-1"):
        stand_in.routes[("POST", f"{VMS}/{name}/deallocate")] = (202, {}, None)
    set_power(stand_in.url, "tok", "s", "g", "c", ["c-0", "c-1"], True, poll=0.01)
    assert stand_in.paths("POST") == [f"{VMS}/c-0/deallocate", f"{VMS}/c-1/deallocate"]
    assert stand_in.paths("GET") == [VMS, VMS]


def test_a_refused_call_is_one_readable_error(stand_in: StandIn) -> None:
    from stix.clouds.azure.power import set_power

    stand_in.routes[("POST", f"{VMS}/c-0/start")] = (403, {}, {"error": {
        "code": "AuthorizationFailed", "message": "no permission"}})
    with pytest.raises(rest.ApiError) as info:
        set_power(stand_in.url, "tok", "s", "g", "c", ["c-0"], False, poll=0.01)
    assert info.value.status == 403 and "start c-0: HTTP 403" in str(info.value)
    assert "AuthorizationFailed" in str(info.value)
    with pytest.raises(rest.ApiError):
        rest.call("GET", f"{stand_in.url}/a path with spaces", "tok")
