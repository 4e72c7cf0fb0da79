"""Helpers for the Terraform back-end tests: graphs of AWS placements, moto server."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stix.engine.terraform.engine import find_mirror
from stix.placement import Bucket, Placement
from stix.user_config import Config

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPmN2bUbq0dsm1PQPLU8nT3VuK3eTa1sMGvDcyT/Ch0j stix"


def terraform_or_skip() -> None:
    if shutil.which("terraform") is None and shutil.which("tofu") is None:
        pytest.skip("terraform/tofu is not installed on this machine")
    mirror = find_mirror(Config())
    if mirror is None or not (mirror / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip("no local provider mirror with hashicorp/aws (set STIX_TERRAFORM_MIRROR)")


def placement(**kw: object) -> Placement:
    base: dict[str, object] = dict(cluster="tf", cloud="aws", region="us-east-1",
                                   zone="us-east-1a", instance_type="m6i.large", vcpus=2,
                                   memory_gib=8, hourly_price=0.096)
    base.update(kw)
    return Placement(**base)  # type: ignore[arg-type]


VARIANTS: dict[str, Placement] = {
    "cpu": placement(),
    "gpu": placement(instance_type="g5.xlarge", vcpus=4, memory_gib=16, hourly_price=1.006,
                     accelerator={"name": "A10G", "count": 1, "memory_gib": 24}),
    "spot": placement(instance_type="g5.xlarge", use_spot=True, hourly_price=0.4),
    "multinode": placement(instance_type="p4d.24xlarge", num_nodes=4, vcpus=96,
                           memory_gib=1152, hourly_price=21.96,
                           accelerator={"name": "A100", "count": 8, "memory_gib": 40}),
    "ports": placement(ports=[8000, "9000-9010"]),
    "bucket": placement(buckets=[
        Bucket(store="s3", name="stix-tf-bucket", mount_path="/data"),
        Bucket(store="s3", name="stix-tf-scratch", mount_path="/scratch", persistent=False)]),
}


def user_data(rank: int) -> str:
    return f"#cloud-config\nhostname: tf-{rank}\nruncmd:\n  - echo ${{HOME}} %{{x}} {rank}\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server(listen: str = "127.0.0.1") -> Iterator[str]:
    """A real AWS API emulator (on loopback unless `listen` says otherwise), stopped
    afterwards; its URL on loopback."""
    exe = Path(sys.executable).parent / "moto_server"
    if not exe.exists():
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    proc = subprocess.Popen([str(exe), "-H", listen, "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def moto_provider(url: str) -> dict[str, dict[str, object]]:
    services = ("ec2", "s3", "sts", "iam", "ssm")
    return {"aws": {
        "access_key": "testing", "secret_key": "testing",
        "skip_credentials_validation": True, "skip_metadata_api_check": True,
        "skip_requesting_account_id": True, "s3_use_path_style": True,
        "endpoints": [{s: url for s in services}],
    }}
