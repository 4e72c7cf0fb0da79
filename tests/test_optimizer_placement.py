"""The Placement the optimizer fills in, and command-line overrides of a task."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.catalog import Catalog, load_catalog
from stix.errors import UsageError
from stix.optimizer import optimize
from stix.optimizer.overrides import with_overrides
from stix.task import Task, parse_tasks

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(FIXTURES / "catalog_small")


def task(yaml_text: str) -> Task:
    return parse_tasks(yaml_text).tasks[0]


FULL = """
name: Train_LLM v2!
num_nodes: 2
resources:
  accelerators: A100:8
  use_spot: true
  disk_size: 1TB
  disk_tier: high
  ports: [8000, "9000-9010"]
  labels: {team: ml}
  image_id: {us-central1: projects/x/images/train, us-west-2: ami-0abc}
  autostop: {idle_minutes: 30, down: true}
  network_tier: best
file_mounts:
  /ckpt: {name: my-ckpts, mode: MOUNT}
  /data: gs://public-data/sets/alpaca
  /gs: {source: gs://other-bucket/p, mode: COPY}
"""


def test_placement_is_complete(catalog: Catalog) -> None:
    p = optimize(task(FULL), catalog).chosen
    # A100:8 spot in an image region: gcp us-central1 $8.8163 < aws us-west-2 $11.5.
    assert (p.cloud, p.region, p.zone, p.instance_type) == (
        "gcp", "us-central1", "us-central1-a", "a2-highgpu-8g")
    assert p.cluster == "train-llm-v2"
    assert (p.num_nodes, p.use_spot, p.hourly_price) == (2, True, 8.8163)
    assert p.total_hourly_price == pytest.approx(17.6326)
    assert p.accelerator is not None
    assert (p.accelerator.name, p.accelerator.count, p.accelerator.memory_gib) == ("A100", 8, 40)
    assert (p.vcpus, p.memory_gib, p.arch) == (96, 680, "x86_64")
    assert p.image_id == "projects/x/images/train"
    assert (p.disk_size, p.disk_tier) == (1024, "high")
    assert p.ports == [8000, "9000-9010"]
    assert p.labels == {"team": "ml"}
    assert (p.autostop_minutes, p.autostop_down) == (30, True)
    assert p.ssh_user == "stix"
    assert p.extra.set_fields() == {"network_tier": "best"}
    buckets = {b.mount_path: b for b in p.buckets}
    assert [b.mount_path for b in p.buckets] == ["/ckpt", "/data", "/gs"]
    assert (buckets["/ckpt"].store, buckets["/ckpt"].name, buckets["/ckpt"].create) == (
        "gcs", "my-ckpts", True)  # a new bucket goes to the chosen cloud's store
    data = buckets["/data"]
    assert (data.store, data.name, data.prefix, data.create, data.mode) == (
        "gcs", "public-data", "sets/alpaca", False, "COPY")
    assert (buckets["/gs"].store, buckets["/gs"].mode) == ("gcs", "COPY")


def test_azure_blob_uri_becomes_an_existing_bucket(catalog: Catalog) -> None:
    t = task("resources: {cpus: 2+}\nfile_mounts:\n"
             "  /az: https://acct1.blob.core.windows.net/box/sub\n")
    p = optimize(t, catalog).chosen
    assert p.cloud == "azure"  # the bucket pins its cloud
    (b,) = p.buckets
    assert (b.store, b.account, b.name, b.prefix, b.create) == ("azure", "acct1", "box", "sub",
                                                               False)


def test_defaults_in_placement(catalog: Catalog) -> None:
    p = optimize(task("resources: {cpus: 2}\nrun: echo"), catalog, cluster="c1").chosen
    assert p.cluster == "c1"
    assert (p.disk_size, p.disk_tier, p.image_id, p.ports, p.buckets) == (256, None, None, [], [])
    assert (p.autostop_minutes, p.autostop_down, p.accelerator) == (None, False, None)
    assert p.image_id is None


def test_image_string_passes_through(catalog: Catalog) -> None:
    p = optimize(task("resources: {cpus: 2, image_id: 'docker:ubuntu:22.04'}"), catalog).chosen
    assert p.image_id == "docker:ubuntu:22.04"


def test_result_json_is_deterministic(catalog: Catalog) -> None:
    import json

    t = task(FULL)
    one = json.dumps(optimize(t, catalog).to_dict(), sort_keys=True)
    two = json.dumps(optimize(t, catalog).to_dict(), sort_keys=True)
    assert one == two
    data = json.loads(one)
    assert data["chosen"]["total_hourly_price"] == pytest.approx(17.6326)
    assert set(data) == {"target", "clouds", "chosen", "candidates", "best_per_cloud",
                         "rejections", "notes"}  # fmt: skip


# ---- overrides ----------------------------------------------------------------------------


def test_overrides_replace_fields(catalog: Catalog) -> None:
    t = with_overrides(task("resources: {accelerators: A100:8}"), gpus="T4:1", use_spot=True,
                       num_nodes=3)  # fmt: skip
    assert t.num_nodes == 3
    p = optimize(t, catalog).chosen
    assert (p.instance_type, p.use_spot, p.num_nodes) == ("Standard_NC4as_T4_v3", True, 3)


def test_cloud_override_drops_the_old_location(catalog: Catalog) -> None:
    t = with_overrides(task("resources: {infra: aws/us-east-1, accelerators: T4}"), cloud="gcp")
    assert (t.resources.cloud, t.resources.region) == ("gcp", None)
    assert optimize(t, catalog).chosen.instance_type == "n1-standard-8"
    t = with_overrides(task("resources: {infra: aws/us-east-1/us-east-1a}"), region="eu-west-1")
    assert (t.resources.cloud, t.resources.region, t.resources.zone) == (
        "aws", "eu-west-1", None)


def test_overrides_reach_every_alternative(catalog: Catalog) -> None:
    t = task("resources: {any_of: [{cloud: gcp, accelerators: L4}, {cloud: aws, "
             "accelerators: T4}]}")
    t2 = with_overrides(t, cpus="8+", memory="30")
    assert [str(c.cpus) for c in t2.resources.candidates()] == ["8+", "8+"]
    # only gcp's n1-standard-8 + T4 has 8+ vCPUs and exactly 30 GiB; the L4 has 4 vCPUs.
    with_gpu = with_overrides(t2, gpus="T4:1")
    assert optimize(with_gpu, catalog).chosen.instance_type == "n1-standard-8"


def test_no_overrides_is_the_same_task() -> None:
    t = task("name: t")
    assert with_overrides(t) is t


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cpus": "lots"}, "cpus (--cpus): cpus must look like '8' or '8+', got 'lots'"),
    ({"gpus": "A100:0"}, "gpus (--gpus): count of A100 must be a positive number, got '0'"),
    ({"cloud": "awz"}, "cloud (--cloud): unknown cloud 'awz' (did you mean 'aws'?)"),
    ({"num_nodes": 0}, "num_nodes (--num-nodes) must be at least 1, got 0"),
])
def test_bad_overrides_name_the_flag(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        with_overrides(task("name: t"), **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)
