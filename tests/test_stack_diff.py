"""Graph diffs: create / update / replace / delete, cascades, and the $/h delta."""

from __future__ import annotations

import pytest
from stack_support import placement, synth

from stix.stack import report
from stix.stack.diff import diff_graphs, flatten
from stix.stack.graph import Graph, Resource

pytest.importorskip("pulumi_gcp", reason="needs the pulumi extra")

INSTANCE = "gcp:compute/instance:Instance"


def a100(count: int, price: float, nodes: int = 1):  # type: ignore[no-untyped-def]
    return placement("gcp", f"a2-highgpu-{count}g", region="us-central1", zone="us-central1-a",
                     gpu=("A100", count), hourly_price=price, num_nodes=nodes)


@pytest.fixture(scope="module")
def one_gpu():  # type: ignore[no-untyped-def]
    return a100(1, 3.67), synth(a100(1, 3.67))


def test_a100_1_to_8_changes_the_machine_and_the_cost(one_gpu) -> None:  # type: ignore[no-untyped-def]
    p1, g1 = one_gpu
    p8 = a100(8, 29.39)
    d = diff_graphs(g1, synth(p8), p1, p8)
    [change] = d.changes
    assert (change.action, change.type, change.name) == ("update", INSTANCE, "t-0")
    assert [(c.path, c.before, c.after) for c in change.inputs] == [
        ("machineType", "a2-highgpu-1g", "a2-highgpu-8g")]
    assert d.hourly_before == pytest.approx(3.67) and d.hourly_after == pytest.approx(29.39)
    assert d.hourly_delta == pytest.approx(25.72)
    out = report.text(d, "stack t")
    assert "machineType: \"a2-highgpu-1g\" → \"a2-highgpu-8g\"" in out
    assert "$3.67/h → $29.39/h (+$25.72/h)" in out
    md = report.markdown(d, "stack t")
    assert "| ~ | update | `gcp:compute/instance:Instance` | `t-0` |" in md
    assert d.to_dict()["hourly_price"] == {"before": 3.67, "after": 29.39, "delta": 25.72}


def test_more_nodes_create_and_fewer_delete(one_gpu) -> None:  # type: ignore[no-untyped-def]
    p1, g1 = one_gpu
    p3 = a100(1, 3.67, nodes=3)
    g3 = synth(p3)
    up = diff_graphs(g1, g3, p1, p3)
    # ordered by action, then type, then name
    assert [(c.action, c.name) for c in up.changes] == [("create", "t-allow-internal"),
                                                        ("create", "t-1"), ("create", "t-2")]
    assert up.hourly_delta == pytest.approx(2 * 3.67)
    down = diff_graphs(g3, g1, p3, p1)
    assert {c.action for c in down.changes} == {"delete"} and down.count("delete") == 3


def test_same_graph_no_changes(one_gpu) -> None:  # type: ignore[no-untyped-def]
    p1, g1 = one_gpu
    d = diff_graphs(g1, Graph.from_json(g1.to_json()), p1, p1)
    assert d.empty and d.unchanged == len(g1.resources)
    assert "no changes" in report.text(d, "h")


def test_first_plan_creates_everything(one_gpu) -> None:  # type: ignore[no-untyped-def]
    p1, g1 = one_gpu
    d = diff_graphs(None, g1, None, p1)
    assert d.count("create") == len(g1.resources) and d.hourly_before is None
    assert "— → $3.67/h" in report.text(d, "h")


def test_zone_move_replaces_and_cascades() -> None:
    a = placement("gcp", "n2-standard-8", region="us-central1", zone="us-central1-a")
    b = placement("gcp", "n2-standard-8", region="us-central1", zone="us-central1-b")
    d = diff_graphs(synth(a), synth(b), a, b)
    by_name = {c.name: c for c in d.changes}
    assert by_name["t-0"].action == "replace"
    assert any(c.path == "zone" and c.forces_replace for c in by_name["t-0"].inputs)
    assert by_name["t-gcp"].action == "replace"  # the provider's zone changed
    assert "(forces replacement)" in report.text(d, "h")


def test_reference_to_a_replaced_resource_cascades() -> None:
    def graph(cidr: str) -> Graph:
        g = Graph(stack="c", program="aws")
        g.add(Resource("aws:ec2/vpc:Vpc", "v", {"cidrBlock": cidr}))
        ref = {"$ref": "aws:ec2/vpc:Vpc::v", "attr": "id"}
        g.add(Resource("aws:ec2/subnet:Subnet", "s", {"vpcId": ref}))
        g.add(Resource("aws:ec2/securityGroup:SecurityGroup", "g", {"vpcId": ref}))
        g.add(Resource("aws:ec2/instance:Instance", "i", {
            "subnetId": {"$ref": "aws:ec2/subnet:Subnet::s", "attr": "id"},
            "vpcSecurityGroupIds": [{"$ref": "aws:ec2/securityGroup:SecurityGroup::g",
                                     "attr": "id"}]}))
        return g

    d = diff_graphs(graph("10.0.0.0/16"), graph("10.1.0.0/16"), None, None)
    actions = {c.name: c.action for c in d.changes}
    assert actions == {"v": "replace", "s": "replace", "g": "replace", "i": "replace"}
    reasons = next(c for c in d.changes if c.name == "i").reasons
    assert "subnetId refers to aws:ec2/subnet:Subnet::s, which is replaced" in reasons


def test_flatten_keeps_references_whole() -> None:
    ref = {"$ref": "x::y", "attr": "id"}
    assert flatten({"a": {"b": [1, ref]}, "c": {}}) == {"a.b[0]": 1, "a.b[1]": ref, "c": {}}


def test_multiline_change_shows_the_first_changed_line() -> None:
    text = report._change_text("a\nb\nc", "a\nB\nc")
    assert text == 'line 2 of 3: "b" → "B"'
