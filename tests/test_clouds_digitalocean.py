"""DigitalOcean beyond its program: the sizes fetcher on recorded answers of the documented
shape (tests/fixtures/digitalocean/), credentials without network, failover kinds from
the API's documented errors, bad input refused at plan with the cloud's own choices, the
shipped snapshot, and Terraform refused."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import IO, Any

import pytest

from stix.catalog import load_catalog
from stix.clouds import registry
from stix.errors import StixError

FIXTURES = Path(__file__).parent / "fixtures" / "digitalocean"
API = "https://api.digitalocean.com/v2"


def recorded(url: str) -> IO[bytes]:
    """The recorded sizes pages, by the page the URL asks for."""
    from urllib.parse import parse_qs, urlsplit

    assert url.startswith(f"{API}/sizes?")
    page = parse_qs(urlsplit(url).query).get("page", ["1"])[0]
    return io.BytesIO((FIXTURES / f"sizes-page{page}.json").read_bytes())


# ---- the fetcher ---------------------------------------------------------------------------


def test_fetcher_reads_every_page_and_prices_each_region() -> None:
    from stix.clouds.digitalocean.prices import fetch

    result = fetch(recorded, load_catalog(clouds=["digitalocean"]))
    rows = {(o.instance_type, o.region): o for o in result.offers}
    assert sorted(rows) == [
        ("c-8", "fra1"), ("c-8", "nyc1"), ("gpu-h100x8-640gb", "nyc2"),
        ("gpu-h100x8-640gb", "tor1"), ("gpu-mi300x1-192gb", "atl1"), ("s-4vcpu-8gb", "ams3"),
        ("s-4vcpu-8gb", "nyc1"), ("s-4vcpu-8gb", "tor1")]
    h100 = rows[("gpu-h100x8-640gb", "tor1")]
    assert (h100.vcpus, h100.memory_gib, h100.accelerator, h100.accelerator_count,
            h100.accelerator_memory_gib, h100.price) == (160, 1920, "H100", 8, 80, 23.92)
    assert rows[("gpu-mi300x1-192gb", "atl1")].accelerator == "MI300X"
    cpu = rows[("c-8", "fra1")]
    assert (cpu.vcpus, cpu.memory_gib, cpu.accelerator, cpu.price) == (8, 16, None, 0.25)
    for o in result.offers:
        assert (o.price_source, o.spot_price, o.spot_origin, o.zone) == (
            "observed", None, "none", None)
    assert result.skipped == {
        "size not available in any region": 1,
        "spot or contract size (stix offers DigitalOcean's on-demand sizes only)": 1,
        "GPU model stix has no name for": 1}


def test_fetcher_keeps_asked_regions_only() -> None:
    from stix.clouds.digitalocean.prices import fetch

    result = fetch(recorded, load_catalog(clouds=["digitalocean"]), regions=["tor1"])
    assert {o.region for o in result.offers} == {"tor1"}


def test_fetcher_refuses_an_answer_that_is_not_a_size_list() -> None:
    from stix.catalog.update import FetchError
    from stix.clouds.digitalocean.prices import fetch

    def wrong(url: str) -> IO[bytes]:
        return io.BytesIO(json.dumps({"id": "not_found", "message": "nope"}).encode())

    with pytest.raises(FetchError, match="no sizes list"):
        fetch(wrong, load_catalog(clouds=["digitalocean"]))


def test_catalog_update_needs_a_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from stix.catalog.update import CredentialsError

    for name in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(CredentialsError, match="needs an API token"):
        registry.cloud("do").fetch_prices(recorded, load_catalog(clouds=["digitalocean"]))


def test_the_token_goes_in_the_authorization_header() -> None:
    from http_support import serving

    from stix.catalog.update import CredentialsError, read_json
    from stix.clouds.digitalocean.prices import bearer_opener

    server = serving()
    try:
        server.routes[("GET", "/v2/sizes")] = (200, {}, {"sizes": [], "links": {}})
        assert read_json(bearer_opener("tok-1"), f"{server.url}/v2/sizes") == {
            "sizes": [], "links": {}}
        assert server.headers[-1]["Authorization"] == "Bearer tok-1"
        server.routes[("GET", "/v2/sizes")] = (401, {}, {"id": "unauthorized",
                                                        "message": "Unable to authenticate you"})
        with pytest.raises(CredentialsError, match="token was refused"):
            read_json(bearer_opener("bad"), f"{server.url}/v2/sizes")
    finally:
        server.server.shutdown()


# ---- credentials ---------------------------------------------------------------------------


@pytest.fixture
def clean_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a credential check without --verify used the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return tmp_path


def test_credentials_from_the_environment(clean_home: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    status = registry.get("do").check_credentials()
    assert not status.ok and "DIGITALOCEAN_TOKEN=" in (status.hint or "")
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_x")
    status = registry.get("do").check_credentials()
    assert status.ok and status.sources == ["env DIGITALOCEAN_ACCESS_TOKEN"]


def test_doctl_config_is_found_and_said_to_be_unread_by_the_engine(clean_home: Path) -> None:
    config = clean_home / ".config" / "doctl" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("access-token: dop_v1_abc\ncontext: default\n", encoding="utf-8")
    status = registry.get("digitalocean").check_credentials()
    assert not status.ok and str(config) in status.detail
    assert status.hint == "export DIGITALOCEAN_TOKEN=$(doctl auth token)"
    from stix.clouds.digitalocean.credentials import find_token

    assert find_token() == ("dop_v1_abc", f"doctl config {config}")


def test_verify_asks_the_account_endpoint() -> None:
    from http_support import serving

    from stix.clouds.digitalocean.credentials import verify

    server = serving()
    try:
        server.routes[("GET", "/v2/account")] = (
            200, {}, json.loads((FIXTURES / "account.json").read_text()))
        status = verify("tok", "env DIGITALOCEAN_TOKEN", api=f"{server.url}/v2")
        assert status.ok and "droplet limit 25" in status.detail
        assert server.headers[-1]["Authorization"] == "Bearer tok"
        server.routes[("GET", "/v2/account")] = (
            401, {}, {"id": "unauthorized", "message": "Unable to authenticate you"})
        status = verify("bad", "env DIGITALOCEAN_TOKEN", api=f"{server.url}/v2")
        assert not status.ok and "401" in status.detail and status.hint
    finally:
        server.server.shutdown()


# ---- failover --------------------------------------------------------------------------------

# The API's errors as its Go client prints them in the engine's output.
_ERR = "error creating droplet: POST https://api.digitalocean.com/v2/droplets: {}"


@pytest.mark.parametrize(("text", "kind"), [
    (_ERR.format('422 (request "4f1c") Size is not available in this region.'), "capacity"),
    (_ERR.format('422 (request "4f1c") creating this/these droplet(s) will exceed your '
                 'droplet limit'), "quota"),
    (_ERR.format('429 (request "9a0b") API Rate limit exceeded.'), "quota"),
    (_ERR.format('401 (request "77aa") Unable to authenticate you'), "credentials"),
    (_ERR.format('403 (request "77ab") You are not authorized to perform this operation'),
     "credentials"),
    (_ERR.format('422 (request "1234") Image is not a valid slug'), "other"),
])
def test_documented_errors_feed_failover(text: str, kind: str) -> None:
    from stix.engine.errors import classify

    assert classify(text, "digitalocean") == kind


# ---- what is refused, at plan, with the cloud's choices ---------------------------------------


def _plan(text: str) -> Any:
    from stix.optimizer import optimize
    from stix.task import parse_tasks

    return optimize(parse_tasks(text + "run: echo ok\n").tasks[0], cluster="c").chosen


@pytest.mark.parametrize(("text", "match"), [
    ("resources:\n  infra: do\n  cpus: 2+\n  use_spot: true\n", "no spot price"),
    ("resources:\n  infra: do/us-east-1\n  cpus: 2\n", "digitalocean ams3"),
    ("resources:\n  cloud: do\n  region: nyc3\n  accelerators: H100:1\n",
     "digitalocean atl1 \\(gpu-h100x1-80gb\\)"),
    ("resources:\n  infra: digitalocean\n  accelerators: A100:1\n",
     "A100:1 is not offered in digitalocean"),
])
def test_bad_input_is_refused_at_plan(text: str, match: str) -> None:
    with pytest.raises(StixError, match=match):
        _plan(text)


def test_skypilot_spellings_place_on_digitalocean() -> None:
    p = _plan("resources:\n  cloud: do\n  region: tor1\n  accelerators: L40S:1\n")
    assert (p.cloud, p.region, p.instance_type) == ("digitalocean", "tor1", "gpu-l40sx1-48gb")
    cpu = _plan("resources:\n  infra: do\n")
    assert not cpu.instance_type.startswith("s-")  # shared-CPU Basic plans only when asked


def test_terraform_is_refused_clearly_and_the_table_would_translate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from stack_support import placement, synth

    from stix.engine.terraform.translate import to_terraform

    cloud = registry.cloud("digitalocean")
    assert not cloud.capabilities.terraform
    graph = synth(placement("digitalocean", "gpu-l40sx1-48gb", region="tor1", gpu=("L40S", 1),
                            num_nodes=2, ports=[8080]))
    with pytest.raises(StixError, match=r"no mapping for digitalocean:.*use the pulumi engine"):
        to_terraform(graph)
    # The bridged types map one to one: switched on, the graph translates.
    monkeypatch.setattr(type(cloud), "capabilities",
                        dataclasses.replace(cloud.capabilities, terraform=True))
    monkeypatch.setattr(type(cloud), "terraform_provider",
                        ("digitalocean", "digitalocean/digitalocean"))
    doc = to_terraform(graph)
    droplet = doc["resource"]["digitalocean_droplet"]["t-1"]
    assert droplet["vpc_uuid"] == "${digitalocean_vpc.t-vpc.id}"
    assert droplet["ssh_keys"] == ["${digitalocean_ssh_key.t-key.fingerprint}"]
    rules = doc["resource"]["digitalocean_firewall"]["t-fw"]["inbound_rule"]
    assert [r["port_range"] for r in rules] == ["22", "8080", "1-65535", "1-65535", None]
    assert rules[2]["source_tags"] == ["stix-cluster:t"] and rules[0]["source_tags"] == []


# ---- the shipped snapshot ---------------------------------------------------------------------


def test_snapshot_sells_what_digitalocean_sells() -> None:
    offers = load_catalog(clouds=["digitalocean"]).for_cloud("digitalocean")
    assert {o.accelerator for o in offers if o.accelerator} == {
        "H100", "H200", "L40S", "MI300X", "RTX4000-Ada", "RTX6000-Ada"}
    assert all(o.spot_price is None and o.zone is None for o in offers)
    assert {o.region for o in offers if o.accelerator} == {"ams3", "atl1", "nyc2", "tor1"}
    cpu_regions = {o.region for o in offers if not o.accelerator}
    assert {"nyc1", "sfo3", "ams3", "fra1", "lon1", "sgp1", "blr1", "syd1", "tor1"} <= cpu_regions
    cloud = registry.cloud("digitalocean")
    for o in offers:  # no invented rows: every size is in the published list, as listed
        assert cloud.check_offer(o.instance_type, o.vcpus, o.memory_gib, o.accelerator,
                                 o.accelerator_count) == ""
    h100 = {o.price for o in offers if o.instance_type == "gpu-h100x1-80gb"}
    assert h100 == {3.39}  # one price in every region


def test_images_are_slugs_for_cpu_nvidia_and_amd() -> None:
    from stix.clouds.images import catalog_image

    assert catalog_image("digitalocean", "nyc1", "ubuntu-22.04-x86_64") == "ubuntu-22-04-x64"
    assert catalog_image("digitalocean", "tor1", "gpu-ubuntu-22.04-x86_64") == "gpu-h100x1-base"
    assert catalog_image("digitalocean", "atl1", "rocm-ubuntu-22.04-x86_64") == "gpu-amd-base"
    cloud = registry.cloud("digitalocean")
    assert cloud.image_problem("ubuntu-24-04-x64") is None
    assert cloud.image_problem("123456789") is None
    assert "not a DigitalOcean image" in (cloud.image_problem("ami-0abc/x") or "")


def test_nothing_but_the_droplet_is_billed_and_stop_is_refused() -> None:
    from stack_support import placement

    cloud = registry.cloud("digitalocean")
    assert cloud.node_charges(placement("digitalocean", "c-8", region="fra1")) == []
    assert not cloud.capabilities.stop_start and not cloud.capabilities.spot
    assert "disk_size" in cloud.ignores


def test_stop_is_refused_because_a_powered_off_droplet_bills() -> None:
    from types import SimpleNamespace

    from stix.cluster.power import can_stop

    record = SimpleNamespace(name="c", provider="digitalocean", has_stack=True,
                             placement=SimpleNamespace(use_spot=False))
    why = can_stop(record)  # type: ignore[arg-type]
    assert why is not None and "bills a powered-off machine in full" in why
    assert "`stix down c` ends the bill" in why


def test_node_states_read_the_clusters_droplets_by_its_tag(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from http_support import serving
    from stack_support import placement

    from stix.clouds.digitalocean.nodes import node_states

    monkeypatch.setenv("DIGITALOCEAN_TOKEN", "tok")
    server = serving()
    try:
        server.routes[("GET", "/v2/droplets")] = (
            200, {}, json.loads((FIXTURES / "droplets.json").read_text()))
        states = node_states(placement("digitalocean", "c-8", region="fra1", num_nodes=2),
                             api=f"{server.url}/v2")
        assert server.calls[-1][2]["tag_name"] == ["stix-cluster:t"]
        assert server.headers[-1]["Authorization"] == "Bearer tok"
    finally:
        server.server.shutdown()
    assert sorted(states) == ["t-0", "t-1"]  # a Droplet without a rank tag is not a node
    assert (states["t-0"].power, states["t-0"].public_ip, states["t-0"].private_ip) == (
        "running", "192.241.165.154", "10.128.192.124")
    assert (states["t-1"].power, states["t-1"].public_ip) == ("stopped", None)


def test_orphans_scan_finds_what_the_cluster_tag_and_vpc_description_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from http_support import serving

    from stix.clouds.digitalocean.orphans import delete, scan

    monkeypatch.setenv("DIGITALOCEAN_TOKEN", "tok")
    server = serving()
    api = f"{server.url}/v2"
    droplets = json.loads((FIXTURES / "droplets.json").read_text())
    droplets["droplets"].append({"id": 9, "name": "mine", "status": "active", "tags": ["web"],
                                 "region": {"slug": "fra1"}})
    server.routes.update({
        ("GET", "/v2/droplets"): (200, {}, droplets),
        ("GET", "/v2/firewalls"): (200, {}, {"firewalls": [
            {"id": "fw-1", "name": "t-fw-1a2b", "tags": ["stix-cluster:t"]},
            {"id": "fw-2", "name": "other", "tags": []}], "links": {}}),
        ("GET", "/v2/tags"): (200, {}, {"tags": [{"name": "stix-cluster:t"}, {"name": "web"}],
                                        "links": {}}),
        ("GET", "/v2/vpcs"): (200, {}, {"vpcs": [
            {"id": "vpc-1", "name": "t-vpc-9f", "region": "fra1",
             "description": "stix cluster t"},
            {"id": "vpc-2", "name": "default-fra1", "region": "fra1", "description": ""}],
            "links": {}}),
        ("DELETE", "/v2/*"): (204, {}, None),
        ("DELETE", "/v2/vpcs/vpc-1"): (404, {}, {"id": "not_found", "message": "gone"}),
    })
    try:
        found = scan(None, api=api)
        assert not found.problems
        got = sorted((r.kind, r.id, r.cluster) for r in found.resources)
        assert got == [("droplet", "3164444", "t"), ("droplet", "3164445", "t"),
                       ("droplet", "3164446", "t"), ("firewall", "fw-1", "t"),
                       ("tag", "stix-cluster:t", "t"), ("vpc", "vpc-1", "t")]
        running = next(r for r in found.resources if r.id == "3164444")
        assert (running.region, running.machine) == ("fra1", "c-8")
        done = delete(found.resources, api=api)
        assert all(d.error is None for d in done)  # a VPC already gone is not an error
        deleted = server.paths("DELETE")
        assert deleted[-2:] == ["/v2/vpcs/vpc-1", "/v2/tags/stix-cluster%3At"]
        assert deleted.index("/v2/firewalls/fw-1") > deleted.index("/v2/droplets/3164444")
    finally:
        server.server.shutdown()
