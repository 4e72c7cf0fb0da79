"""Keys for buckets the nodes reach with the user's credentials: read where SkyPilot reads
them, reduced to the one profile a store needs, and refused by name when missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix.clouds.keyed import MissingKeys, access, describe, split_uri, with_keys
from stix.task.storage import parse_bucket_uri

AWS_FILE = """\
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = default-secret
[nebius]
aws_access_key_id = NEBKEY
aws_secret_access_key = neb-secret
[unrelated]
aws_access_key_id = AKIAOTHER
aws_secret_access_key = other-secret
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_r2_reads_its_profile_and_account_id(tmp_path: Path) -> None:
    _write(tmp_path / ".cloudflare/r2.credentials",
           "[r2]\naws_access_key_id = R2KEY\naws_secret_access_key = r2-secret\n"
           "[other]\naws_access_key_id = X\naws_secret_access_key = Y\n")
    _write(tmp_path / ".cloudflare/accountid", "0123456789abcdef0123456789abcdef\n")
    got = access("r2", tmp_path, {})
    assert got.endpoint == "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"
    assert (got.kind, got.region) == ("s3", "auto")
    assert got.files == {
        "r2.credentials": b"[default]\naws_access_key_id = R2KEY\n"
                          b"aws_secret_access_key = r2-secret\n",
        "r2.passwd": b"R2KEY:r2-secret"}
    assert "secret" not in got.source and "secret" not in repr(got)


def test_nebius_takes_its_profile_only_and_its_region(tmp_path: Path) -> None:
    _write(tmp_path / ".aws/credentials", AWS_FILE)
    _write(tmp_path / ".aws/config", "[profile nebius]\nregion = us-central1\n")
    got = access("nebius", tmp_path, {})
    assert got.endpoint == "https://storage.us-central1.nebius.cloud:443"
    sent = b"".join(got.files.values())
    assert b"NEBKEY" in sent and b"AKIAOTHER" not in sent and b"AKIADEFAULT" not in sent


def test_minio_endpoint_comes_from_skypilots_config(tmp_path: Path) -> None:
    _write(tmp_path / ".minio/minio.credentials",
           "[minio]\naws_access_key_id = MK\naws_secret_access_key = ms\n")
    with pytest.raises(MissingKeys, match="endpoint"):
        access("minio", tmp_path, {})
    _write(tmp_path / ".sky/config.yaml", "minio:\n  endpoint: http://10.0.0.5:9000/\n")
    assert access("minio", tmp_path, {}).endpoint == "http://10.0.0.5:9000"


def test_oci_through_its_s3_compatibility_api(tmp_path: Path) -> None:
    _write(tmp_path / ".oci/s3.credentials",
           "[oci]\naws_access_key_id = OK\naws_secret_access_key = os\n")
    _write(tmp_path / ".oci/s3.config", "[profile oci]\nendpoint_url = https://ns.compat."
           "objectstorage.us-sanjose-1.oci.customer-oci.com\nregion = us-sanjose-1\n")
    got = access("oci", tmp_path, {})
    assert (got.endpoint, got.region) == (
        "https://ns.compat.objectstorage.us-sanjose-1.oci.customer-oci.com", "us-sanjose-1")
    ref = parse_bucket_uri("oci://skybucket@us-sanjose-1/data")
    assert ref is not None and (ref.store, ref.bucket, ref.path) == ("oci", "skybucket", "data")


def test_aws_keys_from_the_environment_or_the_named_profile(tmp_path: Path) -> None:
    got = access("s3", tmp_path, {"AWS_ACCESS_KEY_ID": "EK", "AWS_SECRET_ACCESS_KEY": "es",
                                  "AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert got.files["s3.passwd"] == b"EK:es" and got.endpoint == "http://127.0.0.1:5000"
    _write(tmp_path / ".aws/credentials", AWS_FILE)
    got = access("s3", tmp_path, {"AWS_PROFILE": "unrelated"})
    assert got.files["s3.passwd"] == b"AKIAOTHER:other-secret"


def test_gcs_and_hugging_face(tmp_path: Path) -> None:
    adc = _write(tmp_path / ".config/gcloud/application_default_credentials.json", '{"x": 1}')
    assert access("gcs", tmp_path, {}).files == {"gcs.json": adc.read_bytes()}
    assert access("hf", tmp_path, {"HF_TOKEN": "hf_abc\n"}).files == {"hf.token": b"hf_abc"}
    _write(tmp_path / ".cache/huggingface/token", "hf_file")
    got = access("hf", tmp_path, {})
    assert got.files == {"hf.token": b"hf_file"} and got.source.endswith("token")


@pytest.mark.parametrize(("store", "named"), [
    ("r2", "~/.cloudflare/r2.credentials"), ("minio", "~/.minio/minio.credentials"),
    ("nebius", "profile nebius"), ("s3", "AWS_ACCESS_KEY_ID"), ("oci", "~/.oci/s3.config"),
    ("gcs", "GOOGLE_APPLICATION_CREDENTIALS"), ("hf", "HF_TOKEN")])  # fmt: skip
def test_missing_keys_name_what_to_set(tmp_path: Path, store: str, named: str) -> None:
    with pytest.raises(MissingKeys) as info:
        access(store, tmp_path, {})
    assert named in info.value.message and info.value.hint


def test_which_buckets_need_keys() -> None:
    assert not with_keys("aws", "s3") and with_keys("gcp", "s3") and with_keys("aws", "r2")
    assert with_keys("kubernetes", "minio") and with_keys("oci", "oci")
    assert not with_keys("aws", "ibm") and not with_keys("gcp", "azure")
    assert "s3fs" in describe("r2", "MOUNT") and "aws s3 sync" in describe("r2", "COPY")


def test_uris_of_keyed_stores() -> None:
    ref = parse_bucket_uri("hf://buckets/me/audio/in/x.wav")
    assert ref is not None and (ref.store, ref.bucket, ref.path) == ("hf", "me/audio", "in/x.wav")
    ref = parse_bucket_uri("minio://sky-demo-dataset/a")
    assert ref is not None and (ref.store, ref.bucket, ref.path) == ("minio", "sky-demo-dataset",
                                                                     "a")
    with pytest.raises(ValueError, match="hf://buckets/<owner>/<name>"):
        split_uri("hf", "me/model")
