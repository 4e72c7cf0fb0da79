"""Lambda's dynamic provider (stix/clouds/lambda_cloud) against a local HTTP stand-in for
Lambda's Cloud API v1. The stand-in (`LambdaStandIn`) is written from Lambda's published
API reference — routes, the `{"data": ...}` envelope, instance statuses and the
`{"error": {"code", "message", "suggestion"}}` answers — and is no recording of Lambda:
it proves the requests stix makes and how it reads answers of those shapes. Each provider
goes through Pulumi's own serializer first, as in Pulumi's dynamic provider host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dynamic_support import revived, state_of

from stix.clouds.dynamic import PROVIDER_KEY, UNKNOWN, CloudError, RestProvider
from stix.clouds.lambda_cloud.types import by_name
from stix.engine.errors import classify

KEY = "secret_test-key"
PUBLIC = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKpQe+Z6wqWB6flee48ydS/3MH3V+NWymNdyQlhpEQEY me"
FIXTURES = Path(__file__).parent / "fixtures" / "lambda"


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], Any]:
    return status, {}, {"error": {"code": code, "message": message,
                                  "suggestion": "see Lambda's documentation"}}


class LambdaStandIn:
    """Lambda's API as documented, in memory: keys, rulesets, instances that boot
    (`booting` for `boots` reads, then `active` with an address), capacity per type."""

    def __init__(self, http: Any) -> None:
        self.http = http
        self.keys: dict[str, dict[str, Any]] = {}
        self.rulesets: dict[str, dict[str, Any]] = {}
        self.instances: dict[str, dict[str, Any]] = {}
        self.no_capacity: set[str] = set()
        self.quota_left = 100
        self.boots = 1
        self.boot_to = "active"
        self.launches: list[dict[str, Any]] = []
        routes = {
            ("GET", "/api/v1/ssh-keys"): self._list_keys,
            ("POST", "/api/v1/ssh-keys"): self._add_key,
            ("DELETE", "/api/v1/ssh-keys/*"): self._delete_key,
            ("POST", "/api/v1/firewall-rulesets"): self._add_ruleset,
            ("GET", "/api/v1/firewall-rulesets/*"): self._get_ruleset,
            ("PATCH", "/api/v1/firewall-rulesets/*"): self._patch_ruleset,
            ("DELETE", "/api/v1/firewall-rulesets/*"): self._delete_ruleset,
            ("POST", "/api/v1/instance-operations/launch"): self._launch,
            ("POST", "/api/v1/instance-operations/terminate"): self._terminate,
            ("GET", "/api/v1/instances"): self._list_instances,
            ("GET", "/api/v1/instances/*"): self._get_instance,
            ("POST", "/api/v1/instances/*"): self._rename,
        }
        for route, answer in routes.items():
            http.routes[route] = self._authorized(answer)

    @property
    def url(self) -> str:
        return f"{self.http.url}/api/v1"

    def _authorized(self, answer: Any) -> Any:
        def route(path: str, query: Any) -> Any:
            if self.http.headers[-1].get("Authorization") != f"Bearer {KEY}":
                return _error(401, "global/invalid-api-key", "API key was invalid, expired, "
                              "or deleted.")
            return answer(path.rsplit("/", 1)[-1], self.http.bodies[-1])
        return route

    def _list_keys(self, _: str, body: Any) -> Any:
        return 200, {}, {"data": list(self.keys.values())}

    def _add_key(self, _: str, body: Any) -> Any:
        if any(k["name"] == body["name"] for k in self.keys.values()):
            return _error(400, "global/invalid-parameters", "SSH key name already in use")
        made = {"id": f"key{len(self.keys)}", **body}
        self.keys[made["id"]] = made
        return 200, {}, {"data": made}

    def _delete_key(self, id_: str, body: Any) -> Any:
        if self.keys.pop(id_, None) is None:
            return _error(404, "global/object-does-not-exist", "no such key")
        return 200, {}, {"data": {}}

    def _add_ruleset(self, _: str, body: Any) -> Any:
        made = {"id": f"fw{len(self.rulesets)}", "name": body["name"],
                "region": {"name": body["region"]}, "rules": body["rules"],
                "instance_ids": []}
        self.rulesets[made["id"]] = made
        return 200, {}, {"data": made}

    def _get_ruleset(self, id_: str, body: Any) -> Any:
        if id_ not in self.rulesets:
            return _error(404, "global/object-does-not-exist", "no such ruleset")
        return 200, {}, {"data": self.rulesets[id_]}

    def _patch_ruleset(self, id_: str, body: Any) -> Any:
        self.rulesets[id_].update(body)
        return 200, {}, {"data": self.rulesets[id_]}

    def _delete_ruleset(self, id_: str, body: Any) -> Any:
        if self.rulesets.pop(id_, None) is None:
            return _error(404, "global/object-does-not-exist", "no such ruleset")
        return 200, {}, {"data": {}}

    def _launch(self, _: str, body: Any) -> Any:
        self.launches.append(body)
        if body["instance_type_name"] in self.no_capacity:
            return _error(400, "instance-operations/launch/insufficient-capacity",
                          "Not enough capacity to fulfill launch request.")
        if self.quota_left <= 0:
            return _error(400, "global/quota-exceeded", "Quota exceeded.")
        self.quota_left -= 1
        id_ = f"i{len(self.instances)}"
        self.instances[id_] = {"id": id_, "name": body.get("name"), "status": "booting",
                               "reads": 0, "region": {"name": body["region_name"]},
                               "tags": body.get("tags") or [],
                               "instance_type": {"name": body["instance_type_name"]}}
        return 200, {}, {"data": {"instance_ids": [id_]}}

    def _terminate(self, _: str, body: Any) -> Any:
        done = []
        for id_ in body["instance_ids"]:
            if id_ not in self.instances:
                return _error(404, "global/object-does-not-exist", "no such instance")
            self.instances[id_]["status"] = "terminating"
            done.append(self.instances[id_])
        return 200, {}, {"data": {"terminated_instances": done}}

    def _get_instance(self, id_: str, body: Any) -> Any:
        inst = self.instances.get(id_)
        if inst is None:
            return _error(404, "global/object-does-not-exist", "no such instance")
        inst["reads"] += 1
        if inst["status"] == "terminating":
            del self.instances[id_]  # gone once terminated: GET answers 404 from then on
        elif inst["status"] == "booting" and inst["reads"] > self.boots:
            inst["status"] = self.boot_to
            if self.boot_to == "active":
                inst.update(ip=f"192.0.2.{10 + int(id_[1:])}", private_ip=f"10.0.0.{id_[1:]}")
        return 200, {}, {"data": {k: v for k, v in inst.items() if k != "reads"}}

    def _list_instances(self, _: str, body: Any) -> Any:
        return 200, {}, {"data": [{k: v for k, v in i.items() if k != "reads"}
                                  for i in self.instances.values()]}

    def _rename(self, id_: str, body: Any) -> Any:
        self.instances[id_]["name"] = body["name"]
        return self._get_instance(id_, body)


@pytest.fixture
def api(stand_in, monkeypatch) -> LambdaStandIn:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAMBDA_API_KEY", KEY)
    return LambdaStandIn(stand_in)


def provider(api: LambdaStandIn, kind: str) -> RestProvider:
    return revived(RestProvider(by_name(kind), {"base_url": api.url, "poll_seconds": 0}))


INSTANCE = {"name": "c-0", "region": "us-east-1", "instance_type": "gpu_1x_a10",
            "ssh_key_name": "c-stix-1234", "user_data": "#cloud-config\n{}\n",
            "firewall_ruleset_ids": ["fw0"], "tags": [{"key": "stix-cluster", "value": "c"}]}


def test_instance_create_read_update_delete(api: LambdaStandIn) -> None:
    p = provider(api, "Instance")
    made = p.create(state_of(p, INSTANCE))
    assert made.id == "i0"
    assert made.outs == {**INSTANCE, "public_ip": "192.0.2.10", "private_ip": "10.0.0.0",
                         "status": "active"}
    assert api.launches == [{
        "region_name": "us-east-1", "instance_type_name": "gpu_1x_a10",
        "ssh_key_names": ["c-stix-1234"], "name": "c-0", "user_data": INSTANCE["user_data"],
        "firewall_rulesets": [{"id": "fw0"}], "tags": [{"key": "stix-cluster", "value": "c"}],
    }]  # no image: Lambda's default; no __provider sent to the cloud

    assert p.read("i0", state_of(p, made.outs)).outs == made.outs
    renamed = p.update("i0", made.outs, state_of(p, {**INSTANCE, "name": "c-head"}))
    assert renamed.outs["name"] == "c-head" and api.instances["i0"]["name"] == "c-head"

    p.delete("i0", made.outs)
    assert api.instances == {}  # terminated, then waited for until it is gone
    gone = p.read("i0", made.outs)
    assert gone.id == "" and gone.outs == {}  # a refresh drops it
    p.delete("i0", made.outs)  # already gone is not an error


def test_instance_diff_says_what_replaces(api: LambdaStandIn) -> None:
    p = provider(api, "Instance")
    olds = {**INSTANCE, "public_ip": "192.0.2.10", "private_ip": "10.0.0.0",
            "status": "active", PROVIDER_KEY: "old"}
    assert p.diff("i0", olds, {**olds, "status": "booting", PROVIDER_KEY: "new"}).changes \
        is False
    renamed = p.diff("i0", olds, {**INSTANCE, "name": "c-head"})
    assert renamed.changes and renamed.replaces == []
    for key, value in [("region", "us-west-1"), ("instance_type", "gpu_1x_h100_pcie"),
                       ("user_data", "#cloud-config\n{a: 1}\n"), ("firewall_ruleset_ids", []),
                       ("ssh_key_name", "c-stix-9999"), ("image", {"family": "x"})]:
        moved = p.diff("i0", olds, {**INSTANCE, key: value})
        assert moved.replaces == [key], key
    assert p.diff("i0", olds, {**INSTANCE, "firewall_ruleset_ids": [UNKNOWN]}).replaces == \
        ["firewall_ruleset_ids"]
    from stix.clouds.types import replace_on

    assert replace_on(by_name("Instance").token) == by_name("Instance").replace_on


def test_capacity_error_feeds_failover(api: LambdaStandIn) -> None:
    api.no_capacity.add("gpu_1x_a10")
    p = provider(api, "Instance")
    with pytest.raises(CloudError) as caught:
        p.create(state_of(p, INSTANCE))
    assert caught.value.kind == "capacity" and caught.value.status == 400
    text = str(caught.value)
    assert "instance-operations/launch/insufficient-capacity" in text
    # Pulumi's engine prints the provider's exception; failover reads that text.
    engine_output = f"error: Exception calling application: {text}"
    assert classify(engine_output, "lambda") == "capacity"
    # Lambda's own code alone (no stix mark) is in the cloud's patterns too.
    assert classify("code instance-operations/launch/insufficient-capacity", "lambda") == \
        "capacity"
    assert api.instances == {}


def test_auth_error_feeds_failover(api: LambdaStandIn, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAMBDA_API_KEY", "wrong")
    p = provider(api, "Instance")
    with pytest.raises(CloudError) as caught:
        p.create(state_of(p, INSTANCE))
    assert caught.value.kind == "credentials" and caught.value.status == 401
    assert "global/invalid-api-key" in str(caught.value)
    assert classify(str(caught.value), "lambda") == "credentials"
    assert KEY not in str(caught.value) and "wrong" not in str(caught.value)

    monkeypatch.delenv("LAMBDA_API_KEY")
    monkeypatch.setenv("HOME", str(tmp_path))  # no key file either
    with pytest.raises(CloudError) as none:
        p.create(state_of(p, INSTANCE))
    assert none.value.kind == "credentials" and classify(str(none.value)) == "credentials"
    assert not api.launches  # nothing was asked without a key


def test_quota_error_feeds_failover(api: LambdaStandIn) -> None:
    api.quota_left = 0
    p = provider(api, "Instance")
    with pytest.raises(CloudError) as caught:
        p.create(state_of(p, INSTANCE))
    assert caught.value.kind == "quota" and classify(str(caught.value), "lambda") == "quota"


def test_an_instance_that_fails_to_boot_is_terminated(api: LambdaStandIn) -> None:
    api.boot_to = "unhealthy"
    p = provider(api, "Instance")
    with pytest.raises(CloudError, match="became unhealthy"):
        p.create(state_of(p, INSTANCE))
    assert api.http.body("POST", "/api/v1/instance-operations/terminate") == {
        "instance_ids": ["i0"]}  # create is transactional: nothing left behind


def test_a_failed_undo_says_the_instance_may_still_run(api: LambdaStandIn) -> None:
    api.boot_to = "unhealthy"
    api.http.routes[("POST", "/api/v1/instance-operations/terminate")] = _error(
        500, "global/unknown", "try again later")
    p = provider(api, "Instance")
    with pytest.raises(CloudError, match="terminating instance i0 again failed too, so it "
                                         "may still run and bill") as caught:
        p.create(state_of(p, INSTANCE))
    assert caught.value.kind == "capacity"  # the launch's own failure still decides


def test_rate_limit_is_retried(api: LambdaStandIn, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import stix.clouds.dynamic as dynamic

    monkeypatch.setattr(dynamic.time, "sleep", lambda s: None)
    answers = iter([(429, {}, {"error": {"code": "global/unknown", "message": "slow down"}})])
    real = api.http.routes[("POST", "/api/v1/ssh-keys")]
    api.http.routes[("POST", "/api/v1/ssh-keys")] = lambda path, q: next(answers, None) or \
        real(path, q)
    p = provider(api, "SshKey")
    assert p.create(state_of(p, {"name": "c-stix-1", "public_key": PUBLIC})).id == "key0"


def test_ssh_key_lifecycle_and_a_leftover_key(api: LambdaStandIn) -> None:
    p = provider(api, "SshKey")
    props = {"name": "c-stix-1", "public_key": PUBLIC}
    made = p.create(state_of(p, props))
    assert made.id == "key0" and api.keys["key0"]["public_key"] == PUBLIC
    assert p.read("key0", made.outs).id == "key0"
    # The same key under the same name (an earlier run's): adopted, not an error.
    assert p.create(state_of(p, props)).id == "key0"
    with pytest.raises(CloudError):  # the same name with another key is refused
        p.create(state_of(p, {**props, "public_key": "ssh-ed25519 AAAAother x"}))
    assert p.diff("key0", made.outs, {**props, "public_key": "ssh-rsa AAAA y"}).replaces == \
        ["public_key"]
    p.delete("key0", made.outs)
    assert api.keys == {} and p.read("key0", made.outs).id == ""
    p.delete("key0", made.outs)


def test_firewall_ruleset_lifecycle(api: LambdaStandIn) -> None:
    p = provider(api, "FirewallRuleset")
    rule = {"protocol": "tcp", "port_range": [22, 22], "source_network": "192.0.2.0/24",
            "description": "stix c: SSH"}
    props = {"name": "c-stix", "region": "us-east-1", "rules": [rule]}
    made = p.create(state_of(p, props))
    assert api.rulesets["fw0"]["rules"] == [rule]
    wider = {**props, "rules": [rule, {**rule, "port_range": [8080, 8080]}]}
    assert p.diff("fw0", made.outs, wider).replaces == []  # rules change in place
    assert p.diff("fw0", made.outs, {**props, "region": "us-west-1"}).replaces == ["region"]
    p.update("fw0", made.outs, state_of(p, wider))
    assert len(api.rulesets["fw0"]["rules"]) == 2
    bad = p.check({}, state_of(p, {**props, "rules": [{**rule, "port_range": [0, 70000]}]}))
    assert bad.failures and bad.failures[0].property == "rules"
    p.delete("fw0", made.outs)
    assert api.rulesets == {} and p.read("fw0", made.outs).id == ""


def test_node_states_read_the_clusters_instances(api: LambdaStandIn, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stix.clouds import registry
    from stix.placement import Placement

    p = provider(api, "Instance")
    p.create(state_of(p, INSTANCE))
    p.create(state_of(p, {**INSTANCE, "name": "c-1"}))
    p.create(state_of(p, {**INSTANCE, "name": "other-0", "tags": [
        {"key": "stix-cluster", "value": "other"}]}))
    api.instances["i1"]["status"] = "terminating"
    import stix.clouds.lambda_cloud.program as program

    monkeypatch.setattr(program, "settings", lambda: {"base_url": api.url})
    placement = Placement(cluster="c", cloud="lambda", region="us-east-1",
                          instance_type="gpu_1x_a10", vcpus=30, memory_gib=200,
                          hourly_price=1.29)
    states = registry.cloud("lambda").node_states(placement, {})
    assert states is not None and sorted(states) == ["c-0", "c-1"]
    assert (states["c-0"].power, states["c-0"].public_ip, states["c-0"].id) == (
        "running", "192.0.2.10", "i0")
    assert states["c-1"].power == "stopping"


# ---- the fetcher: GET /instance-types (needs the key) ------------------------------------------


def test_fetcher_reads_instance_types(api: LambdaStandIn) -> None:
    from stix.catalog import load_catalog
    from stix.clouds.lambda_cloud.prices import fetch

    body = json.loads((FIXTURES / "instance-types.json").read_text())
    api.http.routes[("GET", "/api/v1/instance-types")] = (200, {}, body)
    result = fetch(load_catalog(clouds=["lambda"]), api=api.url)
    assert api.http.headers[-1]["Authorization"] == f"Bearer {KEY}"
    rows = {(o.instance_type, o.region): o for o in result.offers}
    a10 = rows[("gpu_1x_a10", "us-east-1")]
    assert (a10.vcpus, a10.memory_gib, a10.accelerator, a10.accelerator_count, a10.price) == \
        (30, 200, "A10", 1, 0.75)
    assert a10.price_source == "observed" and a10.spot_price is None and a10.spot_origin == "none"
    # No capacity now: written in the regions the catalog in use lists for it.
    assert ("gpu_8x_h100_sxm5", "us-east-1") in rows and rows[
        ("gpu_8x_h100_sxm5", "us-east-1")].price == 23.92
    gh = rows[("gpu_1x_gh200", "us-east-3")]
    assert gh.arch == "arm64" and gh.accelerator == "GH200"
    assert not any(t == "gpu_1x_mystery" for t, _ in rows)
    assert result.skipped["GPU stix cannot name"] == 1
    only = fetch(load_catalog(clouds=["lambda"]), api=api.url, regions=["us-west-1"])
    assert {o.region for o in only.offers} == {"us-west-1"}


def test_fetcher_needs_a_key(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stix.catalog import load_catalog
    from stix.catalog.update import CredentialsError
    from stix.clouds.lambda_cloud.prices import fetch

    monkeypatch.delenv("LAMBDA_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(CredentialsError, match="LAMBDA_API_KEY"):
        fetch(load_catalog(clouds=["lambda"]), api="http://127.0.0.1:9")


def test_fetcher_reports_a_refused_key(api: LambdaStandIn, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from stix.catalog import load_catalog
    from stix.catalog.update import FetchError
    from stix.clouds.lambda_cloud.prices import fetch

    api.http.routes[("GET", "/api/v1/instance-types")] = _error(
        401, "global/invalid-api-key", "API key was invalid, expired, or deleted.")
    with pytest.raises(FetchError, match="global/invalid-api-key"):
        fetch(load_catalog(clouds=["lambda"]), api=api.url)


def test_credentials_from_env_file_and_verify(api: LambdaStandIn, monkeypatch,  # type: ignore[no-untyped-def]
                                              tmp_path) -> None:
    from stix.clouds.lambda_cloud.credentials import check

    api.http.routes[("GET", "/api/v1/instance-types")] = api._authorized(
        lambda _, body: (200, {}, {"data": {}}))
    assert check().ok and "LAMBDA_API_KEY" in check().detail
    assert check(verify=True, base_url=api.url).ok
    monkeypatch.setenv("LAMBDA_API_KEY", "wrong")
    refused = check(verify=True, base_url=api.url)
    assert not refused.ok and "global/invalid-api-key" in refused.detail and refused.hint
    monkeypatch.delenv("LAMBDA_API_KEY")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert not check().ok
    (tmp_path / ".lambda_cloud").mkdir()
    (tmp_path / ".lambda_cloud" / "lambda_keys").write_text(f"api_key = {KEY}\n")
    found = check()
    assert found.ok and "lambda_keys" in found.detail


# ---- through Pulumi's own dynamic provider host (its gRPC servicer, in-process) -----------------


def test_an_instance_through_pulumis_provider_host(api: LambdaStandIn) -> None:
    from dynamic_support import Host, HostAbort

    host = Host()
    made = RestProvider(by_name("Instance"), {"base_url": api.url, "poll_seconds": 0})
    props = state_of(made, INSTANCE)
    id_, outs = host.create(props)
    assert id_ == "i0" and outs["public_ip"] == "192.0.2.10"
    assert outs[PROVIDER_KEY] == props[PROVIDER_KEY]  # the state keeps the provider
    assert host.read(id_, outs) == (id_, outs)
    same = host.diff(id_, outs, props)
    moved = host.diff(id_, outs, {**props, "region": "us-west-1"})
    renamed = host.diff(id_, outs, {**props, "name": "c-head"})
    from pulumi.runtime import proto

    assert same.changes == proto.DiffResponse.DIFF_NONE
    assert moved.changes == proto.DiffResponse.DIFF_SOME and list(moved.replaces) == ["region"]
    assert renamed.changes == proto.DiffResponse.DIFF_SOME and list(renamed.replaces) == []
    assert host.update(id_, outs, {**props, "name": "c-head"})["name"] == "c-head"
    host.delete(id_, outs)
    assert api.instances == {}
    # A capacity error reaches the engine as the host's abort, with the failover mark.
    api.no_capacity.add("gpu_1x_a10")
    try:
        host.create(props)
    except HostAbort as abort:
        assert classify(abort.details, "lambda") == "capacity"
        assert "instance-operations/launch/insufficient-capacity" in abort.details
    else:
        raise AssertionError("the launch without capacity did not fail")
