"""`stix orphans` against moto server (a real AWS API emulator on loopback): resources made
with boto3 and tagged `stix-cluster` that no stack holds are listed (priced from the
catalog where it knows the machine), `--delete` asks and a "no" deletes nothing, `-y`
deletes them; held resources of a real Terraform-applied stack are never listed. The CLI
runs as a subprocess, under a real pseudo-terminal where it must ask."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tf_support import moto_provider, moto_server, placement, terraform_or_skip

_PREFIXES = ("AWS_", "GOOGLE_", "CLOUDSDK_", "GCLOUD_", "AZURE_", "KUBE", "IDENTITY_", "MSI_")


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """One emulator for the module; each test works in a region of its own."""
    with moto_server() as url:
        yield url


def clean_env(home: Path, stix_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), STIX_HOME=str(stix_home), COLUMNS="200",
               STIX_CATALOG_REFRESH_HOURS="0")
    return env


def aws_env(url: str, home: Path, stix_home: Path) -> dict[str, str]:
    return {**clean_env(home, stix_home), "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1"}


def stix(env: dict[str, str], *args: str, cwd: Path | None = None,
         tty_input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI; with `tty_input`, stdin is a pseudo-terminal that types it."""
    argv = [sys.executable, "-m", "stix", *args]
    if tty_input is None:
        return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=900)
    primary, secondary = pty.openpty()
    try:
        os.write(primary, tty_input.encode())
        return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                              stdin=secondary, timeout=300)
    finally:
        os.close(primary)
        os.close(secondary)


def client(service: str, url: str, region: str) -> Any:
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def tag(cluster: str, *kinds: str) -> list[dict[str, Any]]:
    return [{"ResourceType": k, "Tags": [{"Key": "stix-cluster", "Value": cluster},
                                         {"Key": "managed-by", "Value": "stix"}]} for k in kinds]


def make_ghosts(url: str, region: str, cluster: str) -> dict[str, str]:
    """An instance, a volume and a security group tagged for `cluster`, as a crash that lost
    the state would leave them, plus an untagged instance that is none of stix's."""
    ec2 = client("ec2", url, region)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="m6i.large",
                             TagSpecifications=tag(cluster, "instance"))["Instances"][0]
    ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType="m6i.large")
    vol = ec2.create_volume(AvailabilityZone=f"{region}a", Size=20,
                            TagSpecifications=tag(cluster, "volume"))
    sg = ec2.create_security_group(GroupName=f"{cluster}-sg", Description="stix",
                                   TagSpecifications=tag(cluster, "security-group"))
    return {"instance": inst["InstanceId"], "volume": vol["VolumeId"], "security-group":
            sg["GroupId"]}


def scan(env: dict[str, str], region: str, *more: str) -> dict[str, Any]:
    done = stix(env, "orphans", "--cloud", "aws", "--region", region, "--json", *more)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def instance_state(url: str, region: str, instance: str) -> str:
    found = client("ec2", url, region).describe_instances(InstanceIds=[instance])
    return str(found["Reservations"][0]["Instances"][0]["State"]["Name"])


def catalog_price(instance_type: str, region: str, zone: str) -> float:
    from stix.catalog import load_catalog

    rows = [o for o in load_catalog(clouds=["aws"]).for_cloud("aws")
            if o.instance_type == instance_type and o.region == region]
    return min(o.price for o in ([o for o in rows if o.zone == zone] or rows))


def test_lists_only_orphans_priced_with_the_json_shape(moto: str, tmp_path: Path,
                                                       stix_home: Path) -> None:
    from stix import state

    region = "us-west-2"
    ghosts = make_ghosts(moto, region, "ghost")
    # A cluster the state DB knows, with a security group made by hand that its stack
    # does not hold.
    conn = state.connect()
    record = state.ClusterRecord("known", "aws", placement(cluster="known", region=region,
                                                           zone=f"{region}a"),
                                 state.ClusterStatus.UP, 0.0, 0.0, 0.096, [],
                                 engine="terraform")
    state.put_cluster(conn, record)
    conn.close()
    hand = client("ec2", moto, region).create_security_group(
        GroupName="known-extra", Description="by hand",
        TagSpecifications=tag("known", "security-group"))["GroupId"]
    env = aws_env(moto, tmp_path / "home", stix_home)

    report = scan(env, region, "--engine", "terraform")
    got = {(o["kind"], o["id"]) for o in report["orphans"]}
    assert got == {*((k, v) for k, v in ghosts.items()), ("security-group", hand)}
    assert set(report) == {"orphans", "hourly_price", "unpriced", "held", "busy", "clouds",
                           "engines", "deleted"}
    by_id = {o["id"]: o for o in report["orphans"]}
    inst = by_id[ghosts["instance"]]
    assert set(inst) == {"cloud", "region", "zone", "kind", "id", "name", "cluster", "machine",
                         "spot", "hourly_price", "detail", "reason"}
    assert (inst["cloud"], inst["region"], inst["cluster"], inst["machine"]) == (
        "aws", region, "ghost", "m6i.large")
    assert inst["hourly_price"] == pytest.approx(catalog_price("m6i.large", region,
                                                               inst["zone"]))
    assert inst["reason"] == "no stack or cluster named ghost"
    assert inst["detail"].startswith("no stack or cluster named ghost; m6i.large running")
    assert by_id[ghosts["volume"]]["hourly_price"] is None  # volumes are not priced
    assert "20 GiB" in by_id[ghosts["volume"]]["detail"]
    assert by_id[hand]["reason"] == ("cluster known exists (state DB) but its stack does not "
                                     "hold this")
    assert report["hourly_price"] == pytest.approx(inst["hourly_price"])
    assert report["unpriced"] == 3
    assert report["engines"] == [{"engine": "terraform", "read": True, "stacks": [],
                                  "error": None}]
    (aws,) = report["clouds"]
    assert aws["cloud"] == "aws" and aws["scanned"] and aws["regions"] == [region]
    # moto implements no placement groups: the scan says so instead of hiding it.
    assert any("placement groups could not be listed" in p for p in aws["problems"])
    assert report["deleted"] == []

    text = stix(env, "orphans", "--cloud", "aws", "--region", region, "--engine", "terraform")
    assert text.returncode == 0, text.stderr
    assert ghosts["instance"] in text.stdout and "not priced" in text.stdout
    assert "known: cluster known exists (state DB)" in text.stdout
    assert "4 orphan(s)" in text.stdout


def test_an_unreadable_engine_is_said_and_blocks_deleting(moto: str, tmp_path: Path,
                                                          stix_home: Path) -> None:
    region = "ap-southeast-2"
    ghosts = make_ghosts(moto, region, "ghost")
    env = aws_env(moto, tmp_path / "home", stix_home)
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not (Path(p) / "pulumi").exists())
    report = scan(env, region)  # every engine: pulumi has no CLI here
    engines = {e["engine"]: e for e in report["engines"]}
    assert engines["pulumi"]["read"] is False
    assert engines["pulumi"]["error"] == "the pulumi CLI is not installed"
    assert engines["terraform"]["read"] is True
    assert {o["id"] for o in report["orphans"]} == set(ghosts.values())

    listed = stix(env, "orphans", "--cloud", "aws", "--region", region)
    assert listed.returncode == 0
    assert "pulumi state not read: the pulumi CLI is not installed" in listed.stderr

    refused = stix(env, "orphans", "--cloud", "aws", "--region", region, "--delete", "-y")
    assert refused.returncode == 1
    assert "not deleting: the pulumi engine's state could not be read" in refused.stderr
    assert "--engine terraform" in refused.stderr and "Traceback" not in refused.stderr
    assert instance_state(moto, region, ghosts["instance"]) == "running"


def test_delete_asks_a_no_deletes_nothing_and_yes_deletes(moto: str, tmp_path: Path,
                                                          stix_home: Path) -> None:
    region = "eu-west-1"
    ghosts = make_ghosts(moto, region, "ghost")
    s3 = client("s3", moto, region)
    s3.create_bucket(Bucket="stix-ghost-data",
                     CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_tagging(Bucket="stix-ghost-data", Tagging={"TagSet": [
        {"Key": "stix-bucket", "Value": "stix-ghost-data"}]})
    s3.put_object(Bucket="stix-ghost-data", Key="ckpt.pt", Body=b"weights")
    env = aws_env(moto, tmp_path / "home", stix_home)
    args = ("orphans", "--cloud", "aws", "--region", region, "--engine", "terraform",
            "--delete")

    no = stix(env, *args, tty_input="n\n")
    assert no.returncode == 1, no.stderr
    assert "Delete these 4 resources (1 of them buckets with objects in them)?" in no.stderr
    assert "nothing deleted" in no.stderr
    assert instance_state(moto, region, ghosts["instance"]) == "running"
    assert "stix-ghost-data" in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    piped = stix(env, *args)  # no terminal to ask on, and no --yes
    assert piped.returncode == 2 and "confirm with --yes" in piped.stderr
    assert instance_state(moto, region, ghosts["instance"]) == "running"

    bucket = next(o for o in scan(env, region, "--engine", "terraform")["orphans"]
                  if o["kind"] == "bucket")
    assert bucket["cluster"] == "bucket-stix-ghost-data"
    assert bucket["reason"] == "no stack bucket-stix-ghost-data (a persistent bucket's)"
    assert "holds objects" in bucket["detail"]

    yes = stix(env, *args, "-y", "--json")
    assert yes.returncode == 0, yes.stderr
    deleted = json.loads(yes.stdout)["deleted"]
    assert {(d["kind"], d["id"], d["ok"]) for d in deleted} == {
        *((k, v, True) for k, v in ghosts.items()), ("bucket", "stix-ghost-data", True)}
    ec2 = client("ec2", moto, region)
    assert instance_state(moto, region, ghosts["instance"]) == "terminated"
    assert ec2.describe_volumes(Filters=[{"Name": "volume-id",
                                          "Values": [ghosts["volume"]]}])["Volumes"] == []
    assert ec2.describe_security_groups(Filters=[
        {"Name": "group-id", "Values": [ghosts["security-group"]]}])["SecurityGroups"] == []
    assert "stix-ghost-data" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    # The untagged instance is none of stix's: untouched.
    running = [i for r in ec2.describe_instances(Filters=[
        {"Name": "instance-state-name", "Values": ["running"]}])["Reservations"]
        for i in r["Instances"]]
    assert len(running) == 1 and not running[0].get("Tags")
    again = stix(env, "orphans", "--cloud", "aws", "--region", region, "--engine", "terraform")
    assert again.returncode == 0 and "no orphans" in again.stdout


def test_a_cluster_being_changed_is_left_out(moto: str, stix_home: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An apply records what it makes as it goes: a live lock keeps its cluster's resources
    out of the orphans (the library, in this process, holding a real lock)."""
    from stix import api, state

    region = "ca-central-1"
    ghosts = make_ghosts(moto, region, "growing")
    for key, value in (("AWS_ENDPOINT_URL", moto), ("AWS_ACCESS_KEY_ID", "testing"),
                       ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(key, value)
    conn = state.connect()
    with state.cluster_lock(conn, "growing", "up"):
        report = api.find_orphans("aws", [region], ["terraform"])
    assert report.orphans == []
    assert {r.id for r in report.busy} == set(ghosts.values())
    assert all(r.detail.startswith("cluster growing is being changed now by `up` (pid ")
               for r in report.busy)
    after = api.find_orphans("aws", [region], ["terraform"])
    assert {r.id for r in after.orphans} == set(ghosts.values())


def test_without_credentials_one_clear_error(tmp_path: Path, stix_home: Path) -> None:
    env = clean_env(tmp_path / "home", stix_home)
    named = stix(env, "orphans", "--cloud", "aws")
    assert named.returncode == 1
    lines = named.stderr.strip().splitlines()
    assert lines[0] == "error: aws: no AWS credentials found"
    assert lines[1].startswith("  hint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    assert len(lines) == 2 and named.stdout == ""

    every = stix(env, "orphans")
    assert every.returncode == 1 and "Traceback" not in every.stderr
    first = every.stderr.strip().splitlines()[0]
    assert first.startswith("error: no cloud could be scanned (aws: no credentials: ")
    for cloud in ("gcp", "azure", "kubernetes"):
        assert f"{cloud}: no credentials" in first

    odd = stix(env, "orphans", "--cloud", "local")
    assert odd.returncode == 2 and "not a cloud stix provisions on" in odd.stderr


@pytest.mark.terraform
@pytest.mark.slow
def test_a_terraform_stack_holds_its_resources(moto: str, tmp_path: Path,
                                               stix_home: Path) -> None:
    """A real `stix up --engine terraform` against moto: everything its stacks made (the
    cluster's and its persistent bucket's) is held; ghosts and a hand-made group tagged
    with the cluster's name are orphans; deleting them leaves the cluster running."""
    terraform_or_skip()
    import yaml

    region = "us-east-1"
    env = aws_env(moto, tmp_path / "home", stix_home)
    (stix_home / "config.yaml").write_text(yaml.safe_dump(
        {"engine": "terraform", "terraform_provider": moto_provider(moto)}))
    ami = client("ec2", moto, region).describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    project = tmp_path / "proj"
    assert stix(env, "init", str(project), cwd=tmp_path).returncode == 0
    (project / "held.yaml").write_text(f"""
name: held
resources:
  infra: aws/{region}
  instance_type: m6i.large
  image_id: {{{region}: {ami}}}
file_mounts:
  /data:
    name: stix-held-data
    store: s3
run: echo hi
""")
    up = stix(env, "up", "held.yaml", "--yes", "--infra-only", cwd=project)
    assert up.returncode == 0, up.stderr
    ghosts = make_ghosts(moto, region, "ghost")
    hand = client("ec2", moto, region).create_security_group(
        GroupName="held-extra", Description="by hand",
        TagSpecifications=tag("held", "security-group"))["GroupId"]

    report = scan(env, region, "--engine", "terraform")
    assert {o["id"] for o in report["orphans"]} == {*ghosts.values(), hand}
    assert {e["engine"]: sorted(e["stacks"]) for e in report["engines"]} == {
        "terraform": ["bucket-stix-held-data", "held"]}
    assert next(o for o in report["orphans"] if o["id"] == hand)["reason"] == (
        "cluster held exists (state DB) but its stack does not hold this")
    ec2 = client("ec2", moto, region)
    held_instances = [i["InstanceId"] for r in ec2.describe_instances(Filters=[
        {"Name": "tag:stix-cluster", "Values": ["held"]}])["Reservations"]
        for i in r["Instances"]]
    assert len(held_instances) == 1
    # instance, its root volume, VPC, subnet, IGW, route table, SG, key pair; the bucket
    assert report["held"] >= 9

    gone = stix(env, "orphans", "--cloud", "aws", "--region", region, "--engine", "terraform",
                "--delete", "-y")
    assert gone.returncode == 0, gone.stderr
    assert instance_state(moto, region, held_instances[0]) == "running"
    assert instance_state(moto, region, ghosts["instance"]) == "terminated"
    assert scan(env, region, "--engine", "terraform")["orphans"] == []
    down = stix(env, "destroy", "held", "--yes", cwd=project)
    assert down.returncode == 0, down.stderr
