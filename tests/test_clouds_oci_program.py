"""The OCI (pulumi-oci) program under Pulumi's mocks: golden graphs for CPU, GPU,
multi-node with ports, and spot (preemptible); and what plan refuses for OCI."""

from __future__ import annotations

import base64

import pytest
from stack_support import PUBLIC_KEY, check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi_oci", reason="needs the pulumi extra")

INSTANCE = "oci:Core/instance:Instance"
SECURITY_LIST = "oci:Core/securityList:SecurityList"
SUBNET = "oci:Core/subnet:Subnet"
IMAGES = "oci:Core/getImages:getImages"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaastixtest"
WHERE = {"compartment_id": COMPARTMENT}


def oci(instance_type: str, **more: object) -> object:
    more.setdefault("extra", WHERE)
    return placement("oci", instance_type, region="us-ashburn-1", **more)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cases = {
        "cpu": oci("VM.Standard.E4.Flex$_8_32"),
        "gpu": oci("VM.GPU.A10.1", gpu=("A10", 1), vcpus=30, memory_gib=240),
        "multinode": oci("BM.GPU.H100.8", gpu=("H100", 8), num_nodes=2,
                         ports=[8080, "9000-9002"], disk_tier="high",
                         extra={**WHERE, "ssh_cidrs": ["192.0.2.0/24"]}),
        "spot": oci("VM.Standard.A1.Flex$_4_24", use_spot=True, arch="arm64"),
    }
    return {k: synth(p) for k, p in cases.items()}  # type: ignore[arg-type]


def _image_query(graph: object) -> dict[str, object]:
    [found] = [d for d in graph.data.values() if d.type == IMAGES]  # type: ignore[attr-defined]
    return found.args  # type: ignore[no-any-return]


def test_cpu_task_owns_its_vcn(graphs: dict) -> None:
    g = graphs["cpu"]
    assert sorted(r.type for r in g.resources.values()) == sorted([
        "pulumi:providers:oci", "oci:Core/vcn:Vcn", "oci:Core/internetGateway:InternetGateway",
        "oci:Core/routeTable:RouteTable", SECURITY_LIST, SUBNET, INSTANCE])
    node = inputs(g, INSTANCE, "t-0")
    assert node["shape"] == "VM.Standard.E4.Flex"
    assert node["shapeConfig"] == {"ocpus": 4, "memoryInGbs": 32}  # 8 vCPUs = 4 OCPUs
    assert node["compartmentId"] == COMPARTMENT and node["state"] == "RUNNING"
    assert node["availabilityDomain"]["$data"].startswith(
        "oci:Identity/getAvailabilityDomain:getAvailabilityDomain::")
    assert node["sourceDetails"]["bootVolumeSizeInGbs"] == "256"
    assert node["sourceDetails"]["sourceId"]["$data"].startswith(IMAGES)
    assert node["metadata"]["ssh_authorized_keys"] == PUBLIC_KEY
    assert base64.b64decode(node["metadata"]["user_data"]).decode() == (
        "#cloud-config\nhostname: node-0\n")
    assert node["createVnicDetails"]["subnetId"] == ref(SUBNET, "t-subnet")
    assert node["createVnicDetails"]["assignPublicIp"] == "true"
    assert node["freeformTags"] == {"managed-by": "stix", "stix-cluster": "t",
                                    "stix-node-rank": "0"}
    assert "preemptibleInstanceConfig" not in node
    route = inputs(g, "oci:Core/routeTable:RouteTable", "t-rt")["routeRules"]
    assert route == [{"destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK",
                      "networkEntityId": ref("oci:Core/internetGateway:InternetGateway",
                                             "t-igw")}]
    rules = inputs(g, SECURITY_LIST, "t-sl")["ingressSecurityRules"]
    assert [(r["source"], r["tcpOptions"]) for r in rules] == [("0.0.0.0/0",
                                                                {"min": 22, "max": 22})]
    assert _image_query(g)["filters"] == [{"name": "display_name", "regex": True,
                                           "values": [r"^Canonical-Ubuntu-22\.04-\d{4}\."]}]
    assert _image_query(g)["shape"] == "VM.Standard.E4.Flex"
    assert g.outputs["head_ip"] == ref(INSTANCE, "t-0", "publicIp")


def test_gpu_shape_has_its_size_built_in_and_a_gpu_image(graphs: dict) -> None:
    node = inputs(graphs["gpu"], INSTANCE, "t-0")
    assert node["shape"] == "VM.GPU.A10.1" and "shapeConfig" not in node
    query = _image_query(graphs["gpu"])
    assert query["operatingSystem"] == "Canonical Ubuntu"
    assert query["filters"][0]["values"] == [r"^Canonical-Ubuntu-22\.04-Gen2-GPU-\d{4}\."]


def test_multi_node_reach_each_other_and_ports_follow_ssh_cidrs(graphs: dict) -> None:
    g = graphs["multinode"]
    assert [n.name for n in g.of_type(INSTANCE)] == ["t-0", "t-1"]
    assert [n["name"] for n in g.outputs["nodes"]] == ["t-0", "t-1"]
    assert g.outputs["nodes"][1]["private_ip"] == ref(INSTANCE, "t-1", "privateIp")
    rules = inputs(g, SECURITY_LIST, "t-sl")["ingressSecurityRules"]
    tcp = [(r["source"], r["tcpOptions"]["min"], r["tcpOptions"]["max"])
           for r in rules if r["protocol"] == "6"]
    assert tcp == [("192.0.2.0/24", 22, 22), ("192.0.2.0/24", 8080, 8080),
                   ("192.0.2.0/24", 9000, 9002)]
    assert [r["source"] for r in rules if r["protocol"] == "all"] == ["10.42.0.0/16"]
    assert inputs(g, INSTANCE, "t-1")["sourceDetails"]["bootVolumeVpusPerGb"] == "20"


def test_spot_is_preemptible_capacity_terminated_on_preemption(graphs: dict) -> None:
    node = inputs(graphs["spot"], INSTANCE, "t-0")
    assert node["preemptibleInstanceConfig"] == {
        "preemptionAction": {"type": "TERMINATE", "preserveBootVolume": False}}
    assert node["shapeConfig"] == {"ocpus": 4, "memoryInGbs": 24}  # A1: 1 OCPU = 1 vCPU
    assert _image_query(graphs["spot"])["filters"][0]["values"] == [
        r"^Canonical-Ubuntu-22\.04-aarch64-\d{4}\."]


@pytest.mark.parametrize("case", ["cpu", "gpu", "multinode", "spot"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"oci-{case}")


def test_existing_subnet_private_stopped_and_an_image_ocid() -> None:
    image = "ocid1.image.oc1.iad.aaaaaaaastiximage"
    g = synth(oci("VM.Standard.E4.Flex$_2_8", power="stopped", image_id=image,
                  extra={**WHERE, "subnet_id": "ocid1.subnet.oc1.iad.aaaa", "private": True,
                         "availability_domain": 2}))
    assert sorted(r.type for r in g.resources.values()) == ["oci:Core/instance:Instance",
                                                            "pulumi:providers:oci"]
    node = inputs(g, INSTANCE, "t-0")
    assert node["state"] == "STOPPED" and node["sourceDetails"]["sourceId"] == image
    assert node["createVnicDetails"] == {"assignPublicIp": "false", "displayName": "t-0",
                                         "freeformTags": {"managed-by": "stix",
                                                          "stix-cluster": "t"},
                                         "subnetId": "ocid1.subnet.oc1.iad.aaaa"}
    assert [d.args["adNumber"] for d in g.data.values()] == [2]
    assert "public_ip" not in g.outputs["nodes"][0]  # None entries are dropped
    assert g.outputs["head_ip"] == ref(INSTANCE, "t-0", "privateIp")


def test_private_without_a_subnet_is_refused() -> None:
    from stix.clouds.common import ProgramError

    with pytest.raises(ProgramError, match=r"extra\.subnet_id"):
        synth(oci("VM.Standard.E4.Flex$_2_8", extra={**WHERE, "private": True}))


def test_compartment_defaults_to_the_configured_tenancy(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: object) -> None:
    from stix.clouds.oci import program

    monkeypatch.setenv("OCI_CONFIG_FILE", str(tmp_path) + "/none")
    monkeypatch.setenv("OCI_CLI_TENANCY", "ocid1.tenancy.oc1..aaaaroot")
    assert program.compartment(oci("VM.Standard.E4.Flex$_2_8", extra={})) == \
        "ocid1.tenancy.oc1..aaaaroot"
    assert program.compartment(oci("VM.Standard.E4.Flex$_2_8")) == COMPARTMENT
    monkeypatch.delenv("OCI_CLI_TENANCY")
    assert program.compartment(oci("VM.Standard.E4.Flex$_2_8", extra={})) == \
        program.UNSET_COMPARTMENT


def test_the_offline_image_answer_stands_in_only_offline() -> None:
    from types import SimpleNamespace

    from stix.clouds.common import ProgramError
    from stix.clouds.oci.program import _newest

    assert _newest(SimpleNamespace(images=None, id="lookup")) == "lookup"
    newest = SimpleNamespace(id="ocid1.image.oc1.iad.new")
    assert _newest(SimpleNamespace(images=[newest], id="x")) == "ocid1.image.oc1.iad.new"
    with pytest.raises(ProgramError, match="no platform image"):
        _newest(SimpleNamespace(images=[], id="x"))


def test_terraform_engine_refuses_oci_stacks_clearly(graphs: dict) -> None:
    from stix.clouds import registry
    from stix.engine.terraform.translate import TranslationError, to_terraform

    assert registry.cloud("oci").capabilities.terraform is False
    with pytest.raises(TranslationError, match=r"oci.*use the pulumi engine|provider oci"):
        to_terraform(graphs["cpu"])


# ---- what `stix plan` refuses for OCI, with OCI's own choices ------------------------------


def _optimize(resources: str) -> object:
    from stix.optimizer import optimize
    from stix.task import parse_tasks

    task = parse_tasks(f"resources:\n{resources}run: echo ok\n").tasks[0]
    return optimize(task, cluster="c").chosen


def test_plan_places_skypilot_names_and_sizes() -> None:
    chosen = _optimize("  cloud: oci\n  region: eu-frankfurt-1\n  accelerators: A100-80GB:8\n")
    assert (chosen.cloud, chosen.region, chosen.instance_type) == (
        "oci", "eu-frankfurt-1", "BM.GPU.A100-v2.8")
    flex = _optimize("  infra: oci/us-phoenix-1\n  instance_type: VM.Standard.E4.Flex$_16_64\n")
    assert (flex.vcpus, flex.memory_gib, flex.hourly_price) == (16, 64, pytest.approx(0.296))


@pytest.mark.parametrize(("resources", "says"), [
    ("  infra: oci\n  accelerators: T4:1\n", "T4:1 is not offered in oci"),
    ("  infra: oci/us-east-1\n  cpus: 2\n", "did you mean 'us-ashburn-1'"),
    ("  infra: oci\n  accelerators: H100:8\n  use_spot: true\n",
     "H100:8 has no spot price where it fits; on demand: oci"),
])
def test_bad_input_is_refused_with_ocis_choices(resources: str, says: str) -> None:
    from stix.errors import StixError

    with pytest.raises(StixError, match=says.replace("(", r"\(")):
        _optimize(resources)


def test_host_firewall_opens_ports_and_the_cluster_network_at_first_boot(
        graphs: dict, tmp_path: object) -> None:
    """Oracle's images reject all but SSH in iptables: a multipart user-data adds a script
    that lets in the task's ports and the VCN, which cloud-init reads as two parts."""
    import email
    import subprocess

    text = base64.b64decode(inputs(graphs["multinode"], INSTANCE, "t-1")["metadata"]
                            ["user_data"]).decode()
    message = email.message_from_string(text)
    assert message.is_multipart()
    config, script = (part.get_payload() for part in message.get_payload())
    assert config == "#cloud-config\nhostname: node-1"
    rules = [line for line in script.splitlines() if line.startswith("iptables")]
    assert rules == [
        "iptables -I INPUT 1 -s 10.42.0.0/16 -j ACCEPT",
        "iptables -I INPUT 1 -p tcp -m state --state NEW --dport 9000:9002 -j ACCEPT",
        "iptables -I INPUT 1 -p tcp -m state --state NEW --dport 8080:8080 -j ACCEPT"]
    path = f"{tmp_path}/fw.sh"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(script)
    subprocess.run(["bash", "-n", path], check=True)
    # Nothing to open on a one-node cluster without ports: the cloud-config alone.
    plain = inputs(graphs["cpu"], INSTANCE, "t-0")["metadata"]["user_data"]
    assert base64.b64decode(plain).decode().startswith("#cloud-config")
