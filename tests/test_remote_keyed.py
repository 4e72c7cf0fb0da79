"""Buckets set up after boot over SSH with the user's keys: the script (every value
quoted: the tools get exactly what the task says), plan (shows them, reads no keys), up
(refuses before anything is made without the keys) and a real node copying from a real
S3-compatible endpoint (moto) with the real AWS CLI."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stix.clouds.keyed import MissingKeys
from stix.placement import Bucket, Placement
from stix.remote import keyed

HOSTILE = "x'; touch pwned; `touch pwned` $(touch pwned) \"q\" y # {{ v }} %s \\ !"
STUB = """#!/bin/sh
exec {python} -c 'import json, os, sys; print(json.dumps({{"argv": sys.argv[1:], "env": {{
    k: os.environ.get(k) for k in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_DEFAULT_REGION")}}}}))' \
    "$(basename "$0")" "$@" >> {log}
"""


def placement(*buckets: Bucket, cloud: str = "aws") -> Placement:
    return Placement(cluster="train", cloud=cloud, region="us-east-1", zone=None,
                     instance_type="m6i.large", vcpus=2, memory_gib=8, hourly_price=0.1,
                     buckets=list(buckets))


def _minio_keys(home: Path, endpoint: str) -> None:
    (home / ".minio").mkdir(parents=True, exist_ok=True)
    (home / ".minio/minio.credentials").write_text(
        "[minio]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    (home / ".sky").mkdir(exist_ok=True)
    (home / ".sky/config.yaml").write_text(f"minio:\n  endpoint: {endpoint}\n")


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's machine: a home of its own, no cloud keys in the environment."""
    home = tmp_path / "user"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "HF_TOKEN",
                "AWS_SHARED_CREDENTIALS_FILE", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(var, raising=False)
    return home


def test_the_script_hands_the_tools_exactly_the_task_s_values(user_home: Path,
                                                              tmp_path: Path) -> None:
    _minio_keys(user_home, "http://10.0.0.5:9000")
    node = tmp_path / "node"
    (node / ".local/bin").mkdir(parents=True)
    log = tmp_path / "calls.jsonl"
    for tool in ("aws", "s3fs"):
        stub = node / ".local/bin" / tool
        stub.write_text(STUB.format(python=sys.executable, log=log))
        stub.chmod(0o755)
    sudo = node / ".local/bin/sudo"  # a login that may use sudo (as on cloud nodes)
    sudo.write_text('#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n')
    sudo.chmod(0o755)
    p = placement(Bucket(store="minio", name="data", mount_path=f"~/in {HOSTILE}", mode="COPY",
                         create=False, prefix=HOSTILE),
                  Bucket(store="minio", name="out", mount_path="out", mode="MOUNT",
                         create=False))
    found = keyed.check(p)
    text = keyed.script(p, found)
    assert "testing" not in text  # keys go in files, never in the script
    env = {"HOME": str(node), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(["bash", "-c", text], env=env, cwd=node, capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    keys = f"{node}/.stix/bucket-keys"
    assert calls[0] == {"argv": [
        "aws", "s3", "sync", "--only-show-errors", "--no-progress", "--endpoint-url",
        "http://10.0.0.5:9000", f"s3://data/{HOSTILE}", f"{node}/in {HOSTILE}"],
        "env": {"AWS_SHARED_CREDENTIALS_FILE": f"{keys}/minio.credentials",
                "AWS_DEFAULT_REGION": "us-east-1"}}
    # The stub brought nothing: the prefix may name one object, copied to the path itself.
    assert calls[1]["argv"] == ["aws", "s3", "cp", *calls[0]["argv"][3:]]
    assert calls[2]["argv"] == [
        "s3fs", "out", f"{node}/out", "-o", f"passwd_file={keys}/minio.passwd", "-o",
        "url=http://10.0.0.5:9000", "-o", "use_path_request_style", "-o", "endpoint=us-east-1",
        "-o", "umask=0022", "-o", "mp_umask=0022", "-o", "allow_other",
        "-o", f"uid={os.getuid()}", "-o", f"gid={os.getgid()}"]
    assert not list(tmp_path.rglob("pwned")) and (node / "out").is_dir()
    # A copy runs once per node and bucket; a second `up` leaves it alone.
    subprocess.run(["bash", "-c", text], env=env, cwd=node, check=True, timeout=30)
    assert sum("sync" in c["argv"] for c in map(json.loads, log.read_text().splitlines())) == 1


def test_a_local_node_gets_the_keys_in_its_own_home(user_home: Path, tmp_path: Path) -> None:
    from stix.remote.transport import LocalTransport, NodeAddress

    _minio_keys(user_home, "http://10.0.0.5:9000")
    (user_home / ".local/bin").mkdir(parents=True)
    log = tmp_path / "calls.jsonl"
    stub = user_home / ".local/bin/aws"
    stub.write_text(STUB.format(python=sys.executable, log=log))
    stub.chmod(0o755)
    node = tmp_path / "node"
    t = LocalTransport(NodeAddress(name="local-0", host="localhost", local_home=str(node)))
    p = placement(Bucket(store="minio", name="data", mount_path="~/d", mode="COPY",
                         create=False), cloud="local")
    asyncio.run(keyed.setup([t], p))
    [call] = [json.loads(line) for line in log.read_text().splitlines()]
    assert call["argv"][-1] == f"{node}/d"
    assert call["env"]["AWS_SHARED_CREDENTIALS_FILE"] == f"{node}/.stix/bucket-keys/minio.credentials"
    assert (node / ".stix/bucket-keys/minio.credentials").stat().st_mode & 0o077 == 0
    assert not (user_home / ".stix").exists()


@pytest.mark.parametrize("name", ["-o allow_other", "a b", "a:b", "x/y", ""])
def test_names_a_tool_would_misread_are_refused(name: str) -> None:
    p = placement(Bucket(store="r2", name=name, mount_path="/d", create=False))
    with pytest.raises(keyed.KeyedBucketError, match="not a usable r2 bucket name"):
        keyed.planned(p)


@pytest.mark.parametrize("path", ["~", "~/", "~/a/../..", "../x", "/", "/a/.."])
def test_a_bucket_is_never_mounted_on_the_home_or_above_it(path: str) -> None:
    p = placement(Bucket(store="r2", name="b", mount_path=path, create=False))
    with pytest.raises(keyed.KeyedBucketError, match=r"not on it or above it|on /"):
        keyed.planned(p)
    assert keyed.node_path("~/..data") == '"$node_home"/..data'


def test_only_buckets_the_node_cannot_reach_itself_are_keyed() -> None:
    from stix.keys import ensure_key_pair
    from stix.remote.cloudinit import NodeBootstrap, render_user_data

    p = placement(Bucket(store="s3", name="own", mount_path="/own", create=False),
                  Bucket(store="gcs", name="theirs", mount_path="/theirs", create=False),
                  Bucket(store="r2", name="keyed", mount_path="/keyed", create=False))
    assert [b.name for b in keyed.buckets(p)] == ["theirs", "keyed"]
    text = render_user_data(p, NodeBootstrap(0, ensure_key_pair().public_key))
    assert "dest=/own" in text and "dest=/theirs" not in text and "dest=/keyed" not in text


TASK = """\
name: keyed
resources: {infra: aws/us-east-1, cpus: 2+}
file_mounts:
  /data: {name: lmsys, store: r2, mode: MOUNT}
  /imagenet: gs://some-public/imagenet
  /own: s3://mine
run: echo
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_home: Path) -> Path:
    pytest.importorskip("pulumi_aws", reason="needs the pulumi extra (.ci/install installs it)")
    from stix.stack.project import init_project

    root, _ = init_project(tmp_path / "proj")
    monkeypatch.chdir(root.root)
    (root.root / "task.yaml").write_text(TASK)
    return root.root


def test_plan_shows_how_keyed_buckets_are_reached_and_needs_no_keys(project: Path) -> None:
    from stix.stack.plan import plan_task_file

    [plan] = plan_task_file(project / "task.yaml")
    lines = [w for w in plan.warnings if "over SSH" in w]
    assert len(lines) == 2
    assert lines[0].startswith("file_mounts./data: r2 bucket lmsys (MOUNT): set up after boot")
    assert "s3fs" in lines[0] and "~/.cloudflare/r2.credentials" in lines[0]
    assert "created from this machine at up if missing" in lines[0]
    assert "uploaded" not in lines[0]
    assert "gcs bucket some-public" in lines[1] and "application default" in lines[1]
    assert not (Path.home() / ".cloudflare").exists()  # planned with no keys anywhere


def test_up_refuses_before_creating_anything_without_the_keys(project: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    from engine_support import ScriptedEngine

    from stix import state
    from stix.cluster import stacks
    from stix.task import load_task

    engine = ScriptedEngine()
    monkeypatch.setattr(stacks, "engine_for", lambda name: engine)
    conn = state.connect()
    with state.cluster_lock(conn, "keyed", "up"), pytest.raises(MissingKeys) as info:
        stacks.provision(load_task(project / "task.yaml"), "keyed", conn=conn)
    assert "~/.cloudflare/r2.credentials" in info.value.message and info.value.hint
    assert engine.ups == [] and engine.bucket_ups == []
    assert state.get_cluster(conn, "keyed") is None


# -- a real node, a real S3-compatible endpoint -----------------------------------------------


def _aws_cli_tree(dest: Path) -> Path | None:
    """The AWS CLI's modules, hard-linked where test users can read them (None: no CLI
    here, or its Python is not the nodes' /usr/bin/python3)."""
    if not Path("/usr/bin/python3").exists():
        return None
    if subprocess.run(["/usr/bin/python3", "-c", "import awscli"],
                      capture_output=True).returncode == 0:
        dest.mkdir(mode=0o755)
        return dest  # Debian's awscli (.ci/install): the nodes' own python3 has it
    aws = shutil.which("aws")
    if aws is None:
        return None
    with open(os.path.realpath(aws)) as f:
        shebang = f.readline()[2:].strip()
    # A version manager's shim runs the CLI with the interpreter this venv is made from.
    python = shebang if "python" in shebang else os.path.realpath(sys.executable)
    probe = ("import awscli, sys; print(sys.version_info[:2]); import importlib.util as u;"
             "[print(u.find_spec(m).submodule_search_locations[0] if u.find_spec(m)."
             "submodule_search_locations else u.find_spec(m).origin) for m in ('awscli', "
             "'botocore', 's3transfer', 'jmespath', 'dateutil', 'six', 'urllib3', 'docutils', "
             "'rsa', 'pyasn1', 'colorama', 'yaml')]")
    mine = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.version_info[:2])"],
                          capture_output=True, text=True).stdout.strip()
    got = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    lines = got.stdout.split("\n")
    if got.returncode or lines[0] != mine:
        return None
    dest.mkdir(mode=0o755)
    for src in filter(None, lines[1:]):
        subprocess.run(["cp", "-al" if os.stat(src).st_dev == os.stat(dest).st_dev else "-a",
                        src, str(dest)], check=True)
    subprocess.run(["chmod", "-R", "a+rX", str(dest)], check=True)
    return dest


@pytest.fixture
def moto_at(sshd_hosts: Any) -> Iterator[str]:
    """A moto server the nodes can reach (on the bridge when nodes have namespaces)."""
    yield from _moto(sshd_hosts.gateway if sshd_hosts.netns_ok else "127.0.0.1")


@pytest.fixture
def moto_here() -> Iterator[str]:
    """A moto server on loopback (this machine's side only)."""
    yield from _moto("127.0.0.1")


def _moto(host: str) -> Iterator[str]:
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(exe).exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "-H", host, "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        yield f"http://{host}:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_local_sources_are_uploaded_once_and_private_ones_stay(user_home: Path,
                                                               tmp_path: Path,
                                                               moto_here: str) -> None:
    boto3 = pytest.importorskip("boto3")
    from stix.remote.private import PrivateSourceError
    from stix.task import parse_tasks

    _minio_keys(user_home, moto_here)
    data = tmp_path / "datasets"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("alpha")
    (data / "sub/b.txt").write_text("beta")
    task = parse_tasks(f"file_mounts:\n  /d: {{name: fresh, store: minio, source: {data}, "
                       "mode: COPY}\nrun: echo\n", "t.yaml").tasks[0]
    p = placement(Bucket(store="minio", name="fresh", mount_path="/d", mode="COPY"),
                  cloud="kubernetes")
    said: list[str] = []
    found = keyed.before_up(p)
    keyed.create_missing(p, found, said.append)
    keyed.upload_sources(task, p, found, allow_private=False, say=said.append)
    s3 = boto3.client("s3", endpoint_url=moto_here, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    got = {o["Key"] for o in s3.list_objects_v2(Bucket="fresh")["Contents"]}
    assert got == {"a.txt", "sub/b.txt"}
    keyed.upload_sources(task, p, found, allow_private=False, say=said.append)
    assert said[0].startswith("bucket fresh: created in minio")
    assert "2 of 2 file(s)" in said[1] and "0 of 2 file(s)" in said[2]
    (user_home / ".ssh").mkdir()
    (user_home / ".ssh/id_ed25519").write_text("PRIVATE")
    private = parse_tasks(f"file_mounts:\n  /d: {{name: fresh, store: minio, source: "
                          f"{user_home / '.ssh'}}}\nrun: echo\n", "t.yaml").tasks[0]
    with pytest.raises(PrivateSourceError, match="credential store"):
        keyed.upload_sources(private, p, found, allow_private=False, say=said.append)
    # `up` checks them before it makes anything (with the task's other local files).
    from stix.remote.sync import check_task_files

    with pytest.raises(PrivateSourceError, match="credential store"):
        check_task_files(private)
    gone = parse_tasks("file_mounts:\n  /d: {name: b, store: r2, source: /nonexistent/x}\n",
                       "t.yaml").tasks[0]
    with pytest.raises(keyed.KeyedBucketError, match="does not exist"):
        check_task_files(gone)
    check_task_files(task)


@pytest.mark.sshd
def test_a_node_copies_with_keys_sent_over_ssh(sshd_nodes: Callable[[int], list[Any]],
                                               sshd_hosts: Any, moto_at: str, user_home: Path
                                               ) -> None:
    boto3 = pytest.importorskip("boto3")
    # Test users cannot enter pytest's tmp_path (0700): the CLI goes where they can.
    shared = Path(tempfile.mkdtemp(prefix="stix-awscli-"))
    shared.chmod(0o755)
    try:
        tree = _aws_cli_tree(shared / "awscli")
        if tree is None:
            pytest.skip("needs the AWS CLI on a Python the nodes' /usr/bin/python3 matches")
        _copy_on_a_node(sshd_nodes, sshd_hosts, moto_at, user_home, tree, boto3)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _copy_on_a_node(sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, moto_at: str,
                    user_home: Path, tree: Path, boto3: Any) -> None:
    from stix.remote.wait import wait_for_nodes

    s3 = boto3.client("s3", endpoint_url=moto_at, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="sky-demo-dataset")
    s3.put_object(Bucket="sky-demo-dataset", Key="train/a.txt", Body=b"alpha")
    s3.put_object(Bucket="sky-demo-dataset", Key="train/sub/b.txt", Body=b"beta")
    s3.put_object(Bucket="sky-demo-dataset", Key="other/c.txt", Body=b"one object")
    _minio_keys(user_home, moto_at)
    [node] = sshd_nodes(1)
    home: Path = node.host.home
    (home / ".local/bin").mkdir(parents=True)
    wrapper = home / ".local/bin/aws"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={tree} exec /usr/bin/python3 -m awscli \"$@\"\n")
    wrapper.chmod(0o755)
    shutil.chown(home / ".local", node.host.user, node.host.user)
    shutil.chown(home / ".local/bin", node.host.user, node.host.user)
    copy = Bucket(store="minio", name="sky-demo-dataset", mount_path="~/dataset-demo",
                  mode="COPY", create=False, prefix="train")
    single = Bucket(store="minio", name="sky-demo-dataset", mount_path="~/c.txt", mode="COPY",
                    create=False, prefix="other/c.txt")
    mount = Bucket(store="minio", name="sky-demo-dataset", mount_path="~/live", create=False)
    said: list[str] = []

    async def go(p: Placement) -> None:
        ts = await wait_for_nodes([node.address(sshd_hosts.key)], 20)
        try:
            await keyed.setup(ts, p, said.append)
        finally:
            for t in ts:
                await t.close()

    asyncio.run(go(placement(copy, single, cloud="kubernetes")))
    assert (home / "c.txt").read_text() == "one object"
    got = {str(f.relative_to(home / "dataset-demo")): f.read_text()
           for f in (home / "dataset-demo").rglob("*") if f.is_file()}
    assert got == {"a.txt": "alpha", "sub/b.txt": "beta"}
    keys = home / ".stix/bucket-keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in keys.iterdir()} == {
        "minio.credentials": 0o600, "minio.passwd": 0o600}
    assert (keys / "minio.passwd").read_text() == "testing:testing"
    assert not any("testing" in line for line in said)
    if shutil.which("s3fs") is None:  # MOUNT: without s3fs the node says so, by bucket
        with pytest.raises(keyed.KeyedBucketError, match="s3fs"):
            asyncio.run(go(placement(copy, mount, cloud="kubernetes")))
