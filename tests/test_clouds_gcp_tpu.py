"""Cloud TPU VMs on GCP: catalog rows, the optimizer's choice, the program under Pulumi's
mocks (golden graphs), notes, costs, failover and the Terraform refusal."""

from __future__ import annotations

import pytest
from http_support import StandIn
from stack_support import bucket, check_golden, inputs, placement, ref, synth

from stix.clouds.gcp import tpu

pytest.importorskip("pulumi_gcp", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

TPU = "gcp:tpu/v2Vm:V2Vm"
FIREWALL = "gcp:compute/firewall:Firewall"


def _tpu(name: str, **more: object) -> object:
    h = tpu.host(name)
    assert h is not None
    return placement("gcp", name, region=more.pop("region", "us-central1"),  # type: ignore[arg-type]
                     zone=more.pop("zone", "us-central1-b"), gpu=(name, 1),  # type: ignore[arg-type]
                     vcpus=h[1].vcpus, memory_gib=h[1].memory_gib, **more)


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cases = {
        "tpu": _tpu("tpu-v2-8"),
        "tpu-ports": _tpu("tpu-v6e-8", zone="us-east5-b", region="us-east5", num_nodes=2,
                          ports=[8080], extra={"accelerator_args": {
                              "runtime_version": "v2-alpha-tpuv6e-custom"}}),
        "tpu-spot": _tpu("tpu-v3-8", zone="us-central1-a", use_spot=True,
                         buckets=[bucket("gcs", "ckpts", create=False)]),
    }
    return {k: synth(p) for k, p in cases.items()}


def test_a_tpu_placement_is_a_tpu_vm_with_the_default_runtime(graphs: dict) -> None:
    g = graphs["tpu"]
    types = sorted(r.type for r in g.resources.values())
    assert "gcp:compute/instance:Instance" not in types and types.count(TPU) == 1
    vm = inputs(g, TPU, "t-0")
    assert vm["acceleratorType"] == "v2-8" and vm["runtimeVersion"] == "tpu-vm-base"
    assert vm["zone"] == "us-central1-b" and vm["tags"] == ["stix-t"]
    assert vm["networkConfig"] == {
        "enableExternalIps": True, "network": ref("gcp:compute/network:Network", "t-net"),
        "subnetwork": ref("gcp:compute/subnetwork:Subnetwork", "t-subnet")}
    assert "schedulingConfig" not in vm and "serviceAccount" not in vm
    assert vm["metadata"]["user-data"] == "#cloud-config\nhostname: node-0\n"
    assert vm["metadata"]["ssh-keys"].startswith("stix:ssh-")
    assert vm["metadata"]["block-project-ssh-keys"] == "TRUE"
    node = g.outputs["nodes"][0]
    assert node["private_ip"] == ref(TPU, "t-0", "networkEndpoints[0].ipAddress")
    assert node["public_ip"] == ref(TPU, "t-0", "networkEndpoints[0].accessConfigs[0].externalIp")
    assert inputs(g, FIREWALL, "t-allow-in")["targetTags"] == ["stix-t"]


def test_nodes_are_tpu_vms_with_the_tasks_runtime_and_ports(graphs: dict) -> None:
    g = graphs["tpu-ports"]
    vms = g.of_type(TPU)
    assert [v.name for v in vms] == ["t-0", "t-1"]
    assert {v.inputs["runtimeVersion"] for v in vms} == {"v2-alpha-tpuv6e-custom"}
    assert [v.inputs["labels"]["stix-node-rank"] for v in vms] == ["0", "1"]
    assert inputs(g, FIREWALL, "t-allow-in")["allows"] == [
        {"ports": ["22", "8080"], "protocol": "tcp"}]
    assert inputs(g, FIREWALL, "t-allow-internal")["sourceTags"] == ["stix-t"]
    assert len(g.outputs["nodes"]) == 2


def test_spot_is_the_tpu_apis_spot_flag_and_buckets_get_an_identity(graphs: dict) -> None:
    vm = inputs(graphs["tpu-spot"], TPU, "t-0")
    assert vm["schedulingConfig"] == {"spot": True}
    assert vm["serviceAccount"]["email"] == ref("gcp:serviceaccount/account:Account", "t-sa",
                                                "email")


@pytest.mark.parametrize("case", ["tpu", "tpu-ports", "tpu-spot"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"gcp-{case}")


def test_private_tpu_vms_get_no_external_address() -> None:
    g = synth(_tpu("tpu-v5litepod-1", zone="us-central1-a",
                   extra={"private": True, "network": "n", "subnet_id": "s"}))
    vm = inputs(g, TPU, "t-0")
    assert vm["networkConfig"] == {"enableExternalIps": False, "network": "n",
                                   "subnetwork": "s"}
    assert g.outputs["nodes"][0].get("public_ip") is None


def test_a_stopped_tpu_vm_is_refused_saying_down() -> None:
    from stix.errors import StixError

    with pytest.raises(StixError, match="TPU VM cannot be kept stopped"):
        synth(_tpu("tpu-v2-8", power="stopped"))


def test_autostop_on_a_tpu_vm_is_refused_saying_why() -> None:
    from stix.errors import StixError

    with pytest.raises(StixError, match="cannot stop or delete itself when idle"):
        synth(_tpu("tpu-v2-8", autostop_minutes=10))


def test_the_terraform_back_end_refuses_a_tpu_stack_by_its_type() -> None:
    from stix.engine.terraform.translate import TranslationError, to_terraform

    with pytest.raises(TranslationError, match="gcp:tpu/v2Vm:V2Vm; use the pulumi engine"):
        to_terraform(synth(_tpu("tpu-v2-8")))


def test_tpu_errors_are_classified_for_failover() -> None:
    from stix.engine.errors import classify

    assert classify('{"code": 8, "message": "There is no more capacity in the zone '
                    '\\"europe-west4-a\\"; you can try in another zone"}', "gcp") == "capacity"
    assert classify("Insufficient reserved capacity. Contact customer support", "gcp") == \
        "capacity"
    assert classify("Quota limit 'TPUV2sPreemptiblePodPerProjectPerZoneForTPUAPI' has been "
                    "exceeded", "gcp") == "quota"


def _task(text: str) -> object:
    from stix.task import parse_tasks

    return parse_tasks(text, "task.yaml").tasks[0]


def test_the_optimizer_places_a_tpu_as_its_own_machine_at_the_tpus_price() -> None:
    from stix.optimizer import optimize

    task = _task("resources:\n  instance_type: n1-highmem-8\n  accelerators: tpu-v3-8\n"
                 "run: python train.py\n")
    chosen = optimize(task, cluster="c").chosen
    assert (chosen.cloud, chosen.instance_type, chosen.accelerator.name) == (  # type: ignore[attr-defined]
        "gcp", "tpu-v3-8", "tpu-v3-8")
    assert chosen.hourly_price == 8.0 and chosen.zone.startswith("us-central1-")  # type: ignore[attr-defined]


def test_a_pod_slice_is_refused_naming_its_hosts() -> None:
    from stix.optimizer import optimize
    from stix.optimizer.explain import NothingFitsError

    with pytest.raises(NothingFitsError, match=r"tpu-v2-32 is a TPU pod slice \(4 hosts"):
        optimize(_task("resources:\n  accelerators: tpu-v2-32\nrun: x\n"), cluster="c")
    assert tpu.pod_slice_hosts("tpu-v6e-16") == 4 and tpu.pod_slice_hosts("tpu-v6e-8") is None


def test_moot_fields_of_a_tpu_task_are_noted_with_their_lines() -> None:
    from stix.task.notes import notes

    task = _task("resources:\n  instance_type: n1-highmem-8\n  accelerators: tpu-v2-8\n"
                 "  disk_size: 100\n  accelerator_args:\n    runtime_version: 2.12.0\n"
                 "    tpu_vm: false\n    tf_version: 2.5.0\nrun: x\n")
    got = {(n.field, n.line): n.message for n in notes(task)}  # type: ignore[arg-type]
    assert "tpu-v2-8 is made as a TPU VM" in got[("resources.accelerator_args.tpu_vm", 7)]
    assert "n1-highmem-8 is not made" in got[("resources.instance_type", 2)]
    assert "default boot disk" in got[("resources.disk_size", 4)]
    assert "TPU arguments" in got[("resources.accelerator_args.tf_version", 8)]
    assert "TPU Node version" in got[("resources.accelerator_args.runtime_version", 6)]
    assert tpu.runtime_version("tpu-v6e-8", {"runtime_version": "2.12.0"}) == "v2-alpha-tpuv6e"
    assert tpu.runtime_version("tpu-v2-8", {"runtime_version": "tpu-vm-tf-2.16.1"}) == \
        "tpu-vm-tf-2.16.1"
    gpu = _task("resources:\n  accelerators: A100\n  accelerator_args: {x: 1}\nrun: x\n")
    assert [n.field for n in notes(gpu)] == ["resources.accelerator_args"]  # type: ignore[arg-type]


def test_a_tpu_vm_is_charged_its_address_only_and_refuses_autostop() -> None:
    from stix.clouds import registry

    cloud = registry.cloud("gcp")
    p = _tpu("tpu-v2-8")
    assert [c.kind for c in cloud.node_charges(p)] == ["address"]  # type: ignore[arg-type]
    assert "boot disk" in cloud.not_counted(p)[-1]  # type: ignore[arg-type]
    assert "stix down" in (cloud.autostop_problem(p, down=False) or "")  # type: ignore[arg-type]
    assert "runtime version tpu-vm-base" in (cloud.plan_note(p) or "")  # type: ignore[arg-type]
    assert cloud.plan_note(placement("gcp", "n2-standard-8", region="us-central1")) is None


def test_shipped_tpu_rows_match_their_vm_and_bad_ones_are_named() -> None:
    from pathlib import Path

    from stix.catalog import load_catalog

    shipped = load_catalog(Path(__file__).resolve().parent.parent / "catalog_data")
    cloud_rows = [o for o in shipped.offers if o.accelerator and tpu.is_tpu(o.accelerator)]
    assert {o.instance_type for o in cloud_rows} == {f"tpu-{t}" for t in tpu.BY_TYPE}
    assert all(o.cloud == "gcp" and o.accelerator_count == 1 for o in cloud_rows)
    assert all(o.spot_price is not None and o.spot_price < o.price for o in cloud_rows)
    assert tpu.check_offer("tpu-v2-8", 96, 335, "tpu-v2-8", 1) == ""
    assert "96 vCPUs" in tpu.check_offer("tpu-v2-8", 8, 335, "tpu-v2-8", 1)
    assert "not a single-host" in tpu.check_offer("tpu-v2-32", 96, 335, "tpu-v2-32", 1)


def test_tpu_vm_states_come_from_the_tpu_api(stand_in: StandIn) -> None:
    from stix.clouds.gcp.nodes import list_tpu_states

    def node(name: str, state: str, cluster: str, external: str | None) -> dict[str, object]:
        endpoint: dict[str, object] = {"ipAddress": "10.0.0.5", "port": 8470}
        if external:
            endpoint["accessConfig"] = {"externalIp": external}
        return {"name": f"projects/p1/locations/us-central1-b/nodes/{name}", "state": state,
                "labels": {"stix-cluster": cluster}, "networkEndpoints": [endpoint], "id": "7"}

    path = "/projects/p1/locations/us-central1-b/nodes"
    pages = iter([
        (200, {}, {"nodes": [node("c-0", "READY", "c", "34.1.2.3"),
                             node("other-0", "READY", "other", None)], "nextPageToken": "t2"}),
        (200, {}, {"nodes": [node("c-1", "PREEMPTED", "c", None)]}),
    ])
    stand_in.routes[("GET", path)] = lambda _p, _q: next(pages)
    found = list_tpu_states(stand_in.url, "tok", "p1", "us-central1-b", "c")
    assert sorted(found) == ["c-0", "c-1"]
    assert (found["c-0"].power, found["c-0"].public_ip, found["c-0"].private_ip) == (
        "running", "34.1.2.3", "10.0.0.5")
    assert found["c-1"].power == "terminated" and found["c-1"].public_ip is None
    assert stand_in.calls[1][2]["pageToken"] == ["t2"]


def test_a_tpu_vms_host_keys_are_its_guest_attributes(stand_in: StandIn) -> None:
    from stix.clouds.gcp.hostkeys import guest_host_keys, source
    from stix.errors import StixError
    from stix.remote.transport import NodeAddress

    assert source(_tpu("tpu-v2-8"), None) == "gcp/us-central1/us-central1-b//tpu"  # type: ignore[arg-type]
    node_path = "/projects/p1/locations/us-central1-b/nodes/c-0"
    states = iter(["CREATING", "READY", "READY"])
    stand_in.routes[("GET", node_path)] = lambda _p, _q: (200, {}, {
        "state": next(states), "networkEndpoints": [
            {"ipAddress": "10.0.0.5", "accessConfig": {"externalIp": "34.1.2.3"}}]})
    stand_in.routes[("POST", node_path + ":getGuestAttributes")] = lambda _p, _q: (200, {}, {
        "guestAttributes": [{"queryPath": "hostkeys/", "workerId": "0", "queryValue": {
            "items": [{"namespace": "hostkeys", "key": "ssh-ed25519", "value": "AAAAC3Nz"},
                      {"namespace": "other", "key": "x", "value": "y"}]}}]})
    node = NodeAddress("c-0", "34.1.2.3", host_key_source="gcp/us-central1/us-central1-b/p1/tpu")
    assert guest_host_keys(stand_in.url, "tok", "p1", "us-central1-b", node) == []  # creating
    assert guest_host_keys(stand_in.url, "tok", "p1", "us-central1-b", node) == [
        "ssh-ed25519 AAAAC3Nz"]
    with pytest.raises(StixError, match=r"holds 10\.0\.0\.5, 34\.1\.2\.3, not 34\.9\.9\.9"):
        guest_host_keys(stand_in.url, "tok", "p1", "us-central1-b",
                        NodeAddress("c-0", "34.9.9.9"))
