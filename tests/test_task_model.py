"""Every field form of SkyPilot's task schema, through the real YAML loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.errors import TaskError
from stix.task import Accelerators, Quantity, StorageMount, Task, parse_tasks
from stix.task.values import AcceleratorReq, PortRange


def task(text: str) -> Task:
    pipeline = parse_tasks(text, "t.yaml")
    assert len(pipeline.tasks) == 1
    return pipeline.tasks[0]


def resources(block: str):  # type: ignore[no-untyped-def]
    return task("resources:\n" + "\n".join("  " + line for line in block.splitlines())).resources


def test_minimal_task_defaults() -> None:
    t = task("run: echo hi")
    assert t.num_nodes == 1
    assert t.run == "echo hi"
    assert t.envs == {} and t.secrets == {} and t.file_mounts == {}
    assert t.resources.cloud is None


def test_top_level_fields() -> None:
    t = task(
        """
name: train
workdir: ./src
num_nodes: 4
setup: pip install -r requirements.txt
run: python train.py
config:
  aws:
    vpc_name: shared
service:
  readiness_probe: /health
  replicas: 2
volumes:
  /mnt/data: my-volume
event_callback: echo done
"""
    )
    assert (t.name, t.workdir, t.num_nodes) == ("train", "./src", 4)
    assert t.config == {"aws": {"vpc_name": "shared"}}
    assert t.service == {"readiness_probe": "/health", "replicas": 2}
    assert t.volumes == {"/mnt/data": "my-volume"}


def test_git_workdir() -> None:
    t = task("workdir:\n  url: https://github.com/org/repo\n  ref: main\n")
    assert t.workdir is not None and not isinstance(t.workdir, str)
    assert t.workdir.url.endswith("repo") and t.workdir.ref == "main"


@pytest.mark.parametrize(
    ("line", "cloud", "region", "zone"),
    [
        ("cloud: aws", "aws", None, None),
        ("cloud: AWS\nregion: us-east-1\nzone: us-east-1a", "aws", "us-east-1", "us-east-1a"),
        ("infra: aws", "aws", None, None),
        ("infra: gcp/us-central1", "gcp", "us-central1", None),
        ("infra: aws/us-east-1/us-east-1a", "aws", "us-east-1", "us-east-1a"),
        ("infra: '*/us-east-1'", None, "us-east-1", None),
        ("infra: k8s", "kubernetes", None, None),
        ("infra: k8s/my-context", "kubernetes", "my-context", None),
        ("infra: k8s/arn:aws:eks:us-east-1:1:cluster/x", "kubernetes",
         "arn:aws:eks:us-east-1:1:cluster/x", None),
        ("infra: ssh/lab", "ssh", "lab", None),
        ("infra: local", "local", None, None),
        ("cloud: lambda", "lambda", None, None),
    ],
)
def test_location_forms(line: str, cloud: str | None, region: str | None, zone: str | None) -> None:
    r = resources(line)
    assert (r.cloud, r.region, r.zone) == (cloud, region, zone)
    assert r.infra is None


@pytest.mark.parametrize(
    ("value", "options", "ordered"),
    [
        ("A100", [AcceleratorReq("A100", 1)], False),
        ("A100:8", [AcceleratorReq("A100", 8)], False),
        ("{A100: 8}", [AcceleratorReq("A100", 8)], False),
        ("[L4:1, A100:1]", [AcceleratorReq("L4", 1), AcceleratorReq("A100", 1)], True),
        ("['A100']", [AcceleratorReq("A100", 1)], False),
        ("{L4: 1, A10G: 1}", [AcceleratorReq("A10G", 1), AcceleratorReq("L4", 1)], False),
        ("{L4, A10G}", [AcceleratorReq("A10G", 1), AcceleratorReq("L4", 1)], False),
        ("{T4: 0.5}", [AcceleratorReq("T4", 0.5)], False),
    ],
)
def test_accelerator_forms(value: str, options: list[AcceleratorReq], ordered: bool) -> None:
    acc = resources(f"accelerators: {value}").accelerators
    assert acc == Accelerators(tuple(options), ordered)


def test_accelerator_args_and_misc_resources() -> None:
    r = resources(
        """instance_type: p4d.24xlarge
accelerator_args: {runtime_version: tpu-vm-base}
cpus: 8+
memory: 64GB
disk_size: 512
disk_tier: high
network_tier: best
use_spot: true
image_id: docker:nvcr.io/nvidia/pytorch:24.05-py3
labels: {team: ml, cost-center: 42}
max_hourly_cost: 12.5"""
    )
    assert r.instance_type == "p4d.24xlarge"
    assert r.accelerator_args == {"runtime_version": "tpu-vm-base"}
    assert r.cpus == Quantity(8, True) and r.memory == Quantity(64)
    assert (r.disk_size, r.disk_tier, r.network_tier) == (512, "high", "best")
    assert r.use_spot is True
    assert r.image_id == "docker:nvcr.io/nvidia/pytorch:24.05-py3"
    assert r.labels == {"team": "ml", "cost-center": "42"}
    assert r.max_hourly_cost == 12.5


def test_image_id_per_region() -> None:
    r = resources("image_id:\n  us-east-1: ami-0123\n  us-west-2: ami-0456")
    assert r.image_id == {"us-east-1": "ami-0123", "us-west-2": "ami-0456"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("8000", [PortRange(8000, 8000)]), ("'8000-8010'", [PortRange(8000, 8010)]),
     ("[22, '8000-8001', 9000]", [PortRange(22, 22), PortRange(8000, 8001),
                                  PortRange(9000, 9000)])],
)
def test_port_forms(value: str, expected: list[PortRange]) -> None:
    assert resources(f"ports: {value}").ports == expected


@pytest.mark.parametrize(
    ("value", "minutes", "down"),
    [("true", 5, False), ("30", 30, False), ("10h", 600, False),
     ("{idle_minutes: 15, down: true}", 15, True), ("{idle_minutes: 2h}", 120, False)],
)
def test_autostop_forms(value: str, minutes: int, down: bool) -> None:
    auto = resources(f"autostop: {value}").autostop
    assert auto is not None and (auto.idle_minutes, auto.down) == (minutes, down)


def test_autostop_false_means_none() -> None:
    assert resources("autostop: false").autostop is None


def test_autostop_mapping_extras() -> None:
    auto = resources("autostop: {idle_minutes: 5, wait_for: jobs, hook: 'echo bye', "
                     "hook_timeout: 60}").autostop
    assert auto is not None and auto.wait_for == "jobs" and auto.hook == "echo bye"


@pytest.mark.parametrize(
    ("block", "strategy", "restarts"),
    [("job_recovery: FAILOVER", "FAILOVER", 0),
     ("job_recovery: none", None, 0),
     ("spot_recovery: eager_next_region", "EAGER_NEXT_REGION", 0),
     ("job_recovery:\n  strategy: failover\n  max_restarts_on_errors: 3\n"
      "  recover_on_exit_codes: 33", "FAILOVER", 3)],
)
def test_job_recovery_forms(block: str, strategy: str | None, restarts: int) -> None:
    jr = resources(block).job_recovery
    assert jr is not None and (jr.strategy, jr.max_restarts_on_errors) == (strategy, restarts)


def test_job_recovery_exit_codes_int_or_list() -> None:
    jr = resources("job_recovery: {recover_on_exit_codes: [1, 2]}").job_recovery
    assert jr is not None and jr.recover_on_exit_codes == [1, 2]


def test_any_of_candidates_inherit_base() -> None:
    r = resources(
        """use_spot: true
cpus: 8+
any_of:
  - infra: aws/us-east-1
    accelerators: A100:8
  - cloud: gcp
    accelerators: H100:8
    use_spot: false"""
    )
    cands = r.candidates()
    assert [c.cloud for c in cands] == ["aws", "gcp"]
    assert [c.use_spot for c in cands] == [True, False]
    assert all(c.cpus == Quantity(8, True) for c in cands)
    assert cands[0].region == "us-east-1" and not r.is_ordered


def test_ordered_is_ordered() -> None:
    r = resources("ordered:\n  - accelerators: H100:8\n  - accelerators: A100:8")
    assert r.is_ordered and [str(c.accelerators.options[0]) for c in r.candidates()  # type: ignore[union-attr]
                             ] == ["H100:8", "A100:8"]


def test_candidates_of_plain_resources() -> None:
    r = resources("accelerators: L4")
    assert len(r.candidates()) == 1 and r.candidates()[0].accelerators == r.accelerators


def test_envs_and_secrets() -> None:
    t = task("envs:\n  A: x\n  PORT: 8000\n  FLAG: true\n  RATIO: 0.5\n  NEEDED: null\n"
             "secrets:\n  HF_TOKEN: null\n  KEY: abc\n")
    assert t.envs == {"A": "x", "PORT": "8000", "FLAG": "true", "RATIO": "0.5", "NEEDED": None}
    assert t.secrets == {"HF_TOKEN": None, "KEY": "abc"}
    assert t.missing_envs() == ["HF_TOKEN", "NEEDED"]


def test_null_sections_are_empty() -> None:
    t = task("envs:\nsecrets:\nfile_mounts:\nresources:\nrun: x")
    assert t.envs == {} and t.secrets == {} and t.file_mounts == {}


def test_file_mount_forms() -> None:
    t = task(
        """file_mounts:
  /data/local: ./data
  ~/cfg: ~/.config/app
  /s3: s3://bucket/path/x
  /gcs: gs://bucket
  /r2: r2://bucket/p
  /az: https://acct.blob.core.windows.net/container/sub/dir
  /mounted:
    name: my-bucket
    store: S3
    mode: mount_cached
    persistent: false
  /copied:
    source: gs://other/data
    mode: COPY
  /uploaded:
    name: upload-bucket
    source: ./local-dir
"""
    )
    assert t.local_mounts() == {"/data/local": "./data", "~/cfg": "~/.config/app"}
    storage = t.storage_mounts()
    assert set(storage) == {"/s3", "/gcs", "/r2", "/az", "/mounted", "/copied", "/uploaded"}
    assert storage["/s3"].mode == "COPY"
    mounted = storage["/mounted"]
    assert (mounted.store, mounted.mode, mounted.persistent) == ("s3", "MOUNT_CACHED", False)
    bucket = storage["/az"].bucket()
    assert bucket is not None and (bucket.store, bucket.account, bucket.bucket, bucket.path) == (
        "azure", "acct", "container", "sub/dir")
    copied = storage["/copied"].bucket()
    assert copied is not None and (copied.store, copied.bucket) == ("gcs", "other")
    assert isinstance(storage["/uploaded"], StorageMount)


def test_env_substitution_in_file_mounts_and_workdir() -> None:
    t = task(
        """envs:
  BUCKET: ckpts
  SIZE: 13b
  DIR: src
workdir: ./${DIR}
file_mounts:
  /ckpt/${SIZE}:
    name: ${BUCKET}-2
  /data: ~/${DIR}/${UNKNOWN}
run: echo ${SIZE}
"""
    )
    assert t.workdir == "./src"
    assert isinstance(t.file_mounts["/ckpt/13b"], StorageMount)
    assert t.file_mounts["/ckpt/13b"].name == "ckpts-2"  # type: ignore[union-attr]
    assert t.file_mounts["/data"] == "~/src/${UNKNOWN}"
    assert t.run == "echo ${SIZE}"  # run gets envs at run time, not substituted


def test_env_overrides_win() -> None:
    p = parse_tasks("envs:\n  B: a\nfile_mounts:\n  /x: s3://${B}\n", "t.yaml", {"B": "zz"})
    assert p.tasks[0].envs == {"B": "zz"}
    assert p.tasks[0].file_mounts == {"/x": "s3://zz"}


def test_pipeline_with_header() -> None:
    p = parse_tasks("name: pipe\n---\nname: a\nrun: x\n---\nname: b\nrun: y\n", "p.yaml")
    assert p.name == "pipe" and [t.name for t in p.tasks] == ["a", "b"]


def test_pipeline_without_header() -> None:
    p = parse_tasks("name: a\nrun: x\n---\nname: b\n", "p.yaml")
    assert [t.name for t in p.tasks] == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "path", "fragment"),
    [
        ("resources:\n  infra: aws\n  cloud: aws", "resources", "not both"),
        ("resources:\n  any_of: [{cloud: aws}]\n  ordered: [{cloud: gcp}]", "resources",
         "not both"),
        ("resources:\n  any_of: [{any_of: [{cloud: aws}]}]", "resources", "nested"),
        ("resources:\n  any_of: []", "resources", "at least one"),
        ("resources:\n  cloud: awz", "resources.cloud", "did you mean 'aws'"),
        ("resources:\n  spot_recovery: X\n  job_recovery: Y", "resources", "not both"),
        ("resources:\n  job_recovery: sometimes", "resources.job_recovery.strategy",
         "unknown job_recovery strategy"),
        ("resources:\n  disk_tier: fastest", "resources.disk_tier", "'low'"),
        ("resources:\n  max_hourly_cost: -1", "resources.max_hourly_cost", "greater than 0"),
        ("resources:\n  image_id: {us-east-1: ''}", "resources.image_id", "image_id"),
        ("resources:\n  accelerators: []", "resources.accelerators", "empty"),
        ("resources:\n  accelerators: 8", "resources.accelerators", "accelerators must be"),
        ("resources:\n  memory: 12XB", "resources.memory", "unknown unit"),
        ("resources:\n  autostop: {idle_minutes: soon}", "resources.autostop.idle_minutes",
         "duration"),
        ("num_nodes: 0", "num_nodes", "greater than or equal to 1"),
        ("num_nodes: many", "num_nodes", "integer"),
        ("envs:\n  1X: a", "envs", "environment variable name"),
        ("file_mounts:\n  \"  \": ./x", "file_mounts", "is empty"),
        ("file_mounts:\n  /x: ftp://host/x", "file_mounts", "unsupported storage URI"),
        ("file_mounts:\n  /x: {mode: COPY}", "file_mounts./x", "name or a source"),
        ("file_mounts:\n  /x: {name: b, mode: SOMETIMES}", "file_mounts./x.mode", "MOUNT"),
        ("file_mounts:\n  /x: {name: b, colour: red}", "file_mounts./x.colour", "unknown field"),
        ("nmae: x", "nmae", "did you mean 'name'"),
        ("resources:\n  acclerators: A100", "resources.acclerators", "did you mean 'accelerators'"),
        ("resources:\n  any_of:\n    - clod: aws", "resources.any_of.0.clod",
         "did you mean 'cloud'"),
        ("run: [1, 2]", "run", "string"),
    ],
)
def test_schema_errors_name_the_field(text: str, path: str, fragment: str) -> None:
    with pytest.raises(TaskError) as info:
        parse_tasks(text, "bad.yaml")
    paths = [p.path for p in info.value.problems]
    assert path in paths, info.value.render()
    assert fragment in info.value.render()
    assert info.value.render().startswith("bad.yaml:")
    assert info.value.exit_code == 2


def test_error_has_line_and_column() -> None:
    with pytest.raises(TaskError) as info:
        parse_tasks("name: x\nresources:\n  cpus: lots\n", "bad.yaml")
    problem = info.value.problems[0]
    assert (problem.line, problem.column) == (3, 3)
    assert "bad.yaml:3:3: resources.cpus:" in info.value.render()


def test_several_errors_all_reported_in_line_order() -> None:
    with pytest.raises(TaskError) as info:
        parse_tasks("num_nodes: 0\nresources:\n  cpus: x\nbogus: 1\n", "bad.yaml")
    assert [p.line for p in info.value.problems] == [1, 3, 4]


def test_dollar_var_without_braces_and_a_declared_var_without_value() -> None:
    t = task("envs:\n  BUCKET: ckpts\nfile_mounts:\n  /ckpt:\n    name: $BUCKET\n"
             "  /src: ~/code/$NOT_DECLARED\nrun: x\n")
    assert t.file_mounts["/ckpt"].name == "ckpts"  # type: ignore[union-attr]
    assert t.file_mounts["/src"] == "~/code/$NOT_DECLARED"  # not ours: left as written
    with pytest.raises(TaskError) as err:
        parse_tasks("envs:\n  BUCKET: null\nfile_mounts:\n  /ckpt: s3://$BUCKET\nrun: x\n",
                    "t.yaml")
    assert "t.yaml:4:3: file_mounts./ckpt: uses $BUCKET, which has no value" in str(err.value)
    given = parse_tasks("envs:\n  BUCKET: null\nfile_mounts:\n  /ckpt: s3://$BUCKET\n",
                        "t.yaml", {"BUCKET": "from-cli"})
    assert given.tasks[0].file_mounts == {"/ckpt": "s3://from-cli"}


def test_relative_mount_targets_go_under_home() -> None:
    t = task("file_mounts:\n  data: ~/d\n  ./code: ~/c\nrun: x\n")
    assert set(t.file_mounts) == {"~/data", "~/code"}
    with pytest.raises(TaskError, match="given twice"):
        task("file_mounts:\n  data: ~/d\n  ~/data: ~/e\nrun: x\n")


def test_yaml_merge_keys() -> None:
    t = task("resources:\n  any_of:\n    - &gpu {infra: aws, accelerators: A100:8}\n"
             "    - <<: *gpu\n      infra: gcp\nrun: x\n")
    options = t.resources.any_of or []
    assert [o.cloud for o in options] == ["aws", "gcp"]
    assert options[0].accelerators == options[1].accelerators


def test_pools_are_accepted_and_said(tmp_path: Path) -> None:
    from stix.task import load_task
    from stix.task.notes import task_notes

    path = tmp_path / "pool.yaml"
    path.write_text("pool: {workers: 2}\nsetup: pip install x\n")
    (note,) = task_notes(load_task(path))
    assert note.startswith(f"{path}:1: pool: not acted on: worker pools are not built")


@pytest.mark.parametrize(("text", "fragment"), [
    ("name: vol\ntype: k8s-pvc\ninfra: k8s\nsize: 10Gi\n", "SkyPilot volume file"),
    ("readiness_probe: /health\nreplicas: 2\n", "service section on its own"),
])
def test_other_skypilot_files_are_named(text: str, fragment: str) -> None:
    with pytest.raises(TaskError, match=fragment):
        task(text)


def test_skypilot_newer_and_older_spellings(tmp_path: Path) -> None:
    from stix.task import load_task
    from stix.task.notes import notes

    t = task("resources: {gpus: H100:8}\nrun: x\n")
    assert t.resources.accelerators is not None
    assert [str(o) for o in t.resources.accelerators.options] == ["H100:8"]
    with pytest.raises(TaskError, match="give accelerators or gpus"):
        task("resources: {gpus: H100:8, accelerators: A100:1}\nrun: x\n")
    t = task("experimental:\n  config_overrides: {ssh_cidr: 10.0.0.0/8}\nrun: x\n")
    assert t.config == {"ssh_cidr": "10.0.0.0/8"} and t.experimental is None
    path = tmp_path / "t.yaml"
    path.write_text("event_callback:\n  - slack: {webhook_url: https://hooks.example/x}\n"
                    "resources:\n  job_recovery: {strategy: DYNAMIC_NODE_SET}\nrun: x\n")
    found = {n.field: n for n in notes(load_task(path))}
    assert found["event_callback"].line == 1
    assert "recovered as FAILOVER" in found["resources.job_recovery.strategy"].message


def test_more_skypilot_forms(tmp_path: Path) -> None:
    from stix.task import load_task
    from stix.task.notes import notes

    path = tmp_path / "t.yaml"
    path.write_text("volumes:\n  /outputs: {size: 1Gi}\n"
                    "file_mounts:\n  /data:\n    source: s3://mine\n    force_managed: true\n"
                    "resources:\n  job_recovery: {strategy: DYNAMIC_NODE_SET, min_nodes: 2}\n"
                    "run: x\n")
    found = {n.field: n for n in notes(load_task(path))}
    assert found["volumes"].line == 1
    assert found["file_mounts./data.force_managed"].line == 6
    group = tmp_path / "group.yaml"
    group.write_text("name: g\nexecution: parallel\nprimary_tasks: [a]\n---\nname: a\nrun: x\n")
    with pytest.raises(TaskError, match=r"is the job group g \(its tasks run at once\); "
                                         r"expected one task"):
        load_task(group)  # one-task callers get a clear no; `stix up FILE` runs groups
