"""Vast's program under Pulumi's mocks: one instance that records the shape asked for (the
offer is chosen at apply time), its image, ports, key and market; what it exposes; and
what the plan refuses (several nodes, an image that is no container, Terraform) — the
graph `stix plan` writes and reviews. Vast sells no machine without GPUs, so there is no
CPU graph: a task asking only for CPUs is placed elsewhere."""

from __future__ import annotations

import pytest
from stack_support import PUBLIC_KEY, check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

INSTANCE = "pulumi-python:dynamic/vast:Instance"


def _vast(instance_type: str = "1x-RTX_4090-16-64", gpu: tuple[str, float] = ("RTX4090", 1),
          **more):  # type: ignore[no-untyped-def]
    fields = {"vcpus": 16, "memory_gib": 64, "hourly_price": 0.30, **more}
    return placement("vast", instance_type, region="US", gpu=gpu, **fields)


def test_gpu_instance_golden() -> None:
    graph = synth(_vast())
    check_golden(graph, "vast-gpu")
    node = inputs(graph, INSTANCE, "t-0")
    assert {k: node[k] for k in ("gpu_name", "num_gpus", "min_vcpus", "min_memory_gib",
                                 "region", "max_price", "interruptible")} == {
        "gpu_name": "RTX 4090", "num_gpus": 1, "min_vcpus": 16, "min_memory_gib": 64,
        "region": "US", "max_price": 0.375, "interruptible": False}
    assert node["min_gpu_memory_gib"] == 21.6  # an RTX 4090 has 24 GiB
    assert node["image"] == "pytorch/pytorch:2.4.0-cuda12.4-cudnn9-runtime"  # images.csv
    assert node["public_key"] == PUBLIC_KEY and PUBLIC_KEY in node["onstart"]
    assert node["ports"] == [] and node["state"] == "running" and node["disk_gb"] == 256
    assert node["env"]["STIX_LABEL_STIX_CLUSTER"] == "t"
    assert "__provider" not in node and "offer_id" not in node  # no offer in the stack
    assert graph.outputs["nodes"] == [{"name": "t-0", "public_ip": ref(INSTANCE, "t-0",
                                                                        "ssh_host"),
                                       "ssh_port": ref(INSTANCE, "t-0", "ssh_port")}]
    assert graph.outputs["ssh_user"] == "root"


def test_ports_golden_and_exposure() -> None:
    from stix.stack.exposure import findings

    graph = synth(_vast(ports=[8080, "9000-9002"]))
    check_golden(graph, "vast-ports")
    assert inputs(graph, INSTANCE, "t-0")["ports"] == [8080, 9000, 9001, 9002]
    found = [(f.kind, f.text) for f in findings(graph)]
    assert ("open", "t-0: task port 8080 open to 0.0.0.0/0 (Vast has no firewall)") in found
    assert any(k == "open" and "SSH" in t for k, t in found)
    limited = synth(_vast(ports=[8080], extra={"ssh_cidrs": ["192.0.2.0/24"]}))
    node = inputs(limited, INSTANCE, "t-0")
    assert "AllowUsers root@192.0.2.0/24" in node["onstart"]
    texts = [f.text for f in findings(limited) if f.kind == "open"]
    assert texts == ["t-0: task port 8080 open to 0.0.0.0/0 (Vast has no firewall)"]


def test_spot_is_an_interruptible_bid_golden() -> None:
    graph = synth(_vast("8x-H100_SXM-128-1024", ("H100", 8), use_spot=True,
                        hourly_price=7.2, image_id="docker:vllm/vllm-openai:latest",
                        extra={"max_price": 9.5, "datacenter": True}))
    check_golden(graph, "vast-spot")
    node = inputs(graph, INSTANCE, "t-0")
    assert node["interruptible"] is True and node["max_price"] == 9.5
    assert node["gpu_name"] == "H100 SXM" and node["num_gpus"] == 8
    assert node["datacenter"] is True and node["image"] == "vllm/vllm-openai:latest"


def test_stopped_power_is_an_input_changed_in_place() -> None:
    from stix.clouds.vast.types import instance_type

    node = inputs(synth(_vast(power="stopped")), INSTANCE, "t-0")
    assert node["state"] == "stopped"
    assert "state" not in instance_type().replace_on  # stop/start is an update


def test_plan_refuses_what_vast_cannot_build() -> None:
    from stix.clouds.common import ProgramError

    with pytest.raises(ProgramError, match="share no private network"):
        synth(_vast(num_nodes=2))
    with pytest.raises(ProgramError, match="not a Vast instance type"):
        synth(_vast("gpu_1x_a10"))
    with pytest.raises(ProgramError, match="at most 32"):
        synth(_vast(ports=["8000-8100"]))


def test_image_and_region_refusals_name_the_choices() -> None:
    from stix.clouds import registry
    from stix.optimizer import optimize
    from stix.optimizer.explain import NothingFitsError
    from stix.task import parse_tasks

    cloud = registry.cloud("vast")
    assert cloud.image_problem("docker:ubuntu:22.04") is None
    assert "containers" in (cloud.image_problem("ami-0123456789abcdef0") or "")

    def place(resources: str) -> object:
        task = parse_tasks(f"resources:\n  infra: vast{resources}\nrun: echo\n").tasks[0]
        return optimize(task, cluster="t").chosen

    with pytest.raises(NothingFitsError, match="it is in vast US"):  # the regions it has
        place("/ZZ\n  accelerators: RTX4090:1")
    with pytest.raises(NothingFitsError, match="not offered in vast"):
        place("\n  accelerators: Gaudi:8")
    with pytest.raises(NothingFitsError, match="one node per cluster"):
        place("\n  accelerators: RTX4090:1\nnum_nodes: 2")


def test_terraform_is_refused_naming_the_pulumi_engine() -> None:
    from stix.clouds import registry
    from stix.engine.terraform.translate import TranslationError, to_terraform

    cloud = registry.cloud("vast")
    assert not cloud.capabilities.terraform and cloud.terraform_provider is None
    with pytest.raises(TranslationError, match=r"no mapping for pulumi-python:dynamic/vast:"
                                               r"Instance; use the pulumi engine"):
        to_terraform(synth(_vast()))
