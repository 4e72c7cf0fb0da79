"""Host keys: pinned in stix's own known-hosts file and checked by every SSH path (asyncssh,
rsync, `stix ssh`, the generated ssh config), against real sshd nodes whose host key is
swapped. Cloud nodes learn their key from the console output cloud-init writes (cloud-init's
own script makes it; EC2's GetConsoleOutput is answered by moto, in process)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stix.remote import hostkeys, sshconfig
from stix.remote.hostkeys import HostKeyError
from stix.remote.transport import NodeAddress, NodeUnreachableError, connect, rsync_argv
from stix.remote.wait import wait_for_node

SCRIPT = Path("/usr/lib/cloud-init/write-ssh-key-fingerprints")


def _new_key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


def _public(key: Path) -> str:
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def cloud_init_console(tmp: Path, *keys: Path) -> str:
    """What cloud-init prints to the console for these host keys: its own script
    (write-ssh-key-fingerprints), run with its `/etc/ssh/` pointed at a folder of ours."""
    if not SCRIPT.is_file():
        pytest.skip("cloud-init is not installed (apt-get install cloud-init)")
    etc = tmp / f"etc-ssh-{len(list(tmp.glob('etc-ssh-*')))}"
    etc.mkdir()
    for i, key in enumerate(keys):
        shutil.copy(key.with_suffix(".pub"), etc / f"ssh_host_k{i}_key.pub")
    script = tmp / "write-ssh-key-fingerprints"
    script.write_text(SCRIPT.read_text().replace("/etc/ssh/", f"{etc}/"))
    out = subprocess.run(["sh", str(script), "", "ssh-dss"], capture_output=True, text=True,
                         check=True).stdout
    noise = "[    3.141] cloud-init[712]: Cloud-init v. 22.4 running 'modules:final'\n"
    return noise + out + "[  OK  ] Reached target Cloud-init target.\n"


def test_keys_from_cloud_inits_console_block(tmp_path: Path) -> None:
    a, b = _new_key(tmp_path, "a"), _new_key(tmp_path, "b")
    text = cloud_init_console(tmp_path, a)
    assert hostkeys.BEGIN_KEYS in text
    assert hostkeys.keys_from_console(text) == [_public(a)]
    # After a reboot the console holds two blocks: the last one counts.
    assert hostkeys.keys_from_console(text + cloud_init_console(tmp_path, b)) == [_public(b)]
    unfinished = text + hostkeys.BEGIN_KEYS + "\n" + _public(b) + "\n"
    assert hostkeys.keys_from_console(unfinished) == []
    assert hostkeys.keys_from_console("no block here") == []
    forged = f"{hostkeys.BEGIN_KEYS}\nssh-ed25519 not-base64!\n{hostkeys.END_KEYS}\n"
    assert hostkeys.keys_from_console(forged) == []


def test_pins_are_private_and_forgotten_with_ssh_keygen(tmp_path: Path) -> None:
    key = _new_key(tmp_path, "k")
    hostkeys.pin("[10.0.0.1]:2222", [_public(key)], "trusted on first use")
    hostkeys.pin("[10.0.0.1]:2222", [_public(key)], "again")  # no duplicate
    path = hostkeys.known_hosts_path()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert hostkeys.pinned("[10.0.0.1]:2222") == [_public(key)]
    assert hostkeys.pinned("10.0.0.1") == []
    node = NodeAddress("node-0", "10.0.0.1", 2222)
    subprocess.run(hostkeys.forget_hint(node), shell=True, check=True, capture_output=True)
    assert hostkeys.pinned("[10.0.0.1]:2222") == []
    with pytest.raises(HostKeyError):
        hostkeys.pin("a b", [_public(key)], "x")


def _connect(address: NodeAddress, timeout: float = 10) -> Any:
    async def go() -> None:
        t = await connect(address, timeout)
        try:
            result = await t.run("echo ok")
            assert result.stdout == b"ok\n"
        finally:
            await t.close()

    asyncio.run(go())


def _ssh(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*argv[:-1], "-o", "BatchMode=yes", argv[-1], "true"],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.sshd
def test_first_use_is_recorded_and_a_changed_key_refused_everywhere(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, tmp_path: Path) -> None:
    from stix.remote.transport import SshTransport

    node = sshd_nodes(1)[0]
    address = node.address(sshd_hosts.key)
    pattern = hostkeys.pattern_for(address)
    _connect(address)
    assert hostkeys.pinned(pattern) == [_public(sshd_hosts.host_key)]
    assert "trusted on first use" in hostkeys.known_hosts_path().read_text()

    argv = SshTransport(address, None).interactive_argv()  # what `stix ssh` runs
    config = sshconfig.write([("lab", [address])])
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.txt").write_text("x")
    sync = rsync_argv(address, src, "synced")
    assert _ssh(argv).returncode == 0
    assert subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", "lab", "true"],
                          capture_output=True, timeout=30).returncode == 0
    assert subprocess.run(sync, input=b"", capture_output=True, timeout=30).returncode == 0

    node.use_host_key(_new_key(tmp_path, "other"))  # reinstalled, or someone in the middle
    with pytest.raises(HostKeyError) as err:
        _connect(address)
    assert "not the key stix recorded for it on first use" in err.value.message
    assert hostkeys.forget_hint(address) in str(err.value.hint)
    with pytest.raises(HostKeyError):  # refused at once, never retried as "unreachable"
        asyncio.run(wait_for_node(address, 10**9))
    refused = _ssh(argv)
    assert refused.returncode != 0 and "verification failed" in refused.stderr
    ssh_config = subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", "lab", "true"],
                                capture_output=True, text=True, timeout=30)
    assert ssh_config.returncode != 0 and "verification failed" in ssh_config.stderr
    rsync = subprocess.run(sync, input="", capture_output=True, text=True, timeout=30)
    assert rsync.returncode != 0 and "verification failed" in rsync.stderr
    assert hostkeys.pinned(pattern) == [_public(sshd_hosts.host_key)]  # still the old pin

    # Accepting the change deliberately: the command the message gives, then first use.
    subprocess.run(hostkeys.forget_hint(address), shell=True, check=True, capture_output=True)
    _connect(address)
    assert hostkeys.pinned(pattern) == [_public(tmp_path / "other")]
    assert _ssh(argv).returncode == 0


@pytest.fixture
def fake_ec2(monkeypatch: pytest.MonkeyPatch) -> Any:
    """moto's EC2 in this process; `console(text)` sets what GetConsoleOutput returns."""
    pytest.importorskip("moto")
    import boto3
    import moto.ec2.responses.general as general
    from moto import mock_aws

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    class Ec2:
        def __init__(self) -> None:
            self.client = boto3.client("ec2", region_name="us-east-1")

        def instance_at(self, ip: str) -> str:
            a, b, c, _ = ip.split(".")
            vpc = self.client.create_vpc(CidrBlock=f"{a}.{b}.0.0/16")["Vpc"]["VpcId"]
            subnet = self.client.create_subnet(VpcId=vpc, CidrBlock=f"{a}.{b}.{c}.0/24")
            ami = self.client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
            reply = self.client.run_instances(
                ImageId=ami, MinCount=1, MaxCount=1, PrivateIpAddress=ip,
                SubnetId=subnet["Subnet"]["SubnetId"])
            return str(reply["Instances"][0]["InstanceId"])

        def console(self, text: str) -> None:
            monkeypatch.setattr(general, "SAMPLE_CONSOLE_OUTPUT", text)

    with mock_aws():
        yield Ec2()


@pytest.mark.sshd
def test_cloud_node_key_comes_from_its_console_output(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, tmp_path: Path,
        fake_ec2: Any, capfd: pytest.CaptureFixture[str]) -> None:
    node = sshd_nodes(1)[0]
    plain = node.address(sshd_hosts.key)
    alias = hostkeys.cloud_alias("train", "train-0", plain.host)
    address = NodeAddress(plain.name, plain.host, plain.port, plain.user, plain.identity_file,
                          internal_ip=plain.host, host_key_alias=alias,
                          host_key_source="aws/us-east-1")
    fake_ec2.instance_at(plain.host)

    fake_ec2.console("Booting...\n")  # cloud-init has not printed the keys yet
    with pytest.raises(NodeUnreachableError, match="does not show the node's host keys yet"):
        asyncio.run(wait_for_node(address, 0))  # one attempt
    assert hostkeys.pinned(alias) == []

    fake_ec2.console(cloud_init_console(tmp_path, sshd_hosts.host_key))
    _connect(address)
    assert hostkeys.pinned(alias) == [_public(sshd_hosts.host_key)]
    assert "from the aws/us-east-1 console output" in hostkeys.known_hosts_path().read_text()
    assert hostkeys.pinned(hostkeys.pattern_for(plain)) == []  # not under the IP: IPs recycle
    config = sshconfig.write([("train", [address])])
    assert subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", "train", "true"],
                          capture_output=True, timeout=30).returncode == 0

    # Someone answers for the node with another key: the console does not show it.
    node.use_host_key(_new_key(tmp_path, "intruder"))
    with pytest.raises(HostKeyError) as err:
        _connect(address)
    assert "which aws/us-east-1 does not report for this node" in err.value.message
    assert hostkeys.pinned(alias) == [_public(sshd_hosts.host_key)]

    # The instance was replaced and the console shows the new key: accepted, and said.
    fake_ec2.console(cloud_init_console(tmp_path, tmp_path / "intruder"))
    capfd.readouterr()
    _connect(address)
    assert "has a new host key, confirmed by aws/us-east-1" in capfd.readouterr().err
    assert hostkeys.pinned(alias) == [_public(tmp_path / "intruder")]

    hostkeys.forget_nodes([address])  # what `stix destroy` does with a cluster's pins
    assert hostkeys.pinned(alias) == []


@pytest.mark.sshd
def test_a_cloud_without_a_console_reader_trusts_first_use_and_says_so(
        sshd_nodes: Callable[[int], list[Any]], sshd_hosts: Any, tmp_path: Path,
        capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from stix.clouds import registry

    node = sshd_nodes(1)[0]
    plain = node.address(sshd_hosts.key)
    # GCP has a reader (tests/test_clouds_hostkeys_offline.py); here it stands for one without.
    monkeypatch.setattr(registry.cloud("gcp"), "host_keys", lambda region, address: None)

    def at(host: str) -> NodeAddress:  # the same machine, as if the cloud gave it `host`
        return NodeAddress(plain.name, plain.host, plain.port, plain.user, plain.identity_file,
                           host_key_alias=hostkeys.cloud_alias("web", "web-0", host),
                           host_key_source="gcp/us-central1")

    _connect(at(plain.host))
    assert "offers stix no way to read host keys yet" in capfd.readouterr().err
    node.use_host_key(_new_key(tmp_path, "other"))
    with pytest.raises(HostKeyError) as err:
        _connect(at(plain.host))
    assert "not the key stix recorded for it on first use" in err.value.message
    _connect(at("203.0.113.9"))  # a replaced instance comes with a new address: first use
    other = hostkeys.cloud_alias("db", "db-0", plain.host)
    hostkeys.pin(other, [_public(tmp_path / "other")], "another cluster")
    hostkeys.forget_nodes([at(plain.host)])  # `destroy web`: every web pin, old ones too
    text = hostkeys.known_hosts_path().read_text()
    assert ".web.stix" not in text and other in text


def test_trust_on_first_use_for_clouds_is_a_deliberate_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cloud = NodeAddress("n", "10.0.0.1", host_key_source="aws/us-east-1")
    assert not hostkeys.trust_on_first_use(cloud)
    assert hostkeys.trust_on_first_use(NodeAddress("n", "10.0.0.1"))
    monkeypatch.setenv(hostkeys.POLICY_ENV, "tofu")
    assert hostkeys.trust_on_first_use(cloud)
    assert os.environ[hostkeys.POLICY_ENV] == "tofu"
