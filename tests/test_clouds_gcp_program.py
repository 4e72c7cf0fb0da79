"""The GCP program under Pulumi's mocks."""

from __future__ import annotations

import pytest
from stack_support import bucket, check_golden, inputs, placement, ref, synth

pytest.importorskip("pulumi_gcp", reason="needs the pulumi extra (pip install -e '.[pulumi]')")

INSTANCE = "gcp:compute/instance:Instance"
FIREWALL = "gcp:compute/firewall:Firewall"


@pytest.fixture(scope="module")
def graphs() -> dict[str, object]:
    cases = {
        "cpu": placement("gcp", "n2-standard-8", region="us-central1", zone="us-central1-a",
                         labels={"Team": "ML Research"}),
        "t4": placement("gcp", "n1-standard-8", region="us-central1", zone="us-central1-b",
                        gpu=("T4", 2), num_nodes=2, ports=[8888], disk_tier="high"),
        "a100": placement("gcp", "a2-highgpu-8g", region="us-east1", zone="us-east1-b",
                          gpu=("A100", 8), use_spot=True, buckets=[bucket("gcs", "ckpts"),
                          bucket("gcs", "data", create=False), bucket("s3", "other", False),
                          bucket("gcs", "scratch", persistent=False)]),
    }
    return {k: synth(p) for k, p in cases.items()}


def test_cpu_task(graphs: dict) -> None:
    g = graphs["cpu"]
    assert sorted(r.type for r in g.resources.values()) == sorted([
        "pulumi:providers:gcp", "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork", FIREWALL, INSTANCE])
    inst = inputs(g, INSTANCE, "t-0")
    assert inst["machineType"] == "n2-standard-8" and inst["zone"] == "us-central1-a"
    assert inst["bootDisk"]["initializeParams"]["image"].endswith("family/ubuntu-2204-lts")
    assert inst["bootDisk"]["initializeParams"]["size"] == 256
    assert inst["bootDisk"]["initializeParams"]["type"] == "pd-balanced"
    assert inst["metadata"]["user-data"] == "#cloud-config\nhostname: node-0\n"
    assert inst["scheduling"] == {"automaticRestart": True, "onHostMaintenance": "MIGRATE"}
    assert "guestAccelerators" not in inst and "serviceAccount" not in inst
    # label values made legal for GCP
    assert inst["labels"]["team"] == "ml_research"
    nic = inst["networkInterfaces"][0]
    assert nic["subnetwork"] == ref("gcp:compute/subnetwork:Subnetwork", "t-subnet")
    assert nic["accessConfigs"] == [{"networkTier": "PREMIUM"}]
    fw = inputs(g, FIREWALL, "t-allow-in")
    assert fw["allows"] == [{"ports": ["22"], "protocol": "tcp"}]
    assert fw["sourceRanges"] == ["0.0.0.0/0"] and fw["targetTags"] == ["stix-t"]
    assert g.outputs["nodes"][0]["private_ip"] == ref(INSTANCE, "t-0",
                                                      "networkInterfaces[0].networkIp")


def test_n1_gets_guest_accelerators_and_stops_for_maintenance(graphs: dict) -> None:
    g = graphs["t4"]
    nodes = g.of_type(INSTANCE)
    assert [n.name for n in nodes] == ["t-0", "t-1"]
    for n in nodes:
        assert n.inputs["guestAccelerators"] == [{"count": 2, "type": "nvidia-tesla-t4"}]
        assert n.inputs["scheduling"]["onHostMaintenance"] == "TERMINATE"
        assert "deeplearning-platform-release" in n.inputs["bootDisk"]["initializeParams"]["image"]
        assert n.inputs["bootDisk"]["initializeParams"]["type"] == "pd-ssd"
    assert inputs(g, FIREWALL, "t-allow-in")["allows"] == [
        {"ports": ["22", "8888"], "protocol": "tcp"}]
    internal = inputs(g, FIREWALL, "t-allow-internal")
    assert internal["sourceTags"] == ["stix-t"] and internal["allows"] == [{"protocol": "all"}]


def test_a2_spot_with_buckets(graphs: dict) -> None:
    g = graphs["a100"]
    inst = inputs(g, INSTANCE, "t-0")
    assert "guestAccelerators" not in inst  # A2 carries its GPUs
    assert inst["scheduling"] == {"automaticRestart": False, "instanceTerminationAction": "DELETE",
                                  "onHostMaintenance": "TERMINATE", "preemptible": True,
                                  "provisioningModel": "SPOT"}
    sa = ref("gcp:serviceaccount/account:Account", "t-sa", "email")
    assert inst["serviceAccount"] == {"email": sa, "scopes": ["cloud-platform"]}
    buckets = g.of_type("gcp:storage/bucket:Bucket")  # only the one that dies with it
    assert [(b.inputs["name"], b.inputs["location"]) for b in buckets] == [
        ("scratch", "US-EAST1")]
    assert buckets[0].inputs["publicAccessPrevention"] == "enforced"
    assert buckets[0].inputs["uniformBucketLevelAccess"] is True
    members = g.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert [m.inputs["bucket"] for m in members] == ["ckpts", "data", "scratch"]
    assert all(m.inputs["member"] == {"$concat": ["serviceAccount:", sa]} for m in members)
    assert "gcp:storage/bucket:Bucket::t-bucket-2" in members[2].dependencies


def test_unattachable_gpu_is_refused() -> None:
    from stix.errors import StixError

    with pytest.raises(StixError, match="cannot be attached"):
        synth(placement("gcp", "n1-standard-8", region="us-central1", zone="us-central1-a",
                        gpu=("H100", 1)))


@pytest.mark.parametrize("case", ["cpu", "t4", "a100"])
def test_golden_graph(graphs: dict, case: str) -> None:
    check_golden(graphs[case], f"gcp-{case}")


def test_autodown_gives_each_node_an_identity_that_may_delete_only_itself() -> None:
    g = synth(placement("gcp", "n2-standard-8", region="us-central1", zone="us-central1-a",
                        num_nodes=2, autostop_minutes=10, autostop_down=True,
                        buckets=[bucket("gcs", "data", create=False)]))
    accounts = g.of_type("gcp:serviceaccount/account:Account")
    assert sorted(a.name for a in accounts) == ["t-sa-0", "t-sa-1"]
    assert len({a.inputs["accountId"] for a in accounts}) == 2
    assert all(len(a.inputs["accountId"]) <= 30 for a in accounts)
    for rank in (0, 1):
        inst = inputs(g, INSTANCE, f"t-{rank}")
        assert inst["serviceAccount"]["email"] == ref("gcp:serviceaccount/account:Account",
                                                      f"t-sa-{rank}", "email")
        grant = inputs(g, "gcp:compute/instanceIAMMember:InstanceIAMMember", f"t-{rank}-self")
        assert grant["instanceName"] == f"t-{rank}" and grant["zone"] == "us-central1-a"
        assert grant["role"] == "roles/compute.instanceAdmin.v1"
        # each node keeps its bucket access under its own account
        access = inputs(g, "gcp:storage/bucketIAMMember:BucketIAMMember",
                        f"t-bucket-0-access-{rank}")
        assert access["bucket"] == "data"
    plain = synth(placement("gcp", "n2-standard-8", region="us-central1", zone="us-central1-a",
                            autostop_minutes=10))
    assert plain.of_type("gcp:compute/instanceIAMMember:InstanceIAMMember") == []
    assert plain.of_type("gcp:serviceaccount/account:Account") == []
