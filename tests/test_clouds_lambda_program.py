"""Lambda's program under Pulumi's mocks: what a Lambda stack declares (an SSH key, a
firewall ruleset of SSH and the task's ports, one instance per node), what it exposes,
and what the plan refuses (spot) — the graph `stix plan` writes and reviews."""

from __future__ import annotations

import pytest
from stack_support import PUBLIC_KEY, check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

INSTANCE = "pulumi-python:dynamic/lambda:Instance"
RULESET = "pulumi-python:dynamic/lambda:FirewallRuleset"
KEY = "pulumi-python:dynamic/lambda:SshKey"


def _lambda(region: str = "us-east-1", **more):  # type: ignore[no-untyped-def]
    fields = {"vcpus": 30, "memory_gib": 200, "hourly_price": 1.29, **more}
    return placement("lambda", "gpu_1x_a10", region=region, gpu=("A10", 1), **fields)


def test_gpu_node_golden() -> None:
    graph = synth(_lambda(ports=[8080]))
    check_golden(graph, "lambda-gpu")
    node = inputs(graph, INSTANCE, "t-0")
    assert node["instance_type"] == "gpu_1x_a10" and node["region"] == "us-east-1"
    assert node["firewall_ruleset_ids"] == [ref(RULESET, "t-firewall")]
    assert node["ssh_key_name"] == inputs(graph, KEY, "t-key")["name"]
    assert "image" not in node  # Lambda's default image
    assert inputs(graph, KEY, "t-key")["public_key"] == PUBLIC_KEY
    assert "__provider" not in node  # the serialized provider is code, not an input
    assert graph.outputs["head_ip"] == ref(INSTANCE, "t-0", "public_ip")


def test_ruleset_opens_ssh_and_the_task_ports_only() -> None:
    rules = inputs(synth(_lambda(ports=[8080, "9000-9002"])), RULESET, "t-firewall")["rules"]
    assert [(r["protocol"], r["port_range"], r["source_network"]) for r in rules] == [
        ("tcp", [22, 22], "0.0.0.0/0"), ("tcp", [8080, 8080], "0.0.0.0/0"),
        ("tcp", [9000, 9002], "0.0.0.0/0")]
    narrow = synth(_lambda(ports=[22, 8080], extra={"ssh_cidrs": ["192.0.2.0/24"]}))
    rules = inputs(narrow, RULESET, "t-firewall")["rules"]
    assert [(r["port_range"], r["source_network"]) for r in rules] == [
        ([22, 22], "192.0.2.0/24"), ([8080, 8080], "192.0.2.0/24")]  # SSH once


def test_exposure_names_what_lambda_cannot_close() -> None:
    from stix.stack.exposure import findings

    open_ = [f.text for f in findings(synth(_lambda())) if f.kind == "open"]
    assert open_ == ["tcp 22 open to 0.0.0.0/0"]
    closed = findings(synth(_lambda(extra={"ssh_cidrs": ["192.0.2.0/24"]})))
    assert [f.kind for f in closed] == ["public_ip"]  # every Lambda instance has one
    texas = findings(synth(_lambda(region="us-south-1", extra={"ssh_cidrs": ["192.0.2.0/24"]})))
    assert any(f.kind == "open" and "no firewall rules in us-south-1" in f.text for f in texas)


def test_nodes_and_names() -> None:
    graph = synth(_lambda(num_nodes=2, labels={"team": "ml"}))
    names = sorted(r.name for r in graph.resources.values() if r.type == INSTANCE)
    assert names == ["t-0", "t-1"]
    tags = inputs(graph, INSTANCE, "t-1")["tags"]
    assert {"key": "team", "value": "ml"} in tags and {"key": "stix-node-rank",
                                                       "value": "1"} in tags
    assert len(graph.outputs["nodes"]) == 2


def test_image_id_forms() -> None:
    from stix.clouds import registry

    node = inputs(synth(_lambda(image_id="family:lambda-stack-24-04")), INSTANCE, "t-0")
    assert node["image"] == {"family": "lambda-stack-24-04"}
    cloud = registry.cloud("lambda")
    assert cloud.image_problem("id:abc123") is None
    assert "not a Lambda image" in (cloud.image_problem("ami-123") or "")


def test_spot_is_refused_at_plan_with_the_reason(write_task) -> None:  # type: ignore[no-untyped-def]
    from stix.optimizer import optimize
    from stix.optimizer.explain import NothingFitsError
    from stix.task import load_task

    task = load_task(write_task("resources:\n  infra: lambda\n  accelerators: A10:1\n"
                                "  use_spot: true\nrun: echo\n"))
    with pytest.raises(NothingFitsError, match="lambda: no spot market, on-demand instances "
                                               "only"):
        optimize(task, cluster="s")


def test_aliases_and_replacements() -> None:
    from stix.clouds import registry
    from stix.clouds.types import cloud_of, replace_on

    assert registry.canonical("lambdalabs") == registry.canonical("lambda_cloud") == "lambda"
    assert cloud_of(INSTANCE) is registry.cloud("lambda")
    assert "instance_type" in replace_on(INSTANCE) and "name" not in replace_on(INSTANCE)
    assert replace_on(RULESET) == ("region",)
