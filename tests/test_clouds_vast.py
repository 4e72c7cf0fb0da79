"""Vast outside its program: the dynamic provider's operations (create with its offer
search, read, diff, update, delete) against a local HTTP STAND-IN for Vast's REST API
(tests/http_support.py) that answers in the shapes Vast documents — `{"offers": [...]}`
from `POST /bundles/`, `{"success": true, "new_contract": id}` from `PUT /asks/{id}/`,
`{"instances": {...}}` from `GET /instances/{id}/`, errors as `{"success": false, "error",
"msg"}` — but is no Vast: it proves the requests stix makes and how it reads answers of
those shapes. Also: failover classification of those errors, the offer-search fetcher on
an example answer (tests/fixtures/vast/bundles.json, written by hand in the documented
shape), and where the API key is found (no network)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO, Any

import pytest
from dynamic_support import revived, state_of
from http_support import StandIn, serving

from stix.clouds import registry
from stix.clouds.dynamic import PROVIDER_KEY, CloudError, RestProvider
from stix.clouds.vast.api import ERRORS, offer_query, parse_error
from stix.clouds.vast.types import instance_type
from stix.engine.errors import classify

FIXTURES = Path(__file__).parent / "fixtures" / "vast"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKpQe+Z6wqWB6flee48ydS/3MH3V+NWymNdyQlhpEQEY t"
INPUTS: dict[str, Any] = {
    "label": "t-0", "gpu_name": "RTX 4090", "num_gpus": 1, "min_gpu_memory_gib": 21.6,
    "min_vcpus": 16, "min_memory_gib": 64, "region": "US", "max_price": 0.5,
    "interruptible": False, "verified": True, "datacenter": False,
    "image": "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime", "disk_gb": 64,
    "ports": [8080], "env": {"STIX_LABEL_STIX_CLUSTER": "t"}, "onstart": "echo hi\n",
    "public_key": KEY, "ssh_cidrs": None, "state": "running",
}  # fmt: skip
OFFER = {"id": 7001, "gpu_name": "RTX 4090", "num_gpus": 1, "dph_total": 0.33,
         "min_bid": 0.2, "machine_id": 4242, "geolocation": "Texas, US"}
RUNNING = {"id": 9001, "actual_status": "running", "public_ipaddr": "203.0.113.7 ",
           "ports": {"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41022"}],
                     "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41080"}]},
           "ssh_host": "ssh4.vast.ai", "ssh_port": 23456, "dph_total": 0.331,
           "machine_id": 4242, "geolocation": "Texas, US"}


@pytest.fixture(scope="module")
def _server():  # type: ignore[no-untyped-def]
    server = serving()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def stand_in(_server: StandIn) -> StandIn:
    """The module's one stand-in, its routes and record emptied for each test (a server
    per test costs half a second to stop)."""
    for kept in (_server.routes, _server.calls, _server.headers, _server.bodies):
        kept.clear()
    return _server


@pytest.fixture
def provider(stand_in: StandIn, monkeypatch: pytest.MonkeyPatch) -> RestProvider:
    monkeypatch.setenv("VAST_API_KEY", "vast-key")
    return revived(RestProvider(instance_type(), {"base_url": stand_in.url,
                                                  "poll_seconds": 0, "ready_timeout": 5}))


def _vast_error(status: int, code: str, msg: str) -> tuple[int, dict[str, str], Any]:
    return status, {}, {"success": False, "error": code, "msg": msg}


def _booting(*states: dict[str, Any]):  # type: ignore[no-untyped-def]
    """A GET /instances/{id}/ route answering each state in turn, then the last."""
    seen = list(states)

    def answer(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        return 200, {}, {"instances": seen.pop(0) if len(seen) > 1 else seen[0]}

    return answer


def _rentable(stand_in: StandIn, *offers: dict[str, Any]) -> None:
    stand_in.routes[("POST", "/bundles/")] = (200, {}, {"offers": list(offers)})
    stand_in.routes[("PUT", "/asks/*")] = (200, {}, {"success": True, "new_contract": 9001,
                                                     "instance_api_key": "d15a"})
    stand_in.routes[("POST", "/instances/9001/ssh/")] = (200, {}, {"success": True})
    stand_in.routes[("GET", "/instances/9001/")] = _booting(
        {"id": 9001, "actual_status": None}, {"id": 9001, "actual_status": "loading"}, RUNNING)
    stand_in.routes[("DELETE", "/instances/9001/")] = (200, {}, {"success": True})


def test_create_searches_rents_attaches_the_key_and_waits(provider, stand_in) -> None:  # type: ignore[no-untyped-def]
    _rentable(stand_in, OFFER, {**OFFER, "id": 7002, "dph_total": 0.4})
    made = provider.create(state_of(provider, INPUTS))
    assert made.id == "9001"
    assert made.outs["ssh_host"] == "203.0.113.7" and made.outs["ssh_port"] == 41022
    assert made.outs["machine_id"] == 4242 and made.outs["hourly_price"] == 0.331
    assert {k: made.outs[k] for k in INPUTS} == INPUTS  # inputs kept beside the outputs
    assert stand_in.headers[0]["Authorization"] == "Bearer vast-key"
    query = stand_in.body("POST", "/bundles/")
    assert query == offer_query(INPUTS)
    assert query["gpu_name"] == {"in": ["RTX_4090"]} and query["geolocation"] == {"in": ["US"]}
    assert query["dph_total"] == {"lte": 0.5} and query["order"] == [["dph_total", "asc"]]
    assert query["cpu_ram"] == {"gte": 65536} and query["direct_port_count"] == {"gte": 2}
    assert query["gpu_ram"] == {"gte": 21600} and query["type"] == "ondemand"
    rent = stand_in.body("PUT", "/asks/7001/")  # the cheapest offer
    assert rent["runtype"] == "ssh_direct" and rent["image"] == INPUTS["image"]
    assert rent["env"] == {"STIX_LABEL_STIX_CLUSTER": "t", "-p 8080:8080": "1"}
    assert rent["disk"] == 64 and rent["label"] == "t-0" and "price" not in rent
    assert stand_in.body("POST", "/instances/9001/ssh/") == {"ssh_key": KEY}
    assert PROVIDER_KEY not in json.dumps(stand_in.bodies)


def test_an_offer_taken_meanwhile_rents_the_next(provider, stand_in) -> None:  # type: ignore[no-untyped-def]
    _rentable(stand_in, OFFER, {**OFFER, "id": 7002})
    stand_in.routes[("PUT", "/asks/7001/")] = _vast_error(
        410, "no_such_ask", "error 410/3907: no_such_ask Instance type 7001 is no longer "
                            "available.")
    assert provider.create(state_of(provider, INPUTS)).id == "9001"
    assert stand_in.paths("PUT") == ["/asks/7001/", "/asks/7002/"]


def test_interruptible_bids_above_the_minimum_within_the_cap(provider, stand_in) -> None:  # type: ignore[no-untyped-def]
    _rentable(stand_in, OFFER)
    provider.create(state_of(provider, {**INPUTS, "interruptible": True, "max_price": 0.21}))
    query = stand_in.body("POST", "/bundles/")
    assert query["type"] == "bid" and query["min_bid"] == {"lte": 0.21}
    assert stand_in.body("PUT", "/asks/7001/")["price"] == 0.21  # 0.22 capped
    stand_in.routes[("POST", "/bundles/")] = (200, {}, {"offers": []})
    with pytest.raises(CloudError) as caught:
        provider.create(state_of(provider, {**INPUTS, "interruptible": True}))
    assert caught.value.kind == "spot"  # on-demand stays open to failover


@pytest.mark.parametrize(("route", "answer", "kind"), [
    (("POST", "/bundles/"), (200, {}, {"offers": []}), "capacity"),
    (("PUT", "/asks/*"), _vast_error(404, "invalid_args", "error 404/3603: no_such_ask "
                                     "Instance type by id 7001 is not available."), "capacity"),
    (("PUT", "/asks/*"), _vast_error(400, "insufficient_credit", "Your account lacks credit; "
                                     "see the billing page."), "credentials"),
    (("PUT", "/asks/*"), _vast_error(401, "not_authenticated", "Unauthorized"), "credentials"),
    (("POST", "/bundles/"), (404, {}, {"error": "", "msg": "Invalid user key"}), "credentials"),
    (("PUT", "/asks/*"), _vast_error(400, "invalid_args", "disk: must be >= 8"), None),
])
def test_errors_feed_failover(provider, stand_in, route, answer, kind) -> None:  # type: ignore[no-untyped-def]
    _rentable(stand_in, OFFER)
    stand_in.routes[route] = answer
    with pytest.raises(CloudError) as caught:
        provider.create(state_of(provider, INPUTS))
    assert caught.value.kind == kind
    # Pulumi prints the provider's exception; the engine's classifier reads the mark.
    assert classify(f"error: Exception: {caught.value}", "vast") == (kind or "other")
    assert stand_in.paths("DELETE") == []  # nothing was rented, nothing to undo


def test_an_instance_that_never_runs_is_destroyed(provider, stand_in) -> None:  # type: ignore[no-untyped-def]
    _rentable(stand_in, OFFER)
    stand_in.routes[("GET", "/instances/9001/")] = _booting(
        {"id": 9001, "actual_status": "loading"},
        {"id": 9001, "actual_status": "exited", "status_msg": "image pull failed"})
    with pytest.raises(CloudError, match="image pull failed") as caught:
        provider.create(state_of(provider, INPUTS))
    assert caught.value.kind == "capacity"  # the next placement is tried
    assert stand_in.paths("DELETE") == ["/instances/9001/"]


def test_no_key_is_a_credentials_error_before_any_call(stand_in, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("VAST_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    bare = revived(RestProvider(instance_type(), {"base_url": stand_in.url}))
    with pytest.raises(CloudError) as caught:
        bare.create(state_of(bare, INPUTS))
    assert caught.value.kind == "credentials" and stand_in.calls == []


def test_read_update_and_delete(provider, stand_in) -> None:  # type: ignore[no-untyped-def]
    state = {**INPUTS, "ssh_host": "203.0.113.7", "ssh_port": 41022}
    stand_in.routes[("GET", "/instances/9001/")] = (200, {}, {"instances": {
        **RUNNING, "ports": {}, "public_ipaddr": None}})
    read = provider.read("9001", state_of(provider, state))
    assert read.id == "9001"
    assert (read.outs["ssh_host"], read.outs["ssh_port"]) == ("ssh4.vast.ai", 23456)  # proxy

    stand_in.routes[("PUT", "/instances/9001/")] = (200, {}, {"success": True})
    stand_in.routes[("GET", "/instances/9001/")] = (200, {}, {"instances": {
        **RUNNING, "actual_status": "stopped"}})
    stopped = provider.update("9001", state, state_of(provider, {**INPUTS, "state": "stopped"}))
    assert stand_in.body("PUT", "/instances/9001/") == {"state": "stopped"}
    assert stopped.outs["status"] == "stopped" and stopped.outs["state"] == "stopped"

    stand_in.routes[("GET", "/instances/9001/")] = (200, {}, {"instances": None})
    gone = provider.read("9001", state_of(provider, state))
    assert gone.id == "" and gone.outs == {}

    stand_in.routes[("DELETE", "/instances/9001/")] = (200, {}, {"success": True})
    provider.delete("9001", state)
    stand_in.routes[("DELETE", "/instances/9001/")] = (404, {}, {"success": False,
                                                                 "error": "not_found",
                                                                 "msg": "Instance not found"})
    provider.delete("9001", state)  # already gone is not an error
    assert stand_in.paths("DELETE") == ["/instances/9001/", "/instances/9001/"]


def test_diff_replaces_on_the_shape_and_stops_in_place(provider) -> None:  # type: ignore[no-untyped-def]
    olds = {**INPUTS, "ssh_host": "203.0.113.7", "machine_id": 4242, PROVIDER_KEY: "old"}
    same = provider.diff("9001", olds, {**olds, "machine_id": 1, PROVIDER_KEY: "new"})
    assert same.changes is False and same.replaces == []
    for field, value in (("gpu_name", "RTX 3090"), ("region", "SE"), ("max_price", 0.6),
                         ("interruptible", True), ("image", "ubuntu:22.04")):
        moved = provider.diff("9001", olds, {**olds, field: value})
        assert moved.replaces == [field], field
    power = provider.diff("9001", olds, {**olds, "state": "stopped"})
    assert power.changes is True and power.replaces == []


def test_check_refuses_a_tiny_disk_and_a_missing_key(provider) -> None:  # type: ignore[no-untyped-def]
    bad = provider.check({}, state_of(provider, {**INPUTS, "disk_gb": 4, "public_key": ""}))
    assert sorted(f.property for f in bad.failures) == ["disk_gb", "public_key"]


def test_error_shapes_and_patterns() -> None:
    assert parse_error({"success": False, "error": "invalid_args",
                        "msg": "error 404/3603: no_such_ask Instance type by id 1 is not "
                               "available."})[0] == "no_such_ask"
    assert parse_error({"error": "insufficient_credit", "msg": "no"})[0] == "insufficient_credit"
    assert parse_error({"detail": "API requests too frequent"}) == (
        "", "API requests too frequent")
    assert parse_error("oops") == ("", "oops")
    cloud = registry.cloud("vast")
    assert cloud.error_patterns == ERRORS.patterns()
    assert classify("vast create instance: no_such_ask: gone (HTTP 410)", "vast") == "capacity"
    assert classify("vast create instance: insufficient_credit: x", "vast") == "credentials"


# ---- the fetcher -----------------------------------------------------------------------------


def _opener(seen: list[str]) -> Any:
    data = (FIXTURES / "bundles.json").read_bytes()

    def open_url(url: str) -> IO[bytes]:
        seen.append(url)
        return io.BytesIO(data)

    return open_url


def test_fetcher_buckets_the_offer_search_by_shape_and_country() -> None:
    from urllib.parse import parse_qs, urlsplit

    from stix.catalog import load_catalog

    seen: list[str] = []
    result = registry.cloud("vast").fetch_prices(_opener(seen), load_catalog(clouds=["vast"]))
    query = json.loads(parse_qs(urlsplit(seen[0]).query)["q"][0])
    assert seen[0].startswith("https://console.vast.ai/api/v0/bundles/?q=")
    assert query["type"] == "ondemand" and query["num_gpus"] == {"gte": 1}
    assert result.skipped == {"host without a country in its geolocation": 1,
                              "not an x86_64 host": 1, "no whole GPU, vCPUs or RAM": 1}
    rows = {(o.instance_type, o.region): o for o in result.offers}
    h100 = rows[("8x-H100_SXM-128-1024", "US")]
    assert (h100.accelerator, h100.accelerator_count, h100.accelerator_memory_gib) == (
        "H100", 8, 80)
    assert (h100.vcpus, h100.memory_gib) == (128, 1024)
    assert all(o.price_source == "observed" and o.spot_price is not None
               and o.spot_price <= o.price for o in result.offers)
    assert rows[("1x-A100_SXM4-32-128", "US")].accelerator == "A100-80GB"
    assert rows[("1x-RTX_A6000-16-64", "DE")].accelerator == "A6000"
    only = registry.cloud("vast").fetch_prices(_opener([]), load_catalog(clouds=["vast"]),
                                               regions=["se"])
    assert {o.region for o in only.offers} == {"SE"}


def test_fetcher_refuses_an_answer_of_another_shape() -> None:
    from stix.catalog.update import FetchError
    from stix.clouds.vast.prices import fetch

    with pytest.raises(FetchError, match="no offers list"):
        fetch(lambda url: io.BytesIO(b'{"error": "x"}'), None)  # type: ignore[arg-type]


def test_the_snapshot_is_the_example_marked_as_such() -> None:
    from stix.catalog import load_catalog
    from stix.catalog.snapshot import SNAPSHOT_DATE
    from stix.paths import shipped_catalog_dir

    folder = shipped_catalog_dir() / "vast"
    assert "EXAMPLE" in (folder / "README.md").read_text()
    assert "EXAMPLE" in json.loads((folder / "source.json").read_text())["source"]
    rows = load_catalog(clouds=["vast"]).for_cloud("vast")
    assert rows and all(o.price_source == "estimated" and o.as_of == SNAPSHOT_DATE
                        for o in rows)
    cloud = registry.cloud("vast")
    assert all(cloud.check_offer(o.instance_type, o.vcpus, o.memory_gib, o.accelerator,
                                 o.accelerator_count) == "" for o in rows)


# ---- credentials -----------------------------------------------------------------------------


def test_credentials_from_env_then_files(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stix.clouds.vast.credentials import api_key

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("VAST_API_KEY", raising=False)
    cloud = registry.cloud("vast")
    missing = cloud.check_credentials()
    assert not missing.ok and "VAST_API_KEY" in (missing.hint or "")
    old = tmp_path / ".vast_api_key"
    old.write_text("old-key\n")
    assert api_key() == "old-key" and cloud.check_credentials().ok
    new = tmp_path / ".config" / "vastai" / "vast_api_key"
    new.parent.mkdir(parents=True)
    new.write_text("new-key")
    assert api_key() == "new-key"
    monkeypatch.setenv("VAST_API_KEY", "env-key")
    assert api_key() == "env-key"
    assert cloud.check_credentials().sources == ["$VAST_API_KEY"]


# ---- what plan and show-gpus say -------------------------------------------------------------


def test_plan_says_the_host_is_chosen_at_apply_time(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stix.optimizer import optimize
    from stix.stack.plan import plan_placement
    from stix.stack.project import init_project
    from stix.task import parse_tasks

    monkeypatch.setenv("HOME", str(tmp_path))
    task = parse_tasks("resources:\n  infra: vast\n  accelerators: RTX4090:1\n"
                       "  use_spot: true\nrun: echo\n").tasks[0]
    placement = optimize(task, cluster="t").chosen
    project, _ = init_project(tmp_path / "p")
    done = plan_placement(placement, project, public_key=KEY, write=False)
    said = " ".join(done.warnings)
    assert "chosen at apply time" in said and "interruptible bid" in said
    assert f"at most ${round(placement.hourly_price * 1.25, 4):g}/h" in said


def test_show_gpus_marks_the_example_rows() -> None:
    from stix.catalog import load_catalog

    cloud = registry.cloud("vast")
    rows = load_catalog(clouds=["vast"]).for_cloud("vast")
    assert "EXAMPLE" in (cloud.catalog_note(rows) or "")
    assert cloud.catalog_note([o._replace(price_source="observed") for o in rows]) is None


# ---- reaching the node, and the catalog update --------------------------------------------


def test_the_node_is_reached_on_its_mapped_ssh_port_as_root(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stix.cluster.stacks import nodes_from_outputs
    from stix.placement import Placement, PlacementAccelerator
    from stix.remote.container import for_placement

    monkeypatch.setenv("HOME", str(tmp_path))
    placement = Placement(cluster="t", cloud="vast", region="US",
                          instance_type="1x-RTX_4090-16-64", vcpus=16, memory_gib=64,
                          accelerator=PlacementAccelerator(name="RTX4090", count=1),
                          hourly_price=0.3, image_id="docker:vllm/vllm-openai:latest")
    outputs = {"nodes": [{"name": "t-0", "public_ip": "203.0.113.7", "ssh_port": 41022}],
               "head_ip": "203.0.113.7", "ssh_user": "root"}
    [node] = nodes_from_outputs(outputs, placement)
    assert (node.host, node.port, node.user) == ("203.0.113.7", 41022, "root")
    # The instance is the task's container: the node phase starts none inside it.
    assert for_placement(placement, []) is None


def test_catalog_update_writes_observed_vast_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stix.catalog import load_catalog
    from stix.catalog.update import updatable_clouds, update_catalog

    assert "vast" in updatable_clouds()
    done = update_catalog(["vast"], tmp_path, opener=_opener([]))
    assert done.results[0].cloud == "vast"
    rows = load_catalog(tmp_path, clouds=["vast"]).for_cloud("vast")
    assert rows and all(o.price_source == "observed" for o in rows)
