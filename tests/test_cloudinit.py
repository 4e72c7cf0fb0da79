"""cloud-init user-data: every variant is checked by cloud-init itself.

Each rendered variant passes the real `cloud-init schema --config-file` and a JSON-schema
validation against the schema file the cloud-init package ships (the CLI misses unknown
top-level keys), every shell script in it passes `bash -n`, and the agent it
carries decodes, with cloud-init's own write_files code, to the agent's source. Hostile
values are checked by parsing the YAML back and by running the rendered scripts with real
bash: only the cloud tools (s3fs, gcsfuse, ... which need a cloud) are recorders on PATH.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stix.placement import Bucket, Placement, PlacementAccelerator
from stix.remote.cloudinit import (
    CloudInitError,
    NodeBootstrap,
    node_hostname,
    packaged_agent_source,
    render_cluster,
    render_user_data,
    user_data_for_rank,
    user_data_payload,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHU+tC5fgnrZedA/vSvUIgaLSjFrvYiVE5JqNQOHsvnv stix"
SCHEMA_DIR = Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas")
SCHEMA_FILE = SCHEMA_DIR / "schema-cloud-config-v1.json"
SYSTEM_PYTHON = "/usr/bin/python3"
AGENT = packaged_agent_source()
STUB_AGENT = "#!/usr/bin/env python3\nprint('a stand-in agent')\n"
HOSTILE = "x'; touch pwned; `touch pwned` $(touch pwned) \"q\": y\n- z: 1 # {{ v }} %s \\ \t!"
CLOUD_STORE = {"aws": "s3", "gcp": "gcs", "azure": "azure"}


def placement(**kw: Any) -> Placement:
    base: dict[str, Any] = dict(cluster="train", cloud="aws", region="us-east-1",
                                zone="us-east-1a", instance_type="m6i.large", vcpus=2,
                                memory_gib=8, hourly_price=0.096)  # fmt: skip
    base.update(kw)
    return Placement(**base)


def bucket(cloud: str, mode: str, name: str = "data", path: str = "~/data",
           prefix: str = "") -> Bucket:
    store = CLOUD_STORE[cloud]
    account = "stixacct" if store == "azure" else None
    return Bucket(store=store, name=name, mount_path=path, mode=mode, prefix=prefix,
                  account=account)  # fmt: skip


def _variants() -> dict[str, tuple[Placement, NodeBootstrap]]:
    gpu = PlacementAccelerator(name="A10G", count=4, memory_gib=24)
    out: dict[str, tuple[Placement, NodeBootstrap]] = {
        "aws-cpu": (placement(), NodeBootstrap(0, KEY, AGENT)),
        "aws-gpu-spot-multinode": (
            placement(instance_type="g5.12xlarge", accelerator=gpu, use_spot=True, num_nodes=4),
            NodeBootstrap(3, KEY, AGENT)),
        "gcp-gpu": (placement(cloud="gcp", region="us-central1", zone="us-central1-a",
                              instance_type="a2-highgpu-1g",
                              accelerator=PlacementAccelerator(name="A100", count=1)),
                    NodeBootstrap(0, KEY, AGENT)),
        "azure-cpu": (placement(cloud="azure", region="eastus", zone=None,
                                instance_type="Standard_D4s_v5"), NodeBootstrap(0, KEY, AGENT)),
        "aws-docker-gpu": (placement(instance_type="g5.xlarge", accelerator=gpu,
                                     image_id="docker:nvcr.io/nvidia/pytorch:24.01-py3"),
                           NodeBootstrap(0, KEY, AGENT)),
        "gcp-docker": (placement(cloud="gcp", region="us-central1", zone="us-central1-a",
                                 instance_type="n2-standard-4", image_id="docker:ubuntu:22.04"),
                       NodeBootstrap(0, KEY, AGENT)),
        "no-agent": (placement(), NodeBootstrap(0, KEY, None)),
        "stub-agent": (placement(), NodeBootstrap(0, KEY, STUB_AGENT)),
        "labels-user": (placement(labels={"team": "ml", "cost-center": "42"}, ssh_user="ubuntu"),
                        NodeBootstrap(0, KEY, AGENT)),
    }
    for cloud in ("aws", "gcp", "azure"):
        region = {"aws": "us-east-1", "gcp": "us-central1", "azure": "eastus"}[cloud]
        for mode in ("MOUNT", "COPY", "MOUNT_CACHED"):
            p = placement(cloud=cloud, region=region, zone=None,
                          buckets=[bucket(cloud, mode, prefix="sub/dir")])
            out[f"{cloud}-bucket-{mode.lower()}"] = (p, NodeBootstrap(0, KEY, AGENT))
        p = placement(cloud=cloud, region=region, zone=None, buckets=[
            bucket(cloud, "MOUNT", "in", "/data/in"), bucket(cloud, "COPY", "ckpt", "ckpt"),
            bucket(cloud, "MOUNT_CACHED", "cache", "/data/cache")])
        out[f"{cloud}-bucket-all-modes"] = (p, NodeBootstrap(0, KEY, AGENT))
        for down in (False, True):
            p = placement(cloud=cloud, region=region, zone=None, autostop_minutes=10,
                          autostop_down=down)
            name = f"{cloud}-autostop-{'down' if down else 'stop'}"
            out[name] = (p, NodeBootstrap(0, KEY, AGENT))
        p = placement(cloud=cloud, region=region, zone=None, autostop_minutes=30,
                      autostop_wait_for="jobs", autostop_hook="cd ~ && echo 'bye $X'\n",
                      autostop_hook_timeout=120)
        out[f"{cloud}-autostop-hook"] = (p, NodeBootstrap(0, KEY, AGENT))
    for cloud in ("aws", "gcp", "azure"):
        p = placement(cloud=cloud, cluster=HOSTILE, labels={"team": HOSTILE, HOSTILE: "v"},
                      buckets=[bucket(cloud, "MOUNT", HOSTILE.replace("/", ""),
                                      "/mnt/" + HOSTILE, HOSTILE)],
                      autostop_minutes=7, autostop_down=True)  # fmt: skip
        if cloud == "aws":  # s3fs reads `bucket:/path`, so s3 names must not hold ':'
            p = p.model_copy(update={"buckets": [bucket(cloud, "MOUNT", "b$(touch pwned)`x`'\"",
                                                        "/mnt/" + HOSTILE, HOSTILE)]})
        if cloud == "azure":  # container names are URL-quoted into azcopy's URL
            p = p.model_copy(update={"buckets": [bucket(cloud, "COPY", HOSTILE.replace("/", ""),
                                                        "/mnt/" + HOSTILE, HOSTILE)]})
        out[f"{cloud}-hostile"] = (p, NodeBootstrap(0, KEY, AGENT))
    return out


VARIANTS = _variants()


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {name: render_user_data(p, node) for name, (p, node) in VARIANTS.items()}


# Runs cloud-init's own command-line entry point (what /usr/bin/cloud-init calls) for many
# files in one process: ~20 ms a file instead of ~0.5 s of interpreter start-up each.
SCHEMA_DRIVER = """
import contextlib, io, json, sys
from cloudinit.cmd.main import main
out = {}
for path in sys.argv[1:]:
    buf, code = io.StringIO(), 0
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            code = main(["cloud-init", "schema", "--config-file", path]) or 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    out[path] = [code, buf.getvalue()]
print(json.dumps(out))
"""


def cloud_init_schema(paths: list[Path]) -> dict[str, tuple[int, str]]:
    if not shutil.which("cloud-init") or not Path(SYSTEM_PYTHON).is_file():
        pytest.skip("cloud-init is not installed (.ci/install installs it)")
    out = subprocess.run([SYSTEM_PYTHON, "-c", SCHEMA_DRIVER, *map(str, paths)],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    return {Path(k).stem: (code, text) for k, (code, text) in json.loads(out).items()}


@pytest.fixture(scope="module")
def cli_results(rendered: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                ) -> dict[str, tuple[int, str]]:
    folder = tmp_path_factory.mktemp("user-data")
    for name, text in rendered.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return cloud_init_schema([folder / f"{name}.yaml" for name in rendered])


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA_FILE.is_file():
        pytest.skip(f"cloud-init's schema file {SCHEMA_FILE} is missing (install cloud-init)")
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Any:
    import jsonschema

    return jsonschema.Draft4Validator(schema)


def files_of(text: str) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in yaml.safe_load(text)["write_files"]}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_cloud_init_schema_accepts(name: str, cli_results: dict[str, tuple[int, str]]) -> None:
    code, output = cli_results[name]
    assert code == 0 and "Valid cloud-config" in output, output


def test_cloud_init_schema_executable(rendered: dict[str, str], tmp_path: Path) -> None:
    """The `cloud-init` program itself, on a variant and on a broken document."""
    if not shutil.which("cloud-init"):
        pytest.skip("cloud-init is not installed (.ci/install installs it)")
    broken = rendered["aws-cpu"].replace("lock_passwd: true", "lock_passwd: [1]")
    for name, text in [("gcp-hostile", rendered["gcp-hostile"]), ("broken", broken)]:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        result = subprocess.run(["cloud-init", "schema", "--config-file", str(path)],
                                capture_output=True, text=True, timeout=120)
        output = result.stdout + result.stderr
        if name == "broken":
            assert result.returncode != 0 and "lock_passwd" in output, output
        else:
            assert result.returncode == 0 and "Valid cloud-config" in output, output


@pytest.mark.parametrize("name", list(VARIANTS))
def test_json_schema_accepts_and_knows_every_key(name: str, rendered: dict[str, str],
                                                 schema: dict[str, Any], validator: Any) -> None:
    doc = yaml.safe_load(rendered[name])
    validator.validate(doc)
    known = {key for d in schema["$defs"].values() for key in d.get("properties", {})}
    assert set(doc) <= known, f"keys cloud-init does not know: {set(doc) - known}"
    assert rendered[name].startswith("#cloud-config\n")


def test_json_schema_check_catches_what_the_cli_misses(rendered: dict[str, str],
                                                       validator: Any) -> None:
    doc = yaml.safe_load(rendered["aws-cpu"])
    doc["users"][0]["shell"] = ["not", "a", "string"]
    assert list(validator.iter_errors(doc)), "a wrong type must be reported"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_script_is_valid_bash(name: str, rendered: dict[str, str], tmp_path: Path) -> None:
    scripts = {p: f for p, f in files_of(rendered[name]).items() if p.endswith(".sh")}
    assert "/etc/stix/autostop-action.sh" in scripts
    for i, (path, f) in enumerate(scripts.items()):
        assert f["content"].startswith("#!/bin/bash\n") and f["permissions"] == "0755"
        script = tmp_path / f"s{i}.sh"
        script.write_text(f["content"], encoding="utf-8")
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{path}: {result.stderr}"


def test_azure_autostop_action_python_compiles() -> None:
    text = render_user_data(*VARIANTS["azure-autostop-down"])
    script = files_of(text)["/etc/stix/autostop-action.sh"]["content"]
    code = script.split("<<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    compile(code, "autostop-action.py", "exec")


def test_agent_decodes_with_cloud_inits_own_code(rendered: dict[str, str]) -> None:
    if not Path(SYSTEM_PYTHON).is_file() or not SCHEMA_DIR.is_dir():
        pytest.skip("needs the system python3 with the cloud-init package")
    files = [files_of(rendered[name])["/home/stix/.stix/agent.py"]
             for name in ("aws-cpu", "stub-agent")]  # fmt: skip
    for f in files:
        assert (f["owner"], f["encoding"], f["defer"]) == ("stix:stix", "gz+b64", True)
    decode = ("import sys, json; from cloudinit.config import cc_write_files as w; "
              "print(json.dumps([w.extract_contents(f['content'], "
              "w.canonicalize_extraction(f['encoding'])).decode() for f in json.load(sys.stdin)]))")
    out = subprocess.run([SYSTEM_PYTHON, "-c", decode], input=json.dumps(files), text=True,
                         capture_output=True, check=True).stdout  # fmt: skip
    assert json.loads(out) == [AGENT, STUB_AGENT]


def test_no_agent_means_no_agent_file_and_autostop_needs_one(rendered: dict[str, str]) -> None:
    assert not any(p.endswith("agent.py") for p in files_of(rendered["no-agent"]))
    with pytest.raises(CloudInitError, match="autostop needs the node agent"):
        render_user_data(placement(autostop_minutes=5), NodeBootstrap(0, KEY, None))


def test_user_key_hostname_and_packages(rendered: dict[str, str]) -> None:
    doc = yaml.safe_load(rendered["aws-gpu-spot-multinode"])
    (user,) = doc["users"]
    assert user["name"] == "stix" and user["ssh_authorized_keys"] == [KEY]
    assert user["sudo"] == "ALL=(ALL) NOPASSWD:ALL" and user["shell"] == "/bin/bash"
    assert user["lock_passwd"] is True and doc["ssh_pwauth"] is False
    assert doc["hostname"] == "train-3"
    assert doc["packages"] == ["python3", "rsync", "cron"]
    env = files_of(rendered["aws-gpu-spot-multinode"])["/etc/stix/node.env"]["content"]
    assert "STIX_NODE_RANK=3\n" in env and "STIX_NUM_NODES=4\n" in env
    assert "STIX_NUM_GPUS_PER_NODE=4\n" in env and "STIX_USE_SPOT=1\n" in env
    assert yaml.safe_load(rendered["labels-user"])["users"][0]["name"] == "ubuntu"


@pytest.mark.parametrize(("cloud", "mode", "wanted"), [
    ("aws", "MOUNT", {"s3fs", "fuse3"}), ("aws", "COPY", {"unzip"}),
    ("gcp", "MOUNT", {"fuse3", "gnupg"}), ("gcp", "COPY", {"gnupg"}),
    ("azure", "MOUNT_CACHED", {"fuse3"}), ("azure", "COPY", set()),
])  # fmt: skip
def test_packages_follow_the_buckets(cloud: str, mode: str, wanted: set[str],
                                     rendered: dict[str, str]) -> None:
    packages = set(yaml.safe_load(rendered[f"{cloud}-bucket-{mode.lower()}"])["packages"])
    extra = packages - {"python3", "rsync", "cron", "ca-certificates", "curl"}
    assert extra == wanted - ({"fuse3"} if cloud == "aws" else set())  # s3fs brings its fuse


def test_autostop_variants(rendered: dict[str, str]) -> None:
    for cloud in ("aws", "gcp", "azure"):
        for action in ("stop", "down"):
            doc = yaml.safe_load(rendered[f"{cloud}-autostop-{action}"])
            (cmd,) = [c for c in doc["runcmd"] if "autostop" in c]
            assert cmd[cmd.index("--idle-minutes") + 1] == "10"
            want = f"sudo -n /etc/stix/autostop-action.sh {action}"
            assert cmd[cmd.index("--action") + 1] == want
    off = yaml.safe_load(rendered["aws-cpu"])
    assert not [c for c in off["runcmd"] if "autostop" in c]
    cron = files_of(rendered["aws-cpu"])["/etc/cron.d/stix-autostop"]
    assert cron["defer"] is True and cron["permissions"] == "0644"
    line = cron["content"].splitlines()[-1].split(" ", 6)
    assert line[:6] == ["*", "*", "*", "*", "*", "stix"]
    assert line[6].endswith("python3 /home/stix/.stix/agent.py autostop >/dev/null 2>&1")


def test_autostop_setting_reaches_the_real_agent(tmp_path: Path) -> None:
    """The runcmd line, minus its runuser wrapper, saves the setting in the real agent."""
    if AGENT is None:
        pytest.skip("stix/remote/agent.py is not in this tree yet")
    doc = yaml.safe_load(render_user_data(*VARIANTS["gcp-autostop-down"]))
    (cmd,) = [c for c in doc["runcmd"] if "autostop" in c]
    args = cmd[cmd.index("autostop"):]
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT, encoding="utf-8")
    env = dict(os.environ, STIX_AGENT_HOME=str(tmp_path / "home"))
    subprocess.run(["python3", str(agent), *args], env=env, check=True, capture_output=True)
    shown = json.loads(subprocess.run(["python3", str(agent), "autostop", "--show"], env=env,
                                      check=True, capture_output=True).stdout)
    assert shown["enabled"] and shown["idle_minutes"] == 10
    assert shown["action"] == "sudo -n /etc/stix/autostop-action.sh down"


def test_aws_action_is_a_shutdown_and_gcp_down_deletes(rendered: dict[str, str]) -> None:
    aws = files_of(rendered["aws-autostop-down"])["/etc/stix/autostop-action.sh"]["content"]
    assert "InstanceInitiatedShutdownBehavior=terminate" in aws and "shutdown -h now" in aws
    gcp = files_of(rendered["gcp-autostop-down"])["/etc/stix/autostop-action.sh"]["content"]
    # REST with the VM's own token from the metadata server (gcloud may not be installed)
    assert "instance/service-accounts/default/token" in gcp
    assert "-X DELETE" in gcp and "compute/v1/projects/$project/zones/" in gcp
    azure = files_of(rendered["azure-autostop-stop"])["/etc/stix/autostop-action.sh"]["content"]
    assert "/deallocate?" in azure


# -- hostile values ----------------------------------------------------------------------

RECORDER = """#!/usr/bin/env python3
import json, os, sys
keep = ("AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_AUTH_TYPE", "AZCOPY_AUTO_LOGIN_TYPE")
with open(os.environ["STIX_TEST_LOG"], "a") as log:
    log.write(json.dumps({"tool": os.path.basename(sys.argv[0]), "argv": sys.argv[1:],
                          "env": {k: os.environ[k] for k in keep if k in os.environ}}) + "\\n")
"""


def run_buckets_script(text: str, tmp_path: Path) -> list[dict[str, Any]]:
    """Run the rendered per-boot script with real bash; cloud tools are recorders."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(parents=True)
    for tool in ("s3fs", "gcsfuse", "blobfuse2", "aws", "gcloud", "azcopy", "chown"):
        (stubs / tool).write_text(RECORDER, encoding="utf-8")
        (stubs / tool).chmod(0o755)
    (stubs / "id").write_text("#!/bin/sh\necho 1000\n", encoding="utf-8")
    (stubs / "mountpoint").write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")  # not mounted
    for name in ("id", "mountpoint"):
        (stubs / name).chmod(0o755)
    script = tmp_path / "buckets.sh"
    script.write_text(files_of(text)["/var/lib/cloud/scripts/per-boot/stix-buckets.sh"]["content"],
                      encoding="utf-8")  # fmt: skip
    log = tmp_path / "calls.jsonl"
    env = {"PATH": f"{stubs}:/usr/bin:/bin", "STIX_TEST_LOG": str(log),
           "STIX_STATE_DIR": str(tmp_path / "state"), "STIX_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run(["bash", str(script)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "pwned").exists(), "a value ran as a command"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def hostile_placement(cloud: str, tmp_path: Path, mode: str, name: str) -> Placement:
    dest = f"{tmp_path}/m {HOSTILE}"
    return placement(cloud=cloud, cluster=HOSTILE, labels={"team": HOSTILE},
                     buckets=[bucket(cloud, mode, name, dest, HOSTILE)])


def test_hostile_values_arrive_verbatim_in_the_yaml(rendered: dict[str, str], tmp_path: Path
                                                    ) -> None:
    for cloud in ("aws", "gcp", "azure"):
        text = rendered[f"{cloud}-hostile"]
        doc = yaml.safe_load(text)
        assert doc["hostname"] == "x-touch-pwned-touch-pwned-touch-pwned-q-y-z-1-v-s-0"
        node = json.loads(files_of(text)["/etc/stix/node.json"]["content"])
        assert node["cluster"] == HOSTILE
        assert node["labels"] == {"team": HOSTILE, HOSTILE: "v"}
        assert node["buckets"][0]["mount_path"] == "/mnt/" + HOSTILE
        env_file = tmp_path / f"{cloud}.env"
        env_file.write_text(files_of(text)["/etc/stix/node.env"]["content"], encoding="utf-8")
        shown = subprocess.run(
            ["bash", "-c", 'set -a; . "$1"; printf "%s\\0" "$STIX_CLUSTER" "$STIX_HOSTNAME"',
             "bash", str(env_file)], cwd=tmp_path, capture_output=True, text=True, check=True)
        assert shown.stdout.split("\0")[:2] == [HOSTILE, doc["hostname"]]
        assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("mode", ["MOUNT", "MOUNT_CACHED", "COPY"])
def test_hostile_gcs_bucket_reaches_the_tools_verbatim(mode: str, tmp_path: Path) -> None:
    name = HOSTILE.replace("/", "")
    p = hostile_placement("gcp", tmp_path, mode, name)
    (call,) = [c for c in run_buckets_script(render_user_data(p, NodeBootstrap(0, KEY)), tmp_path)
               if c["tool"] != "chown"]  # fmt: skip
    dest = f"{tmp_path}/m {HOSTILE}"
    assert Path(dest).is_dir()
    if mode == "COPY":
        assert call == {"tool": "gcloud", "env": {},
                        "argv": ["storage", "rsync", "--recursive", f"gs://{name}/{HOSTILE}", dest]}
        assert (tmp_path / "state" / "copied-0").exists()
        return
    cache = ["--cache-dir", f"{tmp_path}/cache/bucket-0", "--file-cache-max-size-mb", "-1"]
    assert call["argv"] == [
        "--implicit-dirs", "--uid", "1000", "--gid", "1000", "--file-mode", "644", "--dir-mode",
        "755", "-o", "allow_other", "--only-dir", HOSTILE, *(cache if mode != "MOUNT" else []),
        name, dest]  # fmt: skip


def test_hostile_s3_and_azure_buckets_reach_the_tools_verbatim(tmp_path: Path) -> None:
    s3_name = "b$(touch pwned)`touch pwned`'\"; x"
    p = hostile_placement("aws", tmp_path, "MOUNT_CACHED", s3_name)
    calls = run_buckets_script(render_user_data(p, NodeBootstrap(0, KEY)), tmp_path / "x")
    (s3fs,) = [c for c in calls if c["tool"] == "s3fs"]
    assert s3fs["argv"][:2] == [f"{s3_name}:/{HOSTILE}", f"{tmp_path}/m {HOSTILE}"]
    assert f"use_cache={tmp_path}/x/cache/bucket-0" in s3fs["argv"]

    container = HOSTILE.replace("/", "")
    for mode in ("MOUNT", "COPY"):
        root = tmp_path / mode
        root.mkdir()
        p = hostile_placement("azure", tmp_path, mode, container)
        calls = run_buckets_script(render_user_data(p, NodeBootstrap(0, KEY)), root)
        (call,) = [c for c in calls if c["tool"] != "chown"]
        if mode == "MOUNT":
            assert call["env"] == {"AZURE_STORAGE_ACCOUNT": "stixacct",
                                   "AZURE_STORAGE_AUTH_TYPE": "msi"}
            assert call["argv"][:2] == ["mount", f"{tmp_path}/m {HOSTILE}"]
            assert f"--container-name={container}" in call["argv"]
            assert f"--subdirectory={HOSTILE}" in call["argv"]
        else:
            from urllib.parse import quote

            url = f"https://stixacct.blob.core.windows.net/{quote(container, safe='')}/"
            assert call["argv"] == ["sync", url + quote(HOSTILE), f"{tmp_path}/m {HOSTILE}",
                                    "--recursive"]
            assert call["env"] == {"AZCOPY_AUTO_LOGIN_TYPE": "MSI"}


def test_private_key_never_in_user_data(tmp_path: Path) -> None:
    from stix.keys import ensure_key_pair

    pair = ensure_key_pair()
    text = render_user_data(placement(), NodeBootstrap(0, pair.public_key, AGENT))
    private = pair.private_path.read_text(encoding="utf-8")
    body = "".join(private.splitlines()[1:-1])
    assert body[:40] not in text.replace("\n", "") and "PRIVATE KEY" not in text
    with pytest.raises(CloudInitError, match="not one public key line"):
        render_user_data(placement(), NodeBootstrap(0, private, AGENT))


# -- errors, determinism, helpers ----------------------------------------------------------


@pytest.mark.parametrize(("kw", "message"), [
    ({"buckets": [Bucket(store="ibm", name="b", mount_path="/b")]}, "cannot reach ibm buckets"),
    ({"buckets": [Bucket(store="azure", name="b", mount_path="/b")]},
     "a azure bucket on a aws node"),
    ({"buckets": [Bucket(store="s3", name="-o x", mount_path="/b")]}, "not a usable bucket name"),
    ({"buckets": [Bucket(store="s3", name="a:b", mount_path="/b")]}, "not a usable bucket name"),
    ({"cloud": "azure", "buckets": [Bucket(store="azure", name="c", mount_path="/b",
                                           account="evil.example/x#")]}, "storage account"),
    ({"buckets": [Bucket(store="s3", name="a", mount_path="/b/"),
                  Bucket(store="s3", name="b", mount_path="/b")]}, "two buckets on /b"),
    ({"buckets": [Bucket(store="s3", name="a", mount_path="/..")]}, "cannot mount a bucket on /"),
    ({"ssh_user": "root"}, "not a usable login name"),
    ({"ssh_user": "a b"}, "not a usable login name"),
    ({"autostop_minutes": -1}, "must be >= 0"),
])  # fmt: skip
def test_bad_placements_are_clear_errors(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(CloudInitError, match=message) as info:
        render_user_data(placement(**kw), NodeBootstrap(0, KEY, AGENT))
    assert "'train'" in str(info.value)  # names the cluster


def test_rank_out_of_range() -> None:
    with pytest.raises(CloudInitError, match=r"rank 2 is outside 0\.\.1"):
        render_user_data(placement(num_nodes=2), NodeBootstrap(2, KEY))


def test_render_is_deterministic_and_per_rank() -> None:
    p = placement(num_nodes=3, autostop_minutes=5)
    first, second = render_cluster(p, KEY), render_cluster(p, KEY)
    assert first == second and len(first) == 3
    assert [yaml.safe_load(t)["hostname"] for t in first] == ["train-0", "train-1", "train-2"]
    assert user_data_for_rank(p, KEY)(1) == first[1]


def test_payload_is_gzip_only_past_the_limit() -> None:
    import gzip

    text = render_user_data(placement(), NodeBootstrap(0, KEY, None))
    assert user_data_payload(text, "aws") == text.encode()
    big = "#cloud-config\n" + "# padding\n" * 2000  # compresses well
    packed = user_data_payload(big, "aws")
    assert gzip.decompress(packed).decode() == big and packed == user_data_payload(big, "aws")
    noise = base64.b64encode(os.urandom(40_000)).decode()
    with pytest.raises(CloudInitError, match="aws takes at most 16384"):
        render_user_data(placement(), NodeBootstrap(0, KEY, f"# {noise}\n"))
    assert user_data_payload(big, "kubernetes") == big.encode()  # no known limit


def test_hostname_is_a_dns_label() -> None:
    assert node_hostname("My_Cluster!", 3) == "my-cluster-3"
    assert node_hostname("$$$", 0) == "stix-0"
    long = node_hostname("a" * 100, 12)
    assert len(long) == 63 and long.endswith("-12")
    assert node_hostname("ab-" + "c" * 57 + "-dd", 1) == "ab-" + "c" * 57 + "-1"


# -- the quoting filters ------------------------------------------------------------------

TRICKY = ["", " lead", "trail ", "a\nb", "a\n", "a\n\n", "\nlead", "x: y", "- item", "# c",
          "'q'", '"dq"', "{a: 1}", "[1, 2]", "yes", "0755", "1e3", "~", "null", "a\r\nb",
          "a\u2028b", "a\x85b", "\ufeffbom", "tab\there", "a\n  b\n\tc", "...", "---",
          "|", ">", "&anchor", "*alias", "!tag", "%dir", "@", "`", "a\x00b", "a\x1bb"]


@pytest.mark.parametrize("value", TRICKY)
@pytest.mark.parametrize("indent", [0, 4])
def test_yaml_filter_keeps_values_and_structure(value: str, indent: int) -> None:
    check_yaml_roundtrip(value, indent)


@given(value=st.one_of(
    st.text(), st.text(alphabet=st.sampled_from(list("ab :#-'\"\n\t\r|>{}[],&*!%@`\\"))),
    st.lists(st.text(max_size=12), min_size=2, max_size=6).map("\n".join),  # literal blocks
    st.lists(st.text(alphabet="ab \t#:-|'\"", max_size=6), min_size=2, max_size=6).map("\n".join),
    st.lists(st.text(max_size=8), max_size=4),
    st.dictionaries(st.text(max_size=6), st.one_of(st.text(max_size=6), st.integers()), max_size=3),
), indent=st.sampled_from([0, 2, 4, 6]))
@settings(max_examples=150, deadline=None)
def test_yaml_filter_property(value: Any, indent: int) -> None:
    check_yaml_roundtrip(value, indent)


def check_yaml_roundtrip(value: Any, indent: int) -> None:
    from stix.remote.cloudinit import to_yaml

    pad = " " * indent
    head = "outer:\n" if indent else ""
    text = (f"{head}{pad}key: {to_yaml(value, indent)}\n{pad}after: 1\n"
            f"items:\n  - {to_yaml(value, 4)}\n  - end\n")
    items = {"items": [value, "end"]}
    want = {"outer": {"key": value, "after": 1}, **items} if indent else {
        "key": value, "after": 1, **items}
    assert yaml.safe_load(text) == want


def test_templates_refuse_unquoted_values() -> None:
    from stix.remote.safe_templates import _environment

    env = _environment()
    with pytest.raises(AssertionError, match="without the yaml or shq filter"):
        env.from_string("name: {{ v }}").render(v="$(reboot)")
    assert env.from_string("{{ v | shq }} {{ n }}").render(v="a b", n=3) == "'a b' 3"


def test_wait_for_and_hook_reach_the_real_agent(tmp_path: Path) -> None:
    doc = yaml.safe_load(render_user_data(*VARIANTS["aws-autostop-hook"]))
    hook = files_of(render_user_data(*VARIANTS["aws-autostop-hook"]))["/etc/stix/autostop-hook.sh"]
    assert hook["content"] == "#!/bin/bash\ncd ~ && echo 'bye $X'\n"
    assert hook["owner"] == "stix:stix" and hook["defer"] is True
    (cmd,) = [c for c in doc["runcmd"] if "autostop" in c]
    args = cmd[cmd.index("autostop"):]
    assert args[args.index("--wait-for") + 1] == "jobs"
    assert args[args.index("--hook-file") + 1] == "/etc/stix/autostop-hook.sh"
    assert args[args.index("--hook-timeout") + 1] == "120"
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT or "", encoding="utf-8")
    env = dict(os.environ, STIX_AGENT_HOME=str(tmp_path / "home"))
    subprocess.run(["python3", str(agent), *args], env=env, check=True, capture_output=True)
    shown = json.loads(subprocess.run(["python3", str(agent), "autostop", "--show"], env=env,
                                      check=True, capture_output=True).stdout)
    assert (shown["wait_for"], shown["hook_file"], shown["hook_timeout"]) == (
        "jobs", "/etc/stix/autostop-hook.sh", 120.0)
    assert shown["seconds_left"] > 29 * 60


def test_a_container_image_brings_a_runtime_unless_the_image_has_one(
        rendered: dict[str, str]) -> None:
    for name in ("aws-docker-gpu", "gcp-docker"):
        runcmd = yaml.safe_load(rendered[name])["runcmd"]
        install, group = runcmd[-2:]
        assert install[:2] == ["sh", "-c"] and "apt-get install -y -q docker.io" in install[2]
        assert group == ["sh", "-c", 'getent group docker >/dev/null && usermod -aG docker '
                         '"$1"; true', "sh", "stix"]
    assert "docker.io" not in rendered["aws-cpu"]
    # where a runtime is there already (podman, installed by .ci/install), nothing is installed
    install = yaml.safe_load(rendered["gcp-docker"])["runcmd"][-2][2]
    if shutil.which("podman") or shutil.which("docker"):
        done = subprocess.run(["sh", "-c", install.replace("apt-get", "false apt-get")],
                              timeout=30)
        assert done.returncode == 0
