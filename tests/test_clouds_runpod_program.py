"""The RunPod program under Pulumi's mocks: one pod resource of stix's dynamic provider,
the inputs RunPod's deploy mutations get, and golden graphs for CPU, GPU, ports and spot."""

from __future__ import annotations

import pytest
from stack_support import PUBLIC_KEY, check_golden, inputs, placement, ref, synth

from stix.clouds.common import ProgramError

POD = "pulumi-python:dynamic/runpod:Pod"


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cpu = placement("runpod", "cpu3c-2-4", region="US", zone="US-GA-1", vcpus=2, memory_gib=4,
                    hourly_price=0.06)
    gpu = placement("runpod", "8x_H100-SXM_SECURE", region="CA", zone="CA-MTL-1",
                    gpu=("H100", 8), vcpus=160, memory_gib=640, hourly_price=23.92,
                    disk_size=500)
    ports = placement("runpod", "1x_RTX4090_SECURE", region="RO", zone="EU-RO-1",
                      gpu=("RTX4090", 1), ports=[8000, "9000-9002", 22], image_id="docker:vllm/vllm-openai:v0.6.0",
                      extra={"ssh_cidrs": ["192.0.2.0/24"]})
    spot = placement("runpod", "2x_RTX4090_SECURE", region="US", zone="US-TX-3",
                     gpu=("RTX4090", 2), use_spot=True, hourly_price=0.68)
    return {k: synth(p) for k, p in
            {"cpu": cpu, "gpu": gpu, "ports": ports, "spot": spot}.items()}


def test_cpu_pod(graphs: dict) -> None:
    g = graphs["cpu"]
    assert sorted(r.type for r in g.resources.values()) == [POD]
    pod = inputs(g, POD, "t-0")
    assert pod["cpu_instance_id"] == "cpu3c-2-4" and pod.get("gpu_type_id") is None
    assert pod["image"] == "runpod/base:1.0.2-ubuntu2204"
    assert pod["data_center_id"] == "US-GA-1" and pod["cloud_type"] == "SECURE"
    assert pod["ports"] == "22/tcp" and pod.get("bid_per_gpu") is None
    assert pod["env"] == {"PUBLIC_KEY": PUBLIC_KEY}
    assert g.outputs["ssh_user"] == "root"
    assert g.outputs["nodes"] == [{"name": "t-0", "public_ip": ref(POD, "t-0", "public_ip"),
                                   "ssh_port": ref(POD, "t-0", "ssh_port"),
                                   "ports": ref(POD, "t-0", "ports_map")}]


def test_gpu_pod_asks_for_the_type_and_its_shape(graphs: dict) -> None:
    pod = inputs(graphs["gpu"], POD, "t-0")
    assert (pod["gpu_type_id"], pod["gpu_count"]) == ("NVIDIA H100 80GB HBM3", 8)
    assert (pod["min_vcpus"], pod["min_memory_gb"]) == (160, 640)
    assert pod["image"].startswith("runpod/pytorch:") and pod["container_disk_gb"] == 500


def test_ports_image_and_ssh_cidrs(graphs: dict) -> None:
    from stix.stack.exposure import findings

    pod = inputs(graphs["ports"], POD, "t-0")
    assert pod["ports"] == "22/tcp,8000/tcp,9000/tcp,9001/tcp,9002/tcp"
    assert pod["image"] == "vllm/vllm-openai:v0.6.0"  # the task's image is what the pod runs
    assert pod["env"]["PUBLIC_KEY"] == f'from="192.0.2.0/24" {PUBLIC_KEY}'
    found = [f.text for f in findings(graphs["ports"]) if f.kind == "open"]
    assert len(found) == 4 and all("no firewall" in t for t in found)  # SSH is limited


def test_spot_bids_the_interruptible_price_per_gpu(graphs: dict) -> None:
    pod = inputs(graphs["spot"], POD, "t-0")
    assert pod["bid_per_gpu"] == 0.34 and pod["gpu_count"] == 2


@pytest.mark.parametrize("case", ["cpu", "gpu", "ports", "spot"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"runpod-{case}")


def test_what_the_program_refuses() -> None:
    with pytest.raises(ProgramError, match="share no private network"):
        synth(placement("runpod", "cpu3c-2-4", region="US", zone="US-GA-1", num_nodes=2))
    with pytest.raises(ProgramError, match="no interruptible 1x_A40_SECURE"):
        synth(placement("runpod", "1x_A40_SECURE", region="US", zone="US-GA-1",
                        gpu=("A40", 1), use_spot=True))
    with pytest.raises(ProgramError, match="not a RunPod pod type"):
        synth(placement("runpod", "g5.xlarge", region="US", zone="US-GA-1"))
