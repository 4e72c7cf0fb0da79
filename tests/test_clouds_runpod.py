"""RunPod: the pod provider (create/read/diff/delete) against a local stand-in for RunPod's
GraphQL API, failover classification of its errors, the price fetcher on a recorded
gpuTypes answer, credentials, and what RunPod refuses at validate/plan.

The stand-in (`GraphQLStandIn`, over tests/http_support.py's loopback server) is NOT
RunPod: it answers `POST /graphql` the way RunPod's GraphQL reference documents —
`{"data": {...}}`, `{"errors": [{"message": ...}]}` with HTTP 200 for a refused operation,
HTTP 401 for a bad key, `pod` null for a pod that is gone — and keeps the pods it was
asked to deploy. What it proves is what stix sends and how it reads answers of that shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dynamic_support import revived, state_of

from stix.clouds.dynamic import PROVIDER_KEY, CloudError, RestProvider
from stix.clouds.runpod import api
from stix.clouds.runpod.types import pod_type
from stix.engine.errors import classify

FIXTURES = Path(__file__).parent / "fixtures" / "runpod"
NO_CAPACITY = ("There are no longer any instances available with the requested "
               "specifications. Please refresh and try again.")


class GraphQLStandIn:
    """Pods by id, deployed by the three deploy mutations, read by `pod`, removed by
    `podTerminate`; `deploy_errors` answers the next deploy with GraphQL errors, and
    `refuse_key` answers every call with HTTP 401."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.pods: dict[str, dict[str, Any]] = {}
        self.deploy_errors: list[dict[str, Any]] | None = None
        self.refuse_key = False
        self.reads_before_ports = 1  # reads answered with runtime null (container starting)
        self.reads = 0
        server.routes[("POST", "/graphql")] = self.answer

    def requests(self) -> list[dict[str, Any]]:
        return [b for (m, p, _), b in zip(self.server.calls, self.server.bodies, strict=True)
                if (m, p) == ("POST", "/graphql")]

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        if self.refuse_key:
            return 401, {}, b"Unauthorized"
        body = self.server.bodies[-1]
        text = body["query"]
        for field in ("podFindAndDeployOnDemand", "podRentInterruptable", "deployCpuPod"):
            if field in text:
                if self.deploy_errors is not None:
                    return 200, {}, {"errors": self.deploy_errors, "data": {field: None}}
                pod_id = f"pod{len(self.pods) + 1}"
                self.pods[pod_id] = {"id": pod_id, "desiredStatus": "RUNNING",
                                     "input": body["variables"]["input"]}
                return 200, {}, {"data": {field: {"id": pod_id}}}
        pod_id = text.split('podId: "', 1)[1].split('"', 1)[0] if 'podId: "' in text else ""
        if "podTerminate" in text:
            self.pods.pop(pod_id, None)
            return 200, {}, {"data": {"podTerminate": None}}
        if "pod(input" in text:
            pod = self.pods.get(pod_id)
            if pod is None:
                return 200, {}, {"data": {"pod": None}}
            self.reads += 1
            runtime = None if self.reads <= self.reads_before_ports else {"ports": [
                {"ip": "100.65.0.9", "isIpPublic": False, "privatePort": 22,
                 "publicPort": 22, "type": "tcp"},
                {"ip": "203.0.113.7", "isIpPublic": True, "privatePort": 22,
                 "publicPort": 40122, "type": "tcp"},
                {"ip": "203.0.113.7", "isIpPublic": True, "privatePort": 8080,
                 "publicPort": 40180, "type": "tcp"}]}
            return 200, {}, {"data": {"pod": {"id": pod_id, "desiredStatus": pod["desiredStatus"],
                                              "runtime": runtime}}}
        return 400, {}, {"errors": [{"message": f"stand-in: unknown query {text[:60]}"}]}


@pytest.fixture
def graphql(stand_in, monkeypatch) -> GraphQLStandIn:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RUNPOD_API_KEY", "rpa_test")
    return GraphQLStandIn(stand_in)


@pytest.fixture
def provider(graphql) -> RestProvider:  # type: ignore[no-untyped-def]
    settings = {"base_url": graphql.server.url, "poll_seconds": 0.01, "launch_timeout": 5}
    return revived(RestProvider(pod_type(), settings))


GPU_POD = {
    "name": "t-0", "image": "runpod/pytorch:2.1.0-py3.10-cuda11.8.0-devel-ubuntu22.04",
    "cloud_type": "SECURE", "data_center_id": "US-GA-1", "gpu_type_id": "NVIDIA GeForce RTX 4090",
    "gpu_count": 1, "cpu_instance_id": None, "min_vcpus": 16, "min_memory_gb": 24,
    "container_disk_gb": 256, "ports": "22/tcp,8080/tcp", "env": {"PUBLIC_KEY": "ssh-ed25519 AAAA k"},
    "bid_per_gpu": None,
}  # fmt: skip


def test_create_read_diff_delete(provider, graphql) -> None:  # type: ignore[no-untyped-def]
    made = provider.create(state_of(provider, GPU_POD))
    assert made.id == "pod1"
    assert made.outs["public_ip"] == "203.0.113.7" and made.outs["ssh_port"] == 40122
    assert made.outs["ports_map"] == {"22": "203.0.113.7:40122", "8080": "203.0.113.7:40180"}
    deploy = graphql.requests()[0]
    assert "podFindAndDeployOnDemand(input: $input)" in deploy["query"]
    assert "PodFindAndDeployOnDemandInput!" in deploy["query"]
    sent = deploy["variables"]["input"]
    assert sent == {"name": "t-0", "imageName": GPU_POD["image"], "cloudType": "SECURE",
                    "containerDiskInGb": 256, "ports": "22/tcp,8080/tcp",
                    "env": [{"key": "PUBLIC_KEY", "value": "ssh-ed25519 AAAA k"}],
                    "startSsh": True, "supportPublicIp": True, "dataCenterId": "US-GA-1",
                    "gpuTypeId": "NVIDIA GeForce RTX 4090", "gpuCount": 1, "volumeInGb": 0,
                    "minVcpuCount": 16, "minMemoryInGb": 24}
    assert graphql.server.headers[0]["Authorization"] == "Bearer rpa_test"

    read = provider.read("pod1", state_of(provider, made.outs))
    assert read.id == "pod1" and read.outs["ssh_port"] == 40122

    same = provider.diff("pod1", made.outs, {**GPU_POD, PROVIDER_KEY: "new"})
    assert same.changes is False and same.replaces == []
    moved = provider.diff("pod1", made.outs, {**GPU_POD, "data_center_id": "EU-RO-1"})
    assert moved.replaces == ["data_center_id"]

    provider.delete("pod1", made.outs)
    assert graphql.pods == {}
    assert 'podTerminate(input: {podId: "pod1"})' in graphql.requests()[-1]["query"]
    gone = provider.read("pod1", made.outs)
    assert gone.id == "" and gone.outs == {}
    provider.delete("pod1", made.outs)  # already gone is not an error


def test_spot_and_cpu_pods_use_their_own_mutations(provider, graphql) -> None:  # type: ignore[no-untyped-def]
    provider.create(state_of(provider, {**GPU_POD, "bid_per_gpu": 0.34}))
    spot = graphql.requests()[0]
    assert "podRentInterruptable(input: $input)" in spot["query"]
    assert spot["variables"]["input"]["bidPerGpu"] == 0.34
    graphql.reads = 0
    cpu = {**GPU_POD, "gpu_type_id": None, "gpu_count": 0, "cpu_instance_id": "cpu3c-2-4",
           "image": "runpod/base:1.0.2-ubuntu2204"}
    provider.create(state_of(provider, cpu))
    sent = next(r for r in graphql.requests() if "deployCpuPod" in r["query"])
    assert "deployCpuPodInput!" in sent["query"]
    assert sent["variables"]["input"]["instanceId"] == "cpu3c-2-4"
    assert "gpuTypeId" not in sent["variables"]["input"]


@pytest.mark.parametrize(("spot", "kind"), [(False, "capacity"), (True, "spot")])
def test_no_capacity_fails_over(provider, graphql, spot, kind) -> None:  # type: ignore[no-untyped-def]
    graphql.deploy_errors = [{"message": NO_CAPACITY, "path": ["podFindAndDeployOnDemand"]}]
    with pytest.raises(CloudError) as caught:
        provider.create(state_of(provider, {**GPU_POD, "bid_per_gpu": 0.34 if spot else None}))
    assert caught.value.kind == kind and caught.value.status is None
    assert NO_CAPACITY in str(caught.value)
    # What the engine prints (the provider's message) is what failover reads.
    assert classify(f"error: Exception: {caught.value}", "runpod") == kind
    assert classify(f"error: {NO_CAPACITY}", "runpod") == "capacity"  # unmarked, by pattern
    assert graphql.pods == {}


@pytest.mark.parametrize(("errors", "kind"), [
    ([{"message": NO_CAPACITY, "extensions": {"code": "SUPPLY_CONSTRAINT"}}], "capacity"),
    ([{"message": "INSUFFICIENT_BALANCE: Renting this pod would put you over your current "
                  "spending limit ($5.00/hr)"}], "quota"),
    ([{"message": "Something went wrong. Please try again later or contact support."}], None),
])
def test_error_shapes_feed_failover(provider, graphql, errors, kind) -> None:  # type: ignore[no-untyped-def]
    graphql.deploy_errors = errors
    with pytest.raises(CloudError) as caught:
        provider.create(state_of(provider, GPU_POD))
    assert caught.value.kind == kind
    assert classify(f"error: {caught.value}", "runpod") == (kind or "other")


@pytest.mark.parametrize(("spot", "kind"), [(False, "capacity"), (True, "spot")])
def test_a_null_deploy_answer_is_no_capacity(provider, graphql, spot, kind) -> None:  # type: ignore[no-untyped-def]
    graphql.server.routes[("POST", "/graphql")] = (
        200, {}, {"data": {"podRentInterruptable" if spot else "podFindAndDeployOnDemand": None}})
    with pytest.raises(CloudError) as caught:
        provider.create(state_of(provider, {**GPU_POD, "bid_per_gpu": 0.34 if spot else None}))
    assert caught.value.kind == kind


def test_a_refused_key_is_a_credentials_error(provider, graphql) -> None:  # type: ignore[no-untyped-def]
    graphql.refuse_key = True
    with pytest.raises(CloudError) as caught:
        provider.create(state_of(provider, GPU_POD))
    assert caught.value.kind == "credentials" and caught.value.status == 401
    assert classify(f"error: {caught.value}", "runpod") == "credentials"


def test_a_graphql_unauthorized_answer_is_a_credentials_error(provider, graphql) -> None:  # type: ignore[no-untyped-def]
    graphql.deploy_errors = [{"message": "Unauthorized"}]
    with pytest.raises(CloudError) as caught:
        provider.create(state_of(provider, GPU_POD))
    assert caught.value.kind == "credentials"


def test_no_key_is_a_credentials_error_before_any_call(stand_in, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(CloudError) as caught:
        revived(RestProvider(pod_type(), {"base_url": stand_in.url})).create(GPU_POD)
    assert caught.value.kind == "credentials" and stand_in.calls == []


def test_a_pod_without_a_public_ssh_port_is_terminated(provider, graphql) -> None:  # type: ignore[no-untyped-def]
    graphql.reads_before_ports = 10**6
    slow = revived(RestProvider(pod_type(), {"base_url": graphql.server.url,
                                             "poll_seconds": 0.01, "launch_timeout": 0.05}))
    with pytest.raises(CloudError, match="no public SSH port"):
        slow.create(state_of(slow, GPU_POD))
    assert graphql.pods == {}  # create left nothing behind


# -- prices -------------------------------------------------------------------------------


def _recorded(query: str) -> Any:
    assert "gpuTypes" in query and "secureSpotPrice" in query
    return json.loads((FIXTURES / "gpu_types.json").read_text())


def test_fetcher_prices_secure_pods_from_a_recorded_answer() -> None:
    from stix.catalog.loader import load_catalog
    from stix.clouds.runpod.prices import fetch

    base = load_catalog(clouds=["runpod"])
    result = fetch(_recorded, base)
    by = {(o.instance_type, o.zone): o for o in result.offers}
    rtx = by[("2x_RTX4090_SECURE", "US-GA-1")]
    assert (rtx.price, rtx.spot_price, rtx.region) == (1.38, 0.68, "US")
    assert rtx.price_source == "observed" and rtx.spot_source == "observed"
    a40 = by[("1x_A40_SECURE", "EU-RO-1")]
    assert a40.spot_price is None and a40.spot_origin == "none"  # 0 in the answer: none
    assert not any(o.instance_type.startswith("1x_H100_") for o in result.offers)  # no price
    assert result.skipped["GPU type stix has no pod shape for"] == 2  # RTX 3070, unknown
    cpu = [o for o in result.offers if o.accelerator is None]
    assert cpu and all(o.price_source == "estimated" for o in cpu)  # kept, as they were
    only_us = fetch(_recorded, base, regions=["US"])
    assert {o.region for o in only_us.offers} == {"US"}


def test_fetcher_reports_a_graphql_error() -> None:
    from stix.catalog.loader import load_catalog
    from stix.catalog.update import FetchError
    from stix.clouds.runpod.prices import fetch

    with pytest.raises(FetchError, match="gpuTypes: Something went wrong"):
        fetch(lambda q: {"errors": [{"message": "Something went wrong"}]},
              load_catalog(clouds=["runpod"]))


def test_fetcher_posts_graphql(stand_in) -> None:  # type: ignore[no-untyped-def]
    from stix.clouds.runpod.prices import QUERY, http_post

    stand_in.routes[("POST", "/graphql")] = (200, {}, {"data": {"gpuTypes": []}})
    assert http_post(f"{stand_in.url}/graphql")(QUERY) == {"data": {"gpuTypes": []}}
    assert stand_in.bodies[0] == {"query": QUERY}
    assert "Authorization" not in stand_in.headers[0]  # gpuTypes needs no account


# -- credentials, validate/plan refusals, Terraform ----------------------------------------


def test_credentials_from_env_then_config_file(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stix.clouds.runpod.credentials import check

    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    missing = check()
    assert not missing.ok and "RUNPOD_API_KEY" in (missing.hint or "")
    (tmp_path / ".runpod").mkdir()
    (tmp_path / ".runpod" / "config.toml").write_text('[default]\napi_key = "rpa_file"\n')
    found = check()
    assert found.ok and "config.toml" in found.detail
    assert api.api_key() == "rpa_file"
    monkeypatch.setenv("RUNPOD_API_KEY", "rpa_env")
    assert check().sources == ["env RUNPOD_API_KEY"]


def test_verify_asks_who_the_key_belongs_to(stand_in) -> None:  # type: ignore[no-untyped-def]
    from stix.clouds.runpod.credentials import verify

    stand_in.routes[("POST", "/graphql")] = (200, {}, {"data": {"myself": {"id": "u1"}}})
    assert verify("k", "env RUNPOD_API_KEY", stand_in.url).ok
    stand_in.routes[("POST", "/graphql")] = (401, {}, b"Unauthorized")
    refused = verify("k", "env RUNPOD_API_KEY", stand_in.url)
    assert not refused.ok and refused.hint


def _optimize(text: str) -> Any:
    from stix.optimizer import optimize
    from stix.task import parse_tasks

    return optimize(parse_tasks(text + "run: echo ok\n").tasks[0], cluster="t")


@pytest.mark.parametrize(("resources", "says"), [
    ("accelerators: T4:1", "T4"),
    ("accelerators: RTX4090:1\n  cloud: runpod\n  region: JP", "JP"),
    ("cpus: 2+\n  use_spot: true", "spot"),
])
def test_bad_input_is_refused_with_runpods_choices(resources: str, says: str) -> None:
    from stix.optimizer.explain import NothingFitsError

    with pytest.raises(NothingFitsError, match=says):
        pin = "" if "cloud:" in resources else "  infra: runpod\n"
        _optimize(f"resources:\n{pin}  {resources}\n")


def test_skypilot_spellings_place_a_pod_in_a_data_center() -> None:
    chosen = _optimize("resources:\n  cloud: runpod\n  region: US\n  zone: US-GA-1\n"
                       "  accelerators: RTX4090:1\n  use_spot: true\n").chosen
    assert (chosen.cloud, chosen.region, chosen.zone) == ("runpod", "US", "US-GA-1")
    assert chosen.instance_type == "1x_RTX4090_SECURE" and chosen.hourly_price == 0.34


def test_terraform_is_refused_clearly() -> None:
    from stack_support import placement, synth

    from stix.engine.terraform.translate import TranslationError, to_terraform

    graph = synth(placement("runpod", "cpu3c-2-4", region="US", zone="US-GA-1"))
    with pytest.raises(TranslationError, match="no mapping for pulumi-python:dynamic/runpod:Pod;"
                                               " use the pulumi engine"):
        to_terraform(graph)


def test_pod_ssh_port_reaches_the_node_record() -> None:
    from stack_support import placement

    from stix.cluster.stacks import nodes_from_outputs

    p = placement("runpod", "cpu3c-2-4", region="US", zone="US-GA-1")
    outputs = {"ssh_user": "root", "nodes": [{"name": "t-0", "public_ip": "203.0.113.7",
                                              "private_ip": None, "ssh_port": 40122}]}
    node = nodes_from_outputs(outputs, p)[0]
    assert (node.host, node.port, node.user, node.internal_ip) == ("203.0.113.7", 40122,
                                                                   "root", None)


def test_the_container_disk_is_billed_beside_the_pod() -> None:
    from stack_support import placement

    from stix.clouds import registry

    charges = registry.cloud("runpod").node_charges(
        placement("runpod", "cpu3c-2-4", region="US", zone="US-GA-1", disk_size=73))
    assert [(c.what, c.kind, c.stopped) for c in charges] == [
        ("container disk 73 GB", "disk", 0.0)]
    assert charges[0].running == pytest.approx(0.01)  # $0.10/GB-month × 73 GB / 730 h


def test_the_pod_is_the_image_so_the_node_phase_starts_no_container() -> None:
    from stack_support import placement

    from stix.remote.container import for_placement

    p = placement("runpod", "1x_RTX4090_SECURE", region="US", zone="US-GA-1",
                  gpu=("RTX4090", 1), image_id="docker:vllm/vllm-openai:v0.6.0")
    assert for_placement(p, ["~/data"]) is None


def test_catalog_update_writes_observed_runpod_rows(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stix.catalog.loader import load_catalog
    from stix.catalog.update import updatable_clouds, update_catalog
    from stix.clouds.runpod import prices

    assert "runpod" in updatable_clouds()
    monkeypatch.setattr(prices, "http_post", lambda **kw: _recorded)
    done = update_catalog(["runpod"], tmp_path, base=load_catalog(clouds=["runpod"]),
                          opener=lambda url: pytest.fail(f"GET {url}"))
    assert done.results[0].cloud == "runpod"
    written = load_catalog(tmp_path, clouds=["runpod"]).for_cloud("runpod")
    assert {o.price_source for o in written if o.accelerator} == {"observed"}
    assert any(o.instance_type == "1x_H100-SXM_SECURE" and o.spot_price == 2.69 for o in written)
