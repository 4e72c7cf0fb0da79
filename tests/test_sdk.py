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
