"""Hostile strings through every sink a task or pool value reaches, each read back by the
real consumer: Terraform itself (`terraform console`) for the Terraform JSON, `ssh -G` for
the ssh config, bash for shell command lines and env files, the YAML parser and bash for
cloud-init user-data, the task loader for labels, the pools loader for hosts. A value is
either refused with an error that names it, or it arrives exactly as it was — never as
syntax."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stix.errors import StixError, TaskError

CORPUS = [
    '${file("/etc/passwd")}', "%{ for x in [1] }x%{ endfor }", "$${x}", "$$${x}", "%%{x}",
    "${", "%{", "$", "%", "a\nProxyCommand=/tmp/evil.sh", "x\rLocalCommand id", "-oProxyCommand=x",
    "`touch pwned`", "$(touch pwned)", "'; touch pwned; '", '"; touch pwned; "', "a b\tc",
    "#comment", "*", "!x", "a,b", "~", "~/../..", "\\", '\\"', "%h%p%r", "${HOME}", "//",
    "é ü 漢", "\x1b[31m", "a\x00b", "-", "--", "@", "x@y", "[::1]:22",
]
hostile = st.one_of(
    st.sampled_from(CORPUS),
    st.text(alphabet=st.sampled_from(list("${}%\"'\\\n\r\t #*?!,=:;`|&<>()[]~/-.@aZ09é")),
            max_size=24),
    st.text(max_size=24),
)
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- Terraform JSON: keys and values, every interpolation syntax ---------------------------


def _terraform_reads(tmp: Path, value: Any) -> Any:
    """`value` as Terraform evaluates it from a JSON configuration (a local)."""
    work = Path(tempfile.mkdtemp(dir=tmp))
    (work / "main.tf.json").write_text(json.dumps({"locals": {"v": value}}), encoding="utf-8")
    out = subprocess.run(["terraform", "console"], input="base64encode(jsonencode(local.v))\n",
                         cwd=work, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null"})
    assert out.returncode == 0, out.stderr
    return json.loads(base64.b64decode(out.stdout.strip().strip('"')))


@pytest.mark.skipif(not shutil.which("terraform"), reason="terraform is not installed")
@FUZZ
@given(tags=st.dictionaries(hostile, hostile, max_size=5), note=hostile)
def test_terraform_evaluates_nothing_a_value_holds(tags: dict[str, str], note: str,
                                                   tmp_path: Path) -> None:
    from stix.engine.terraform.translate import to_terraform
    from stix.stack.graph import Graph, Resource

    assume(all("\x00" not in s for s in [*tags, *tags.values(), note]))
    g = Graph(stack="x", program="aws")
    g.add(Resource("aws:s3/bucket:Bucket", "b", {"bucket": note, "tags": tags}))
    body = to_terraform(g)["resource"]["aws_s3_bucket"]["b"]
    read = _terraform_reads(tmp_path, {"tags": body["tags"], "bucket": body["bucket"]})
    nfc = functools.partial(unicodedata.normalize, "NFC")  # Terraform normalises all text
    assert read == {"tags": {nfc(k): nfc(v) for k, v in tags.items()}, "bucket": nfc(note)}


# -- the ssh config: newlines and every ssh_config metacharacter ---------------------------


def _ssh_g(config: Path, alias: str) -> dict[str, list[str]]:
    out = subprocess.run(["ssh", "-G", "-F", str(config), alias], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    seen: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        seen.setdefault(key, []).append(value)
    return seen


@pytest.mark.skipif(not shutil.which("ssh"), reason="no ssh client")
@FUZZ
@given(host=hostile, user=hostile, identity=hostile, alias=hostile)
def test_ssh_config_writes_a_value_exactly_or_refuses_it(host: str, user: str, identity: str,
                                                         alias: str, tmp_path: Path) -> None:
    from stix.remote import sshconfig
    from stix.remote.transport import NodeAddress

    node = NodeAddress("node-0", host, 2222, user or None, "/keys/" + identity)
    try:
        block = sshconfig.host_block(alias, node)
    except sshconfig.SshConfigError as exc:
        assert "ssh config, " in exc.message  # names the host alias and the field
        return
    config = Path(tempfile.mkdtemp(dir=tmp_path)) / "config"
    config.write_text(block)
    seen = _ssh_g(config, alias)
    if not re.fullmatch(r"[0-9.]+", host):  # ssh reads `10.1` the inet_aton way
        assert seen["hostname"] == [host.lower()]
    assert seen["user"] == [user] if user else True
    assert seen["port"] == ["2222"]
    assert seen["identityfile"] == [("/keys/" + identity).replace("%", "%%")]
    assert seen["stricthostkeychecking"] == ["true"]
    for option in ("proxycommand", "localcommand", "remotecommand", "proxyjump"):
        assert option not in seen


# -- shell command lines, client and node ---------------------------------------------------


class _BashNode:
    """A node whose commands run in bash in a folder (the node side of `write_file`)."""

    def __init__(self, home: Path) -> None:
        from stix.remote.transport import NodeAddress

        self.home = home
        self.address = NodeAddress("n", "127.0.0.1")

    async def run(self, command: str, *, stdin: bytes | None = None, **_: Any) -> Any:
        from stix.remote.transport import RunResult

        done = subprocess.run(["bash", "-c", command], input=stdin, cwd=self.home,
                              capture_output=True, timeout=30)
        return RunResult(done.returncode, done.stdout, done.stderr)


@FUZZ
@given(parts=st.lists(hostile, min_size=1, max_size=3))
def test_remote_file_paths_are_one_word(parts: list[str], tmp_path: Path) -> None:
    from stix.remote.transport import NodeTransport

    names = [p.replace("/", "_") for p in parts]
    assume(all(n not in ("", ".", "..") and "\x00" not in n for n in names))
    home = Path(tempfile.mkdtemp(dir=tmp_path))
    node = _BashNode(home)
    path = "/".join(names)
    asyncio.run(NodeTransport.write_file(node, path, b"data", 0o640))  # type: ignore[arg-type]
    assert (home / path).read_bytes() == b"data"
    assert (home / path).stat().st_mode & 0o777 == 0o640
    made = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert made == [path]


@FUZZ
@given(args=st.lists(hostile, max_size=5), home=hostile)
def test_agent_command_lines_hold_their_words(args: list[str], home: str,
                                              tmp_path: Path) -> None:
    from stix.remote.agent_client import AgentCommand

    assume(all("\x00" not in a for a in [*args, home]))
    # bash and a script that prints its environment's agent home and its words stand in
    # for python3 and the agent.
    show = tmp_path / "show.sh"
    show.write_text('printf "%s\\0" "${STIX_AGENT_HOME-unset}" "$@"\n')
    line = AgentCommand(tuple(args)).shell(python="bash", agent=str(show), home=home or None)
    done = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True,
                          timeout=30, env={**os.environ, "HOME": str(tmp_path)})
    words = done.stdout.decode().split("\0")[:-1]
    expected = (str(tmp_path) + home[1:]) if home.startswith("~/") else home
    assert words == [expected or "unset", *args]
    assert not (tmp_path / "pwned").exists()


@FUZZ
@given(host=hostile, user=hostile)
def test_ssh_argv_never_takes_a_value_as_an_option(host: str, user: str) -> None:
    from stix.remote.transport import NodeAddress, rsync_argv, ssh_target

    node = NodeAddress("n", host, 22, user or None)
    try:
        target = ssh_target(node)
    except StixError as exc:
        assert "node n:" in exc.message
        return
    assert not target.startswith("-") and not re.search(r"[\s\x00-\x1f'\"`$;|&]", target)
    assert rsync_argv(node, Path("/w"), "d")[-1] == f"{target}:d/"


# -- cloud-init user-data -------------------------------------------------------------------


@FUZZ
@given(region=hostile, zone=hostile, itype=hostile, value=hostile, path=hostile)
def test_cloud_init_carries_values_as_data(region: str, zone: str, itype: str, value: str,
                                           path: str, tmp_path: Path) -> None:
    from stix.placement import Bucket, Placement
    from stix.remote.cloudinit import NodeBootstrap, render_user_data

    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHU+tC5fgnrZedA/vSvUIgaLSjFrvYiVE5JqNQOHsvnv stix"
    p = Placement(cluster="train", cloud="aws", region=region, zone=zone or None,
                  instance_type=itype, vcpus=2, memory_gib=8, hourly_price=0.1,
                  labels={"team": value},
                  buckets=[Bucket(store="s3", name="data", mount_path="/mnt/" + path)])
    try:
        text = render_user_data(p, NodeBootstrap(0, key))
    except StixError:
        return  # refused, with a message (NUL, a path that is /, ...)
    doc = yaml.safe_load(text)
    files = {f["path"]: f["content"] for f in doc["write_files"]}
    node = json.loads(files["/etc/stix/node.json"])
    assert (node["region"], node["zone"], node["instance_type"]) == (region, zone or None, itype)
    assert node["labels"] == {"team": value}
    env_file = tmp_path / "node.env"
    env_file.write_text(files["/etc/stix/node.env"], encoding="utf-8")
    shown = subprocess.run(["bash", "-c", 'set -a; . "$1"; printf "%s\\0" "$STIX_REGION" '
                            '"$STIX_ZONE" "$STIX_INSTANCE_TYPE"', "bash", str(env_file)],
                           cwd=tmp_path, capture_output=True, timeout=30)
    assert shown.stdout.decode().split("\0")[:3] == [region, zone, itype]
    assert not (tmp_path / "pwned").exists()


# -- task labels, cluster (resource) names, pool hosts --------------------------------------


@FUZZ
@given(key=hostile, value=hostile)
def test_labels_load_only_as_label_syntax(key: str, value: str) -> None:
    from stix.task import parse_tasks

    text = yaml.safe_dump({"resources": {"labels": {key: value}}, "run": "x"})
    try:
        task = parse_tasks(text, "t.yaml").tasks[0]
    except TaskError as exc:
        assert exc.problems[0].path.startswith("resources.labels")
        assert exc.problems[0].line in (2, 3)  # the key's line (or its mapping's)
        return
    assert task.resources.labels == {key: value}
    # Kubernetes label syntax: letters, digits, '-', '_', '.', one optional 'prefix/';
    # nothing that quotes, templates, spaces or ends a line.
    name = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
    assert re.fullmatch(rf"([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?{name}", key)
    assert re.fullmatch(rf"({name})?", value)


@FUZZ
@given(name=hostile)
def test_cluster_and_resource_names_are_never_syntax(name: str) -> None:
    from stix import names
    from stix.clouds import common
    from stix.placement import Placement

    try:
        checked = names.check(name)
    except StixError:
        checked = None
    if checked is not None:
        assert re.fullmatch(r"[a-z][a-z0-9-]*", checked)
    p = Placement(cluster=name, cloud="aws", region="r", instance_type="t", vcpus=1,
                  memory_gib=1, hourly_price=0)
    try:
        resource = common.name(p, "vpc")
    except common.ProgramError:
        return
    assert "::" not in resource and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", resource)


@FUZZ
@given(address=hostile, user=hostile)
def test_pool_hosts_and_users_are_checked_when_read(address: str, user: str,
                                                    tmp_path: Path) -> None:
    from stix.machines.ssh import load_pools
    from stix.remote import names

    path = tmp_path / "pools.yaml"
    path.write_text(yaml.safe_dump({"lab": {"user": user, "hosts": [{"address": address}]}}))
    try:
        host = load_pools(path)["lab"].resolved()[0]
    except StixError as exc:
        assert str(path) in exc.message and "lab." in exc.message
        return
    assert names.check_host(host.address) == address
    assert host.user is None or names.check_user(host.user) == user
