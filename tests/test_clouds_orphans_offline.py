"""The GCP, Azure and Kubernetes tag scans and deletes, exercised without those clouds.

No account is reachable here, so each runs against a STAND-IN: a loopback HTTP server that
answers the REST calls (or, for Kubernetes, the API calls the real `kubectl` makes) with
response bodies written by hand after the APIs' documented JSON — Compute Engine aggregated
lists and operations, Cloud Storage bucket and object lists, ARM resource and resource-group
lists, provider API versions and async operations, Kubernetes discovery and lists. They
check the requests stix makes (filters, paging, order of deletes) and how it reads the
answers; they prove nothing about the real services' behaviour beyond those shapes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from http_support import Answer, StandIn

# -- GCP ----------------------------------------------------------------------------------------

LABELS = {"stix-cluster": "c1", "managed-by": "stix"}


def _gcp_routes(s: StandIn) -> None:
    api = s.url
    zone = "projects/p1/zones/us-central1-a"
    pages = {
        "": {"kind": "compute#instanceAggregatedList", "nextPageToken": "page2", "items": {
            "zones/us-central1-a": {"instances": [{
                "kind": "compute#instance", "id": "4411", "name": "c1-0", "status": "RUNNING",
                "machineType": f"{api}/{zone}/machineTypes/n1-standard-8",
                "zone": f"{api}/{zone}", "labels": LABELS,
                "scheduling": {"provisioningModel": "SPOT", "preemptible": False},
                "guestAccelerators": [{"acceleratorCount": 1, "acceleratorType":
                                       f"{api}/{zone}/acceleratorTypes/nvidia-tesla-t4"}],
                "selfLink": f"{api}/{zone}/instances/c1-0"}]},
            "zones/europe-west4-b": {"warning": {"code": "NO_RESULTS_ON_PAGE",
                                                 "message": "no results"}}}},
        "page2": {"kind": "compute#instanceAggregatedList", "items": {
            "zones/europe-west4-b": {"instances": [{
                "id": "4412", "name": "old-0", "status": "TERMINATED",
                "machineType": f"{api}/projects/p1/zones/europe-west4-b/machineTypes/e2-small",
                "labels": {"stix-cluster": "old"},
                "selfLink": f"{api}/projects/p1/zones/europe-west4-b/instances/old-0"}]}},
            "unreachables": ["zones/asia-east1-a"]},
    }

    def instances(path: str, query: dict[str, list[str]]) -> Answer:
        return 200, {}, pages[query.get("pageToken", [""])[0]]

    s.routes[("GET", "/projects/p1/aggregated/instances")] = instances
    s.routes[("GET", "/projects/p1/aggregated/disks")] = (200, {}, {"items": {
        "zones/us-central1-a": {"disks": [{
            "id": "77", "name": "c1-0", "sizeGb": "256", "labels": LABELS,
            "type": f"{api}/{zone}/diskTypes/pd-balanced",
            "users": [f"{api}/{zone}/instances/c1-0"],
            "selfLink": f"{api}/{zone}/disks/c1-0"}]}}})
    s.routes[("GET", "/projects/p1/aggregated/addresses")] = (200, {}, {"items": {
        "regions/us-central1": {"addresses": [{
            "id": "88", "name": "c1-ip", "address": "203.0.113.7", "status": "RESERVED",
            "labels": LABELS, "selfLink": f"{api}/projects/p1/regions/us-central1/addresses/"
                                          "c1-ip"}]}}})
    s.routes[("GET", "/b")] = (200, {}, {"kind": "storage#buckets", "items": [
        {"name": "stix-data", "location": "US-CENTRAL1",
         "labels": {"stix-bucket": "stix-data", "managed-by": "stix"}},
        {"name": "someone-elses", "location": "US"}]})
    s.routes[("GET", "/b/stix-data/o")] = lambda path, query: (200, {}, {"items": [
        {"name": "ckpt/a.pt", "generation": "17"}]})


def test_gcp_scan_reads_the_aggregated_lists_and_buckets(stand_in: StandIn) -> None:
    from stix.clouds.gcp.orphans import label_filter, scan_project

    _gcp_routes(stand_in)
    found = scan_project("t0ken", "p1", None, compute=stand_in.url, storage=stand_in.url)
    by_id = {r.id: r for r in found.resources}
    assert sorted(by_id) == [
        "projects/p1/regions/us-central1/addresses/c1-ip",
        "projects/p1/zones/europe-west4-b/instances/old-0",
        "projects/p1/zones/us-central1-a/disks/c1-0",
        "projects/p1/zones/us-central1-a/instances/c1-0", "stix-data"]
    inst = by_id["projects/p1/zones/us-central1-a/instances/c1-0"]
    assert (inst.region, inst.zone, inst.machine, inst.spot, inst.cluster) == (
        "us-central1", "us-central1-a", "n1-standard-8", True, "c1")
    assert inst.detail == "n1-standard-8 RUNNING; with 1x nvidia-tesla-t4 (priced without them)"
    assert f"{stand_in.url}/projects/p1/zones/us-central1-a/instances/c1-0" in inst.aliases
    assert "4411" in inst.aliases
    stopped = by_id["projects/p1/zones/europe-west4-b/instances/old-0"]
    assert stopped.machine is None and stopped.region == "europe-west4"
    assert by_id["projects/p1/zones/us-central1-a/disks/c1-0"].detail == (
        "256 GB pd-balanced; used by c1-0")
    assert by_id["projects/p1/regions/us-central1/addresses/c1-ip"].detail == (
        "203.0.113.7; reserved")
    bucket = by_id["stix-data"]
    assert (bucket.region, bucket.cluster) == ("us-central1", "bucket-stix-data")
    assert bucket.detail.startswith("holds objects")
    assert found.problems == ["gcp: instances in zones/asia-east1-a could not be listed"]
    lists = [q for m, p, q in stand_in.calls if p == "/projects/p1/aggregated/instances"]
    assert [q.get("pageToken") for q in lists] == [None, ["page2"]]
    assert all(q["filter"] == [label_filter()] == ["labels.stix-cluster:*"] for q in lists)
    assert all(q["returnPartialSuccess"] == ["true"] for q in lists)
    assert next(q for m, p, q in stand_in.calls if p == "/b")["project"] == ["p1"]

    only = scan_project("t0ken", "p1", ["europe-west4"], compute=stand_in.url,
                        storage=stand_in.url)
    assert [r.name for r in only.resources] == ["old-0"]


def test_gcp_a_refused_token_is_a_scan_error(stand_in: StandIn) -> None:
    from stix.clouds.gcp.orphans import scan_project
    from stix.clouds.tagged import ScanError

    stand_in.routes[("GET", "/projects/p1/aggregated/instances")] = (
        403, {}, {"error": {"message": "Required 'compute.instances.list' permission"}})
    with pytest.raises(ScanError, match="gcp refused the scan: list instances: HTTP 403"):
        scan_project("t0ken", "p1", None, compute=stand_in.url, storage=stand_in.url)


def test_gcp_delete_waits_for_operations_and_empties_buckets(stand_in: StandIn) -> None:
    from stix.clouds.gcp.orphans import delete_all, scan_project

    _gcp_routes(stand_in)
    found = scan_project("t0ken", "p1", ["us-central1"], compute=stand_in.url,
                         storage=stand_in.url)
    polls = iter(["RUNNING", "DONE"])
    op = "/projects/p1/zones/us-central1-a/operations/op-1"
    stand_in.routes[("DELETE", "/projects/p1/zones/us-central1-a/instances/c1-0")] = (
        200, {}, {"kind": "compute#operation", "status": "PENDING",
                  "selfLink": stand_in.url + op})
    stand_in.routes[("GET", op)] = lambda path, query: (200, {}, {
        "status": next(polls), "selfLink": stand_in.url + op})
    stand_in.routes[("DELETE", "/projects/p1/regions/us-central1/addresses/c1-ip")] = (
        200, {}, {"status": "DONE", "error": {"errors": [{"message": "address in use"}]}})
    # The disk went with its instance: 404 is "already gone".
    stand_in.routes[("DELETE", "/b/stix-data/o/ckpt%2Fa.pt")] = (204, {}, None)  # encoded
    stand_in.routes[("DELETE", "/b/stix-data")] = (204, {}, None)
    done = delete_all(found.resources, "t0ken", poll=0.01)
    assert [(d.resource.kind, d.error) for d in done] == [
        ("instance", None), ("address", "address in use"), ("disk", None), ("bucket", None)]
    assert stand_in.paths("DELETE") == [
        "/projects/p1/zones/us-central1-a/instances/c1-0",
        "/projects/p1/regions/us-central1/addresses/c1-ip",
        "/projects/p1/zones/us-central1-a/disks/c1-0",
        "/b/stix-data/o/ckpt%2Fa.pt", "/b/stix-data"]
    assert stand_in.paths("GET").count(op) == 2
    deleted_object = next(q for m, p, q in stand_in.calls if m == "DELETE" and "/o/" in p)
    assert deleted_object["generation"] == ["17"]


# -- Azure --------------------------------------------------------------------------------------

SUB = "/subscriptions/s1"
RG = f"{SUB}/resourceGroups/stix-c1"
VM = f"{RG}/providers/Microsoft.Compute/virtualMachines/c1-0"
NIC = f"{RG}/providers/Microsoft.Network/networkInterfaces/c1-0-nic"
NSG = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/c1-nsg"
ACCOUNT = "/subscriptions/s1/resourceGroups/stix-bucket-data/providers/Microsoft.Storage/" \
          "storageAccounts/stixdata"
TAGS = {"stix-cluster": "c1", "managed-by": "stix"}


def _azure_routes(s: StandIn) -> None:
    def resources(path: str, query: dict[str, list[str]]) -> Answer:
        tag = query["$filter"][0]
        if tag == "tagName eq 'stix-bucket'":
            return 200, {}, {"value": [{"id": ACCOUNT, "name": "stixdata", "location": "westus2",
                                        "type": "Microsoft.Storage/storageAccounts",
                                        "tags": {"stix-bucket": "data"}}]}
        if "$skiptoken" in query:
            return 200, {}, {"value": [{"id": NSG, "name": "c1-nsg", "location": "eastus",
                                        "type": "Microsoft.Network/networkSecurityGroups",
                                        "tags": TAGS}]}
        return 200, {}, {"value": [
            {"id": VM, "name": "c1-0", "type": "Microsoft.Compute/virtualMachines",
             "location": "eastus", "tags": TAGS},
            {"id": NIC, "name": "c1-0-nic", "type": "Microsoft.Network/networkInterfaces",
             "location": "eastus", "tags": TAGS}],
            "nextLink": f"{s.url}{SUB}/resources?$filter={quote(tag)}&api-version=2021-04-01"
                        "&$skiptoken=abc"}

    def groups(path: str, query: dict[str, list[str]]) -> Answer:
        if query["$filter"][0] == "tagName eq 'stix-bucket'":
            return 200, {}, {"value": []}
        return 200, {}, {"value": [{"id": RG, "name": "stix-c1", "location": "eastus",
                                    "tags": TAGS}]}

    s.routes[("GET", f"{SUB}/resources")] = resources
    s.routes[("GET", f"{SUB}/resourcegroups")] = groups
    s.routes[("GET", VM)] = (200, {}, {"name": "c1-0", "properties": {
        "hardwareProfile": {"vmSize": "Standard_D4s_v5"}, "priority": "Spot",
        "instanceView": {"statuses": [{"code": "ProvisioningState/succeeded"},
                                      {"code": "PowerState/running"}]}}})


def test_azure_scan_lists_tagged_resources_and_groups(stand_in: StandIn) -> None:
    from stix.clouds.azure.orphans import scan_subscription

    _azure_routes(stand_in)
    found = scan_subscription("t0ken", "s1", None, base=stand_in.url)
    assert [(r.kind, r.name, r.cluster, r.region) for r in found.resources] == [
        ("vm", "c1-0", "c1", "eastus"), ("nic", "c1-0-nic", "c1", "eastus"),
        ("nsg", "c1-nsg", "c1", "eastus"), ("resource-group", "stix-c1", "c1", "eastus"),
        ("storage-account", "stixdata", "bucket-data", "westus2")]
    vm = found.resources[0]
    assert (vm.id, vm.machine, vm.spot, vm.detail) == (VM, "Standard_D4s_v5", True,
                                                       "Standard_D4s_v5 running")
    filters = {q["$filter"][0] for m, p, q in stand_in.calls if p == f"{SUB}/resources"}
    assert filters == {"tagName eq 'stix-cluster'", "tagName eq 'stix-bucket'"}
    vm_read = next(q for m, p, q in stand_in.calls if p == VM)
    assert vm_read["$expand"] == ["instanceView"]
    assert found.problems == []
    west = scan_subscription("t0ken", "s1", ["westus2"], base=stand_in.url)
    assert [r.name for r in west.resources] == ["stixdata"]


def test_azure_delete_goes_dependents_first_and_follows_async_operations(
        stand_in: StandIn) -> None:
    from stix.clouds.azure.orphans import delete_all, scan_subscription

    _azure_routes(stand_in)
    found = scan_subscription("t0ken", "s1", None, base=stand_in.url)
    url = stand_in.url
    stand_in.routes[("GET", f"{SUB}/providers/Microsoft.Compute")] = (200, {}, {
        "resourceTypes": [{"resourceType": "virtualMachines",
                           "apiVersions": ["2025-01-01-preview", "2024-11-01", "2024-07-01"]}]})
    stand_in.routes[("GET", f"{SUB}/providers/Microsoft.Network")] = (200, {}, {
        "resourceTypes": [{"resourceType": "networkInterfaces", "apiVersions": ["2024-05-01"]},
                          {"resourceType": "networkSecurityGroups",
                           "apiVersions": ["2024-05-01"]}]})
    stand_in.routes[("GET", f"{SUB}/providers/Microsoft.Storage")] = (200, {}, {
        "resourceTypes": [{"resourceType": "storageAccounts", "apiVersions": ["2023-05-01"]}]})
    polls = iter([{"status": "InProgress"}, {"status": "Succeeded"}])
    stand_in.routes[("DELETE", VM)] = (202, {"Azure-AsyncOperation": f"{url}/ops/vm"}, None)
    stand_in.routes[("GET", "/ops/vm")] = lambda path, query: (200, {}, next(polls))
    stand_in.routes[("DELETE", NIC)] = (200, {}, None)
    stand_in.routes[("DELETE", NSG)] = (202, {"Azure-AsyncOperation": f"{url}/ops/nsg"}, None)
    stand_in.routes[("GET", "/ops/nsg")] = (200, {}, {"status": "Failed", "error": {
        "message": "InUseNetworkSecurityGroupCannotBeDeleted"}})
    stand_in.routes[("DELETE", ACCOUNT)] = (204, {}, None)
    stand_in.routes[("DELETE", RG)] = (202, {"Location": f"{url}/ops/rg"}, None)
    stand_in.routes[("GET", "/ops/rg")] = (200, {}, None)
    done = delete_all(found.resources, "t0ken", base=url, poll=0.01)
    assert [(d.resource.kind, d.error) for d in done] == [
        ("vm", None), ("nic", None), ("nsg", "deletion failed: "
                                            "InUseNetworkSecurityGroupCannotBeDeleted"),
        ("storage-account", None), ("resource-group", None)]
    assert stand_in.paths("DELETE") == [VM, NIC, NSG, ACCOUNT, RG]
    versions = {p: q["api-version"][0] for m, p, q in stand_in.calls if m == "DELETE"}
    assert versions == {VM: "2024-11-01", NIC: "2024-05-01", NSG: "2024-05-01",
                        ACCOUNT: "2023-05-01", RG: "2021-04-01"}
    # one provider read per namespace, however many of its resources go
    assert stand_in.paths("GET").count(f"{SUB}/providers/Microsoft.Network") == 1


# -- Kubernetes ---------------------------------------------------------------------------------


def _kube_routes(s: StandIn) -> None:
    def resource(kind: str, name: str, namespaced: bool) -> dict[str, Any]:
        return {"name": name, "singularName": kind.lower(), "namespaced": namespaced,
                "kind": kind, "verbs": ["get", "list", "delete"]}

    s.routes[("GET", "/version")] = (200, {}, {"major": "1", "minor": "30",
                                               "gitVersion": "v1.30.0"})
    s.routes[("GET", "/api")] = (200, {}, {"kind": "APIVersions", "versions": ["v1"],
                                           "serverAddressByClientCIDRs": []})
    s.routes[("GET", "/apis")] = (200, {}, {"kind": "APIGroupList", "apiVersion": "v1",
                                            "groups": []})
    s.routes[("GET", "/api/v1")] = (200, {}, {"kind": "APIResourceList", "groupVersion": "v1",
                                              "resources": [
                                                  resource("Namespace", "namespaces", False),
                                                  resource("Pod", "pods", True),
                                                  resource("Service", "services", True)]})

    def listed(kind: str, items: list[dict[str, Any]]) -> Answer:
        return 200, {}, {"kind": f"{kind}List", "apiVersion": "v1",
                         "metadata": {"resourceVersion": "9"}, "items": items}

    labels = {"stix-cluster": "c1", "managed-by": "stix"}
    s.routes[("GET", "/api/v1/namespaces")] = listed("Namespace", [
        {"kind": "Namespace", "apiVersion": "v1", "metadata": {
            "name": "stix-c1", "uid": "u-ns", "labels": labels}, "status": {"phase": "Active"}}])
    s.routes[("GET", "/api/v1/services")] = listed("Service", [
        {"kind": "Service", "apiVersion": "v1", "metadata": {
            "name": "c1-nodes", "namespace": "stix-c1", "uid": "u-svc", "labels": labels}}])
    s.routes[("GET", "/api/v1/pods")] = listed("Pod", [
        {"kind": "Pod", "apiVersion": "v1", "metadata": {
            "name": "c1-0", "namespace": "stix-c1", "uid": "u-pod",
            "labels": {**labels, "stix-node-rank": "0"}}, "status": {"phase": "Running"}},
        {"kind": "Pod", "apiVersion": "v1", "metadata": {
            "name": "c1-job-x7", "namespace": "stix-c1", "uid": "u-owned", "labels": labels,
            "ownerReferences": [{"kind": "Job", "name": "c1-job", "uid": "u-job"}]}}])
    for path in ("/api/v1/namespaces/stix-c1", "/api/v1/namespaces/stix-c1/pods/c1-0",
                 "/api/v1/namespaces/stix-c1/services/c1-nodes"):
        s.routes[("DELETE", path)] = (200, {}, {"kind": "Status", "apiVersion": "v1",
                                                "status": "Success"})


def _kubeconfig(path: Path, server: str) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}},
                     {"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "t0ken"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "c", "user": "u"}},
                     {"name": "away", "context": {"cluster": "gone", "user": "u"}}],
        "current-context": "lab"}))
    return path


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubernetes_scan_and_delete_with_real_kubectl(stand_in: StandIn, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from stix.clouds.kubernetes.orphans import delete, scan

    _kube_routes(stand_in)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kc", stand_in.url)))
    found = scan(None)
    assert found.regions == ["lab", "away"]
    assert [(r.kind, r.id, r.region, r.hourly_price) for r in found.resources] == [
        ("namespace", "stix-c1", "lab", None), ("service", "stix-c1/c1-nodes", "lab", None),
        ("pod", "stix-c1/c1-0", "lab", 0.0)]
    assert found.resources[2].aliases == ("u-pod",) and found.resources[2].detail == "running"
    (problem,) = found.problems
    assert problem.startswith("kubernetes away: not scanned: ")
    lists = [q for m, p, q in stand_in.calls if p in ("/api/v1/pods", "/api/v1/namespaces")]
    assert all(q["labelSelector"] == ["stix-cluster"] for q in lists)

    done = delete(found.resources)
    assert [d.error for d in done] == [None, None, None]
    assert stand_in.paths("DELETE") == ["/api/v1/namespaces/stix-c1/pods/c1-0",
                                        "/api/v1/namespaces/stix-c1/services/c1-nodes",
                                        "/api/v1/namespaces/stix-c1"]
