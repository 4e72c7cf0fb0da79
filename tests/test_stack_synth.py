"""Synthesis under Pulumi's mocks: what the recorder keeps, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from stack_support import PUBLIC_KEY, placement, user_data

pulumi = pytest.importorskip("pulumi", reason="needs the pulumi extra")


def _with_program(monkeypatch: pytest.MonkeyPatch, body: Any) -> None:
    from stix.program import run as program

    monkeypatch.setattr(program, "build", lambda p, ud, key: body(p))


def test_duplicate_logical_names_are_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi_kubernetes as k8s

    from stix.stack.graph import GraphError
    from stix.stack.synth import synthesize

    def body(p: Any) -> dict[str, Any]:
        k8s.core.v1.Namespace("same", metadata={"name": "a"})
        k8s.core.v1.Namespace("same", metadata={"name": "b"})
        return {}

    _with_program(monkeypatch, body)
    with pytest.raises(GraphError, match="duplicate logical names: kubernetes:core/v1:Namespace::same"):
        synthesize(placement("kubernetes", "x", region="ctx"), user_data, PUBLIC_KEY)


def test_parents_explicit_dependencies_and_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi_kubernetes as k8s

    from stix.stack.graph import REDACTED
    from stix.stack.synth import synthesize

    class Group(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("stix:test:Group", name)

    def body(p: Any) -> dict[str, Any]:
        group = Group("grp")
        first = k8s.core.v1.Namespace("first", metadata={"name": "first"},
                                      opts=pulumi.ResourceOptions(parent=group))
        k8s.core.v1.Secret("token", metadata={"name": "t", "namespace": "first"},
                           string_data={"token": pulumi.Output.secret("s3cr3t")},
                           opts=pulumi.ResourceOptions(depends_on=[first]))
        return {"ns": first.metadata.name}

    _with_program(monkeypatch, body)
    g = synthesize(placement("kubernetes", "x", region="ctx"), user_data, PUBLIC_KEY)
    ns = g.get("kubernetes:core/v1:Namespace", "first")
    assert ns.parent == "stix:test:Group::grp"
    secret = g.get("kubernetes:core/v1:Secret", "token")
    assert secret.dependencies == ["kubernetes:core/v1:Namespace::first"]
    assert secret.inputs["stringData"] == REDACTED  # the SDK marks all of stringData secret
    assert "s3cr3t" not in g.to_json()
    assert g.outputs == {"ns": "first"}


def test_program_errors_surface_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    from stix.errors import StixError
    from stix.stack.synth import synthesize

    def body(p: Any) -> dict[str, Any]:
        raise StixError("placement t: no can do")

    _with_program(monkeypatch, body)
    with pytest.raises(StixError, match="no can do"):
        synthesize(placement("aws", "x", region="us-east-1"), user_data, PUBLIC_KEY)


def test_unknown_cloud_has_no_program() -> None:
    from stix.errors import StixError
    from stix.stack.synth import synthesize

    with pytest.raises(StixError, match="ssh clusters run on existing machines; they have no stack"):
        synthesize(placement("ssh", "x", region="lab"), user_data, PUBLIC_KEY)


# The documented way to unit-test a Pulumi program: mocks + @pulumi.runtime.test, with the
# assertions inside `apply` (the decorator makes a failing assert fail the test).
class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "aws:ec2/instance:Instance":
            state.update(publicIp=f"203.0.113.{args.name[-1]}", privateIp="10.42.0.9")
        return f"{args.name}-id", state

    def call(self, args: Any) -> dict[str, Any]:
        return {"value": "ami-0123456789abcdef0"}


@pytest.fixture
def plain_mocks() -> None:
    pulumi.runtime.set_mocks(_Mocks(), project="stix", stack="t", preview=False)


@pulumi.runtime.test
def test_aws_outputs_under_plain_mocks(plain_mocks: None) -> Any:
    from stix.program import run as program

    p = placement("aws", "m6i.large", region="us-east-1", num_nodes=2)
    out = program.build(p, user_data, PUBLIC_KEY)

    def check(values: list[Any]) -> None:
        nodes, head = values
        assert [n["name"] for n in nodes] == ["t-0", "t-1"]
        assert [n["public_ip"] for n in nodes] == ["203.0.113.0", "203.0.113.1"]
        assert head == "203.0.113.0"

    return pulumi.Output.all(out["nodes"], out["head_ip"]).apply(check)


def test_synthesis_works_from_a_worker_thread() -> None:
    """Libraries and engines call synthesis from threads, which have no event loop."""
    import threading

    from stix.placement import Placement
    from stix.stack.synth import synthesize
    from tests.tf_support import PUBLIC_KEY

    p = Placement(cluster="th", cloud="aws", region="us-east-1", zone="us-east-1a",
                  instance_type="m6i.large", vcpus=2, memory_gib=8, hourly_price=0.1)
    results: list[object] = []
    t = threading.Thread(target=lambda: results.append(
        synthesize(p, lambda r: "#cloud-config\n", PUBLIC_KEY)))
    t.start()
    t.join(120)
    assert len(results) == 1 and "aws:ec2/instance:Instance::th-0" in results[0].resources  # type: ignore[attr-defined]
