"""A managed job on AWS through the Terraform engine against moto: a real server process,
the real AWS provider making the instances in moto, and for each instance a real sshd
machine (a network namespace whose login is the image's `stix`) that the job's SSH reaches
through `ssh_proxy_command` — the instance's address is routed nowhere else. The instance
is terminated with boto3 (a spot interruption) and its machine vanishes; the job is
relaunched in another zone and resumes from its checkpoint in S3, which outlives every
attempt."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from stix import api
from stix.server import process
from tests.tf_support import moto_provider, moto_server, terraform_or_skip

pytestmark = [pytest.mark.sshd, pytest.mark.terraform, pytest.mark.slow]
RELAY = Path(__file__).with_name("proxy_relay.py")
RUN = """n=$(curl -sf "$CK_GET" || echo 0)
echo "attempt $STIX_JOB_ATTEMPT resumes after step $n"
while [ "$n" -lt 8 ]; do
  n=$((n+1)); echo "step $n"; echo $n > /tmp/stix-ck.$$
  curl -sf -T /tmp/stix-ck.$$ "$CK_PUT"; sleep 1
done
echo finished
"""


def _client(service: str, url: str) -> Any:
    import boto3

    return boto3.client(service, region_name="us-east-1", endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _job(job_id: int) -> Any:
    return next(j for j in api.jobs_queue(everything=True) if j.id == job_id)


def _wait(job_id: int, done: Any, what: str, timeout: float = 600) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(job_id)
        if done(job):
            return job
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {_job(job_id)}\n"
                         f"{process.log_path().read_text()[-3000:]}")


def _instances(ec2: Any, states: tuple[str, ...] = ("pending", "running")) -> list[Any]:
    found = ec2.describe_instances(Filters=[
        {"Name": "instance-state-name", "Values": list(states)}])["Reservations"]
    return [i for r in found for i in r["Instances"]]


def test_a_spot_interruption_relaunches_in_another_zone_from_the_s3_checkpoint(
        sshd_hosts: Any, stix_home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from sshd_fixtures import kill_user_processes

    from stix.keys import public_key_text

    terraform_or_skip()
    machines = sshd_hosts.named_hosts(2, "stix", public_key_text())
    nodes = [sshd_hosts.node(h, tmp_path) for h in machines]
    for node in nodes:
        node.start()
    with moto_server(listen="0.0.0.0") as url:
        env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "STIX_HOST_KEYS": "tofu",  # moto's console output has no host keys
               "STIX_SERVER_PROBE_SECONDS": "0.5", "STIX_SERVER_CONFIRM_LOSS_SECONDS": "6"}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        routes = tmp_path / "routes.json"  # instance address -> the machine behind it
        routes.write_text(json.dumps({"map": {}, "free": [f"{h.address}:22" for h in machines],
                                      "gone": []}))
        (stix_home / "config.yaml").write_text(yaml.safe_dump({
            "engine": "terraform", "terraform_provider": moto_provider(url),
            "ssh_proxy_command": {"aws": f"{sys.executable} {RELAY} %h %p {routes}"}}))
        ec2 = _client("ec2", url)
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        s3 = _client("s3", url)
        s3.create_bucket(Bucket="stix-ckpt")  # a persistent bucket: outlives every attempt
        seen = _client("s3", url.replace("127.0.0.1", sshd_hosts.gateway))  # as nodes see it
        urls = {verb: seen.generate_presigned_url(f"{verb}_object", ExpiresIn=3600, Params={
            "Bucket": "stix-ckpt", "Key": "train/step"}) for verb in ("get", "put")}
        task = tmp_path / "train.yaml"
        task.write_text(yaml.safe_dump({
            "name": "train", "run": RUN,
            "envs": {"CK_GET": urls["get"], "CK_PUT": urls["put"]},
            "resources": {"infra": "aws/us-east-1", "instance_type": "m6i.large",
                          "use_spot": True, "image_id": {"us-east-1": ami},
                          "job_recovery": {"strategy": "FAILOVER"}}}))
        process.start()
        try:
            accepted = api.jobs_launch(task)

            def stepped(job: Any) -> bool:
                if job.status.value != "RUNNING":
                    return False
                body = s3.list_objects_v2(Bucket="stix-ckpt").get("Contents")
                return bool(body) and int(s3.get_object(
                    Bucket="stix-ckpt", Key="train/step")["Body"].read() or 0) >= 2

            job = _wait(accepted.id, stepped, "two steps")
            first_zone = job.attempts[0].placement["zone"]
            [instance] = _instances(ec2)
            address = instance.get("PublicIpAddress") or instance["PrivateIpAddress"]
            ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])  # the interruption
            data = json.loads(routes.read_text())
            behind = data["map"][address]
            data["gone"].append(address)
            routes.write_text(json.dumps(data))
            victim = next(n for n in nodes if behind.startswith(n.host.address + ":"))
            victim.kill()  # the machine is gone, and what ran on it
            kill_user_processes("stix")
            lost_at = int(s3.get_object(Bucket="stix-ckpt", Key="train/step")["Body"].read())

            done = _wait(accepted.id, lambda j: j.status.terminal, "the job to finish")
            assert done.status.value == "SUCCEEDED", done
            assert done.recoveries == 1 and len(done.attempts) == 2
            first, second = done.attempts
            assert first.status == "LOST" and "aws" in (first.reason or "")
            assert second.placement["zone"] != first_zone  # FAILOVER: the next zone
            assert s3.get_object(Bucket="stix-ckpt", Key="train/step")["Body"].read() == b"8\n"
            out: list[str] = []
            api.jobs_logs(accepted.id, attempt=2, write=lambda label, text: out.append(text))
            later = "".join(out)
            assert f"attempt 2 resumes after step {lost_at}" in later and "finished" in later
            assert api.status() == []  # both attempts' clusters are gone ...
            assert _instances(ec2, ("pending", "running", "stopped")) == []  # ... in AWS too
            assert "stix-ckpt" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        finally:
            api.jobs_cancel(everything=True)
            process.stop()
            for node in nodes:
                node.kill()
