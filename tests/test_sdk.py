"""`import stix as sky`: a SkyPilot-style script end to end on `local` (a real cluster,
real jobs), and the SDK's shapes — Task methods, cloud objects, Dag, exceptions."""

from __future__ import annotations

from pathlib import Path

import pytest

import stix as sky
from stix.errors import UsageError

LOCAL = {"cpus": "1+", "memory": "0.5+"}


def test_a_skypilot_script_runs(stix_home: Path, capfd: pytest.CaptureFixture[str]) -> None:
    task = sky.Task(name="hello", setup="echo setting up", run="echo hello $A$B")
    task.set_resources(sky.Resources(cloud=sky.Local(), **LOCAL)).update_envs({"A": "1"})
    task.update_envs([("B", "2")])
    job_id, handle = sky.stream_and_get(sky.launch(task, cluster_name="sk"))
    assert job_id == 1 and handle.name == "sk" and handle["status"] == sky.ClusterStatus.UP
    assert "hello 12" in capfd.readouterr().out
    assert sky.job_status("sk", [job_id]) == {"1": "SUCCEEDED"}
    assert sky.tail_logs("sk", job_id, follow=False) == 0
    again, _ = sky.get(sky.exec(sky.Task(run="exit 3"), cluster_name="sk"))
    assert sky.job_status("sk", [again]) == {str(again): "FAILED"}
    [record] = sky.status(cluster_names=["sk"])
    assert record["name"] == "sk" and record["launched_at"] > 0
    with pytest.raises(sky.exceptions.ClusterDoesNotExist):
        sky.exec(sky.Task(run="true"), cluster_name="nope")
    assert sky.down("sk") is True


def test_a_failed_launch_raises_command_error(stix_home: Path) -> None:
    task = sky.Task(name="bad", run="exit 7", resources=sky.Resources(cloud="local", **LOCAL))
    with pytest.raises(sky.exceptions.CommandError) as err:
        sky.launch(task, cluster_name="bad")
    assert err.value.returncode == 7
    sky.down("bad")


def test_task_methods_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("name: t\nenvs: {B: x}\nfile_mounts: {/d: '~/$B'}\nrun: echo\n")
    loaded = sky.Task.from_yaml(str(path))
    assert loaded.file_mounts == {"/d": "~/x"}
    again = sky.Task.from_yaml_config(loaded.to_yaml_config())
    assert again == loaded
    loaded.set_resources({sky.Resources(cloud=sky.AWS()), sky.Resources(cloud=sky.GCP())})
    assert {str(r.cloud) for r in loaded.resources.any_of or []} == {"aws", "gcp"}
    loaded.set_file_mounts({"data": "~/d"}).update_secrets({"TOKEN": None})
    assert set(loaded.file_mounts) == {"~/data"} and loaded.missing_envs() == ["TOKEN"]


def test_dag_orders_tasks_and_cloud_objects() -> None:
    with sky.Dag() as dag:
        a = sky.Task(name="a", run="x")
        b = sky.Task(name="b", run="y")
        b >> a  # a after b
    assert [t.name for t in dag.tasks] == ["b", "a"]
    assert sky.Task(name="outside", run="z") not in dag.tasks
    assert str(sky.Kubernetes()) == "kubernetes" and sky.AWS() == sky.AWS()
    with pytest.raises(AttributeError):
        sky.NoSuchCloud  # noqa: B018
    assert isinstance(sky.launch(a, dryrun=True, cluster_name="x"), sky.Request)


def test_unsupported_arguments_are_refused_by_name() -> None:
    with pytest.raises(UsageError, match="blocking: not supported"):
        sky.launch(sky.Task(run="x"), blocking=True)
    with pytest.raises(UsageError, match="a Dag's tasks each get a cluster"):
        with sky.Dag() as dag:
            sky.Task(name="p", run="x")
            sky.Task(name="q", run="y")
        sky.launch(dag, cluster_name="one")


def test_nothing_fits_is_resources_unavailable() -> None:
    task = sky.Task(run="x", resources=sky.Resources(accelerators="H100:64", cloud="gcp"))
    with pytest.raises(sky.exceptions.ResourcesUnavailableError):
        sky.launch(task, dryrun=True)


def test_storage_on_a_task_is_its_yaml_file_mounts_entry() -> None:
    from stix.buckets import specs_for
    from stix.optimizer import optimize

    yaml_task = sky.Task.from_yaml_config({
        "name": "ft", "run": "python train.py", "resources": {"infra": "aws"},
        "file_mounts": {"/ckpt": {"name": "stix-sdk-ckpt", "store": "s3", "persistent": False},
                        "/data": {"source": "s3://sdk-data/train", "mode": "COPY"},
                        "/code": "~/code"}})
    task = sky.Task(name="ft", run="python train.py", resources=sky.Resources(cloud=sky.AWS()))
    task.set_file_mounts({"/code": "~/code"})
    task.set_storage_mounts({"/ckpt": sky.Storage(name="stix-sdk-ckpt", stores=[sky.StoreType.S3],
                                                  persistent=False)})
    task.update_storage_mounts({"/data": sky.Storage(source="s3://sdk-data/train",
                                                     mode=sky.StorageMode.COPY)})
    assert task.to_yaml_config() == yaml_task.to_yaml_config()
    ours, theirs = optimize(task).chosen, optimize(yaml_task).chosen
    assert ours == theirs and {b.name for b in ours.buckets} == {"stix-sdk-ckpt", "sdk-data"}
    assert specs_for(ours) == specs_for(theirs)
    # set_storage_mounts replaces the buckets, keeps the plain file mounts
    task.set_storage_mounts({"/out": sky.Storage(name="stix-sdk-out", stores="s3")})
    assert set(task.file_mounts) == {"/code", "/out"}


def test_storage_shapes_and_refusals() -> None:
    entry = {"name": "b1", "source": "~/data", "store": "gcs", "mode": "MOUNT_CACHED"}
    storage = sky.Storage.from_yaml_config(entry)
    assert storage.to_yaml_config() == entry and storage.mode is sky.StorageMode.MOUNT_CACHED
    assert sky.Storage(name="b1").add_store("GCS") == sky.Storage(name="b1", stores="gcs")
    assert {"S3", "GCS", "AZURE", "R2"} <= {m.name for m in sky.StoreType}
    with pytest.raises(UsageError, match="_is_sky_managed: not supported"):
        sky.Storage(name="b", _is_sky_managed=True)
    with pytest.raises(UsageError, match="needs a name or a source"):
        sky.Storage()
    with pytest.raises(UsageError, match="one store per bucket"):
        sky.Storage(name="b", stores=[sky.StoreType.S3, sky.StoreType.GCS])
    with pytest.raises(UsageError, match="unknown store"):
        sky.Storage(name="b", stores="floppy")
    with pytest.raises(UsageError, match="region: not supported"):
        sky.Storage(name="b").add_store(sky.StoreType.S3, region="us-east-1")


def test_storage_ls_rows_read_as_skypilot_dicts(stix_home: Path) -> None:
    from stix import state
    from stix.buckets import BucketSpec

    spec = BucketSpec(name="kept", store="s3", cloud="aws", region="us-east-1")
    state.put_bucket(state.connect(), state.BucketRecord(spec, "pulumi", None, 1000.0))
    [row] = sky.storage_ls()
    assert (row["name"], row["launched_at"], row["status"]) == ("kept", 1000.0, "READY")
    assert row["store"] == [sky.StoreType.S3] and row["used_by"] == []
    with pytest.raises(KeyError):
        row["nope"]
    with pytest.raises(sky.exceptions.NotFoundError):
        sky.storage_delete("absent")
    with pytest.raises(ValueError, match="stix keeps no bucket 'absent'"):
        sky.storage_delete("absent")  # what SkyPilot raises for a name it does not know


def test_optimize_a_dag_returns_it_with_best_resources() -> None:
    with sky.Dag() as dag:
        prep = sky.Task(name="prep", run="x", outputs={"s3://b/shards": 500},
                        resources=sky.Resources(cloud=sky.AWS(), region="eu-west-1", cpus="4+"))
        train = sky.Task(name="train", run="y", resources=sky.Resources(cpus="4+"))
    assert train.best_resources is None
    got = sky.optimize(dag, minimize=sky.OptimizeTarget.COST)
    assert got is dag and sky.get(got) is dag  # SkyPilot's shape, either way it is called
    first, second = prep.best_resources, train.best_resources
    assert isinstance(first, sky.Resources) and isinstance(second, sky.Resources)
    assert (first.cloud, first.region) == ("aws", "eu-west-1") and first.instance_type
    assert (second.cloud, second.region) == ("aws", "eu-west-1")  # next to its 500 GB
    assert sky.optimize(dag, sky.OptimizeTarget.TIME) is dag
    with pytest.raises(UsageError, match="minimize must be"):
        sky.optimize(dag, minimize="speed")
    with pytest.raises(UsageError, match="blocked_resources: not supported"):
        sky.optimize(dag, blocked_resources=[])


def test_optimize_a_task_keeps_the_ranked_result() -> None:
    task = sky.Task(name="one", run="x", resources=sky.Resources(cpus="4+"))
    result = sky.optimize(task)
    assert result.candidates[0] == result.chosen
    best = task.best_resources
    assert best is not None and best.instance_type == result.chosen.instance_type
    assert sky.optimize(task, minimize="time").target == "time"


def test_a_dag_launches_as_a_pipeline_reusing_its_cluster(
        stix_home: Path, capfd: pytest.CaptureFixture[str]) -> None:
    local = sky.Resources(cloud=sky.Local(), **LOCAL)
    with sky.Dag() as dag:
        sky.Task(name="first", run="echo one on $STIX_CLUSTER", resources=local)
        sky.Task(name="second", run="echo two on $STIX_CLUSTER", resources=local)
    job_id, handle = sky.get(sky.launch(dag))
    out = capfd.readouterr().out
    assert "one on first" in out and "two on first" in out  # the same machines: one cluster
    assert handle.name == "first" and job_id == 2
    assert [r["name"] for r in sky.status()] == ["first"]
    assert sky.down("first") is True
