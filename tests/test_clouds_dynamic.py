"""The base for REST-backed Pulumi dynamic providers (stix/clouds/dynamic.py), on a toy
"widget" API served by a local HTTP stand-in (tests/http_support.py): it is no cloud's
API, only the shapes such APIs use ({"error": {"code", "message"}} answers, bearer
tokens). The provider goes through Pulumi's own serializer before each use, as in
Pulumi's dynamic provider host (tests/dynamic_support.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pytest
from dynamic_support import revived, state_of

from stix.clouds.dynamic import (
    PROVIDER_KEY,
    UNKNOWN,
    CloudError,
    DynamicType,
    ErrorRule,
    ErrorTable,
    Operations,
    RestApi,
    RestProvider,
    common_error,
    declare,
    diff_inputs,
    token_from,
)
from stix.engine.errors import classify, failover_mark

ERRORS = ErrorTable((
    ErrorRule("capacity", r"^widgets/out-of-stock$"),
    ErrorRule("quota", r"quota"),
    ErrorRule("credentials", r"^auth/"),
    ErrorRule("credentials", status=401),
))


class WidgetOps(Operations):
    """Create/read/update/delete of a widget; the token comes from the environment."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        self.api = RestApi("widgetcloud", settings["base_url"], token_from("WIDGET_TOKEN"),
                           ERRORS)

    def check(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [] if inputs.get("size", 1) > 0 else [("size", "must be positive")]

    def create(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        made = self.api.call("POST", "/widgets", dict(inputs), "create widget")
        return made["id"], {"address": made["address"]}

    def read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            found = self.api.call("GET", f"/widgets/{id_}")
        except CloudError as exc:
            if exc.status == 404:
                return None
            raise
        return {"address": found["address"]}

    def update(self, id_: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        found = self.api.call("PATCH", f"/widgets/{id_}", {"label": news.get("label")})
        return {"address": found["address"]}

    def delete(self, id_: str, state: Mapping[str, Any]) -> None:
        try:
            self.api.call("DELETE", f"/widgets/{id_}")
        except CloudError as exc:
            if exc.status != 404:
                raise


WIDGET = DynamicType("widgetcloud", "Widget", "test_clouds_dynamic:WidgetOps",
                     replace_on=("region", "spec.size"), computed=("address",))


@pytest.fixture
def provider(stand_in, monkeypatch) -> RestProvider:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("WIDGET_TOKEN", "tok")
    return revived(RestProvider(WIDGET, {"base_url": stand_in.url}))


def test_token_and_settings_stay_apart(stand_in) -> None:  # type: ignore[no-untyped-def]
    blob = state_of(RestProvider(WIDGET, {"base_url": stand_in.url}), {})[PROVIDER_KEY]
    assert isinstance(blob, str) and blob  # serialized; the token is read where it is used
    assert WIDGET.token == "pulumi-python:dynamic/widgetcloud:Widget"
    from stix.clouds.types import package_of

    assert package_of(WIDGET.token) == WIDGET.package == "pulumi-python:dynamic/widgetcloud"


def test_create_read_update_delete(provider, stand_in) -> None:  # type: ignore[no-untyped-def]
    stand_in.routes[("POST", "/widgets")] = (200, {}, {"id": "w-1", "address": "1.2.3.4"})
    stand_in.routes[("GET", "/widgets/w-1")] = (200, {}, {"address": "1.2.3.5"})
    stand_in.routes[("PATCH", "/widgets/w-1")] = (200, {}, {"address": "1.2.3.5"})
    stand_in.routes[("DELETE", "/widgets/w-1")] = (200, {}, None)
    props = {"region": "r1", "label": "a", "spec": {"size": 2}}

    made = provider.create(state_of(provider, props))
    assert made.id == "w-1" and made.outs == {**props, "address": "1.2.3.4"}
    assert stand_in.body("POST", "/widgets") == props  # no __provider sent to the cloud
    assert stand_in.headers[0]["Authorization"] == "Bearer tok"

    read = provider.read("w-1", state_of(provider, made.outs))
    assert read.id == "w-1" and read.outs == {**props, "address": "1.2.3.5"}

    updated = provider.update("w-1", made.outs, state_of(provider, {**props, "label": "b"}))
    assert updated.outs == {**props, "label": "b", "address": "1.2.3.5"}
    assert stand_in.body("PATCH", "/widgets/w-1") == {"label": "b"}

    provider.delete("w-1", made.outs)
    assert stand_in.paths("DELETE") == ["/widgets/w-1"]


def test_read_of_a_gone_resource_drops_it(provider, stand_in) -> None:  # type: ignore[no-untyped-def]
    stand_in.routes[("GET", "/widgets/w-9")] = (404, {}, {"error": {"code": "global/not-found",
                                                                  "message": "no widget"}})
    stand_in.routes[("DELETE", "/widgets/w-9")] = (404, {}, {"error": {"code": "global/not-found"}})
    gone = provider.read("w-9", {"region": "r1"})
    assert gone.id == "" and gone.outs == {}
    provider.delete("w-9", {})  # already gone is not an error


def test_diff_names_the_inputs_that_replace(provider) -> None:  # type: ignore[no-untyped-def]
    olds = {"region": "r1", "label": "a", "spec": {"size": 2, "color": "red"},
            "address": "1.2.3.4", PROVIDER_KEY: "old-code"}
    same = provider.diff("w-1", olds, {**olds, "address": "9.9.9.9", PROVIDER_KEY: "new-code"})
    assert same.changes is False and same.replaces == []  # outputs and code are no inputs

    label = provider.diff("w-1", olds, {**olds, "label": "b"})
    assert label.changes is True and label.replaces == []

    color = provider.diff("w-1", olds, {**olds, "spec": {"size": 2, "color": "blue"}})
    assert color.changes is True and color.replaces == []  # only spec.size replaces

    moved = provider.diff("w-1", olds, {**olds, "region": "r2", "spec": {"size": 3}})
    assert moved.changes is True and moved.replaces == ["region", "spec.size"]

    preview = provider.diff("w-1", olds, {**olds, "region": UNKNOWN})
    assert preview.replaces == ["region"]  # unknown until applied: it may move

    dropped = diff_inputs(WIDGET, olds, {"region": "r1", "spec": olds["spec"]})
    assert dropped.changed == ("label",) and dropped.replaces == ()


def test_check_reports_what_the_cloud_would_refuse(provider) -> None:  # type: ignore[no-untyped-def]
    bad = provider.check({}, state_of(provider, {"size": 0, "region": "r1"}))
    assert [(f.property, f.reason) for f in bad.failures] == [("size", "must be positive")]
    assert provider.check({}, {"size": UNKNOWN, PROVIDER_KEY: "x"}).failures == []


@pytest.mark.parametrize(("status", "body", "kind"), [
    (503, {"error": {"code": "widgets/out-of-stock", "message": "none left"}}, "capacity"),
    (400, {"error": {"code": "widgets/quota-exceeded", "message": "too many"}}, "quota"),
    (403, {"error": {"code": "auth/invalid-token", "message": "bad token"}}, "credentials"),
    (401, "Unauthorized", "credentials"),
    (500, {"error": {"code": "global/internal", "message": "oops"}}, None),
])
def test_errors_carry_the_failover_kind(provider, stand_in, status, body, kind) -> None:  # type: ignore[no-untyped-def]
    stand_in.routes[("POST", "/widgets")] = (status, {}, body if isinstance(body, dict)
                                             else body.encode())
    with pytest.raises(CloudError) as caught:
        provider.create(state_of(provider, {"region": "r1"}))
    error = caught.value
    assert error.kind == kind and error.status == status
    assert str(error).startswith("widgetcloud create widget: ")
    # The engine's output holds the message (Pulumi prints the provider's traceback).
    assert classify(f"error: Exception: {error}", "aws") == (kind or "other")
    if kind:
        assert failover_mark(kind) in str(error)


def test_common_error_shapes() -> None:
    assert common_error({"error": {"code": "a/b", "message": "m"}}) == ("a/b", "m")
    assert common_error({"error": "text"}) == ("", "text")
    assert common_error({"code": "C", "message": "m"}) == ("C", "m")
    assert common_error({"success": False, "msg": "m"}) == ("", "m")
    assert common_error("plain") == ("", "plain")
    assert ERRORS.patterns() == (("capacity", r"^widgets/out-of-stock$"), ("quota", "quota"),
                                 ("credentials", "^auth/"))


def test_unreachable_api_is_a_cloud_error() -> None:
    api = RestApi("widgetcloud", "http://127.0.0.1:9", "tok", ERRORS, timeout=2)
    with pytest.raises(CloudError) as caught:
        api.call("GET", "/widgets", what="list widgets")
    assert caught.value.status is None and caught.value.kind is None
    assert "list widgets" in str(caught.value)


def test_token_from_env_then_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys"
    keys.write_text("# keys\nother = 1\napi_key = secret_abc\n")
    monkeypatch.delenv("WIDGET_TOKEN", raising=False)
    assert token_from("WIDGET_TOKEN", str(keys)) == "secret_abc"
    assert token_from("WIDGET_TOKEN", str(tmp_path / "none")) == ""
    monkeypatch.setenv("WIDGET_TOKEN", "from-env")
    assert token_from("WIDGET_TOKEN", str(keys)) == "from-env"


def test_declare_under_mocks_gives_the_token_and_outputs() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
            seen.append((args.typ, dict(args.inputs)))
            return "w-1", {**args.inputs, "address": "1.2.3.4"}

        def call(self, args: Any) -> dict[str, Any]:
            return {}

    pulumi.runtime.set_mocks(Mocks(), preview=False)

    @pulumi.runtime.test
    def body() -> Any:
        made = declare(WIDGET, "w", {"region": "r1"}, {"base_url": "http://x"})
        return made.address.apply(lambda a: assert_equal(a, "1.2.3.4"))

    body()
    assert seen[0][0] == WIDGET.token
    assert seen[0][1]["region"] == "r1" and PROVIDER_KEY in seen[0][1]
    record = WIDGET.resource_type()
    assert record.token == WIDGET.token and record.replace_on == ("region", "spec.size")
    assert record.terraform is None
    state: dict[str, Any] = {}
    assert record.mock is not None
    record.mock.nested(state, lambda attr: f"<{attr}>")
    assert state == {"address": "<address>"}


def assert_equal(a: Any, b: Any) -> None:
    assert a == b


def test_rate_limits_are_retried_then_reported(stand_in, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import stix.clouds.dynamic as dynamic

    waits: list[float] = []
    monkeypatch.setattr(dynamic.time, "sleep", waits.append)
    answers = iter([(429, {}, {"error": {"code": "global/slow-down"}})] * 2)
    stand_in.routes[("GET", "/widgets")] = lambda path, q: next(
        answers, (200, {}, {"data": []}))
    api = RestApi("widgetcloud", stand_in.url, "tok", ERRORS, backoff=(1.0, 3.0, 9.0))
    assert api.call("GET", "/widgets") == {"data": []} and waits == [1.0, 3.0]
    stand_in.routes[("GET", "/widgets")] = (429, {}, {"error": {"code": "global/slow-down"}})
    with pytest.raises(CloudError) as caught:
        api.call("GET", "/widgets", what="list widgets")
    assert caught.value.status == 429 and waits == [1.0, 3.0, 1.0, 3.0, 9.0]


def test_records_of_one_type_compare_equal() -> None:
    assert WIDGET.resource_type() == WIDGET.resource_type()
