"""Placement ↔ stacks/Pulumi.<cluster>.yaml."""

from __future__ import annotations

import pytest
import yaml
from stack_support import PUBLIC_KEY, bucket, placement

from stix.errors import StixError
from stix.stack import stackfile as config


def test_round_trip_and_deterministic_text() -> None:
    p = placement("gcp", "a2-highgpu-1g", region="us-central1", zone="us-central1-a",
                  gpu=("A100", 1), labels={"b": "2", "a": "1"}, buckets=[bucket("gcs", "x")],
                  extra={"project": "proj", "ssh_cidrs": ["10.0.0.0/8"]})
    text = config.render(p, PUBLIC_KEY)
    assert text == config.render(p, PUBLIC_KEY)
    back, key = config.parse(text, "f.yaml")
    assert back == p and key == PUBLIC_KEY
    doc = yaml.safe_load(text)["config"]
    assert list(doc)[:4] == ["gcp:project", "gcp:region", "gcp:zone", "stix:cluster"]
    assert doc["stix:labels"] == {"a": "1", "b": "2"}
    assert doc["stix:ssh_public_key"] == PUBLIC_KEY
    assert "stix:image_id" not in doc  # None values are left out


@pytest.mark.parametrize("cloud, region, expected", [
    ("aws", "us-east-1", {"aws:region": "us-east-1"}),
    ("azure", "eastus", {"azure-native:location": "eastus"}),
    ("kubernetes", "ctx", {"kubernetes:context": "ctx"}),
])
def test_provider_keys(cloud: str, region: str, expected: dict) -> None:
    assert config.provider_keys(placement(cloud, "x", region=region)) == expected


def test_never_writes_private_keys() -> None:
    p = placement("aws", "m6i.large", region="us-east-1",
                  labels={"note": "-----BEGIN OPENSSH PRIVATE KEY-----"})
    with pytest.raises(StixError, match="private key"):
        config.render(p, PUBLIC_KEY)
    with pytest.raises(StixError):
        config.render(placement("aws", "m6i.large", region="us-east-1"),
                      "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n")


@pytest.mark.parametrize("text, message", [
    ("a: [", "not valid YAML"),
    ("other: 1", "no `config:` mapping"),
    ("config: {'stix:cluster': c}", "ssh_public_key is missing"),
    (f"config: {{'stix:ssh_public_key': '{PUBLIC_KEY}', 'stix:cluster': c, 'stix:num_nodes': 0}}",
     "stix:"),
])
def test_bad_files_name_the_file(text: str, message: str) -> None:
    with pytest.raises(StixError, match=message) as info:
        config.parse(text, "stacks/Pulumi.c.yaml")
    assert "stacks/Pulumi.c.yaml" in str(info.value)


def test_plan_keeps_the_engines_own_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The pulumi CLI writes `encryptionsalt` into the stack file; rewriting keeps it."""
    from stix.stack import stackfile as stack_config
    from tests.tf_support import PUBLIC_KEY

    path = tmp_path / "Pulumi.c.yaml"
    path.write_text("encryptionsalt: v1:abc:def\nconfig:\n  stix:cluster: c\n")
    keep = stack_config.engine_keys(path)
    assert keep == {"encryptionsalt": "v1:abc:def"}
    from stix.placement import Placement

    p = Placement(cluster="c", cloud="aws", region="us-east-1", instance_type="m6i.large",
                  vcpus=2, memory_gib=8, hourly_price=0.1)
    text = stack_config.render(p, PUBLIC_KEY, keep)
    assert "encryptionsalt: v1:abc:def\nconfig:" in text
    placement, key = stack_config.parse(text, "t")
    assert placement == p and key == PUBLIC_KEY
    assert stack_config.engine_keys(tmp_path / "missing.yaml") == {}
