"""Buckets a node reaches with the user's keys rather than its own cloud identity: stores
of no cloud stix provisions (R2, MinIO and other S3-compatible endpoints, Hugging Face
buckets, Nebius object storage) and any store of another cloud than the node's (an S3
bucket on a GCP node, as SkyPilot does by shipping the user's AWS keys).

Keys are read on the user's machine where SkyPilot reads them, reduced to the one
profile a store needs, and sent to the node over SSH after boot (`stix.remote.keyed`):
never into user-data, never into stacks/. Planning needs none of them (`describe`);
`stix up` refuses before it creates anything when they are missing (`access`).
"""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stix.errors import UsageError

Kind = Literal["s3", "gcs", "hf"]
_ACCOUNT_ID = re.compile(r"[0-9a-fA-F]{8,64}")
_REGION = re.compile(r"[a-z0-9-]{2,40}")


class MissingKeys(UsageError):
    """The user's machine lacks the keys a bucket on the nodes needs."""


@dataclass(frozen=True)
class Access:
    """How nodes reach one store with keys: the tool family, the endpoint (None: the
    store's own default) and the files to put on the node (name → content, 0600)."""

    store: str
    kind: Kind
    endpoint: str | None
    files: dict[str, bytes] = field(repr=False)
    source: str  # where the keys came from, for messages (no key material)
    region: str | None = None  # the signing region an S3-compatible endpoint wants


@dataclass(frozen=True)
class _Spec:
    kind: Kind
    keys: str  # where they are read, for plan and for the refusal
    hint: str


_AWS_KEYS = "$AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials"
_SPECS: dict[str, _Spec] = {
    "s3": _Spec("s3", f"profile $AWS_PROFILE or default of {_AWS_KEYS} "
                      "(or $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY)",
                "run `aws configure`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
    "r2": _Spec("s3", "profile r2 of ~/.cloudflare/r2.credentials and the account id in "
                      "~/.cloudflare/accountid",
                "run `AWS_SHARED_CREDENTIALS_FILE=~/.cloudflare/r2.credentials aws configure "
                "--profile r2` and write your Cloudflare account id to ~/.cloudflare/accountid"),
    "minio": _Spec("s3", "profile minio of ~/.minio/minio.credentials and the endpoint "
                         "`minio: {endpoint: ...}` of ~/.sky/config.yaml (or endpoint_url "
                         "in the profile)",
                   "run `AWS_SHARED_CREDENTIALS_FILE=~/.minio/minio.credentials aws configure "
                   "--profile minio` and put `minio: {endpoint: http://HOST:9000}` in "
                   "~/.sky/config.yaml"),
    "nebius": _Spec("s3", f"profile nebius of {_AWS_KEYS} (its region from ~/.aws/config, "
                          "default eu-north1)",
                    "run `aws configure --profile nebius` with a Nebius object storage "
                    "access key"),
    "oci": _Spec("s3", "profile oci of ~/.oci/s3.credentials and endpoint_url (with region) "
                       "of [profile oci] in ~/.oci/s3.config (OCI's S3 compatibility API)",
                 "make a Customer Secret Key in the OCI console, run "
                 "`AWS_SHARED_CREDENTIALS_FILE=~/.oci/s3.credentials aws configure --profile "
                 "oci` and put endpoint_url = https://<namespace>.compat.objectstorage."
                 "<region>.oci.customer-oci.com and region under [profile oci] in "
                 "~/.oci/s3.config"),
    "gcs": _Spec("gcs", "application default credentials ($GOOGLE_APPLICATION_CREDENTIALS "
                        "or ~/.config/gcloud/application_default_credentials.json)",
                 "run `gcloud auth application-default login`, or set "
                 "GOOGLE_APPLICATION_CREDENTIALS to a service account key file"),
    "hf": _Spec("hf", "the Hugging Face token ($HF_TOKEN, ~/.cache/huggingface/token or "
                      "~/.huggingface/token)",
                "run `hf auth login`, or set HF_TOKEN"),
}
_TOOLS: dict[Kind, dict[str, str]] = {
    "s3": {"MOUNT": "s3fs", "COPY": "aws s3 sync"},
    "gcs": {"MOUNT": "gcsfuse", "COPY": "gcloud storage rsync"},
    "hf": {"MOUNT": "hf-mount", "COPY": "hf buckets sync"},
}


def supported(store: str) -> bool:
    """Whether nodes can reach `store` with keys sent over SSH."""
    return store in _SPECS


def kind(store: str) -> Kind:
    return _SPECS[store].kind


def describe(store: str, mode: str) -> str:
    """How a node reaches a `store` bucket, for `stix plan` (reads no keys)."""
    spec = _SPECS[store]
    tool = _TOOLS[spec.kind]["COPY" if mode == "COPY" else "MOUNT"]
    return (f"set up after boot over SSH, before setup, with {tool} and the keys of "
            f"{spec.keys}, sent to the node (0600, never in user-data or stacks/)")


def split_uri(store: str, rest: str) -> tuple[str, str]:
    """(bucket, path) of a URI's part after `scheme://`: Hugging Face names a bucket
    `buckets/<owner>/<name>`; every other store names it by its first segment."""
    if store == "hf":
        head, _, tail = rest.partition("/")
        parts = tail.split("/", 2)
        if head != "buckets" or len(parts) < 2 or not parts[0] or not parts[1]:
            raise ValueError(f"hf://{rest}: a Hugging Face bucket is "
                             "hf://buckets/<owner>/<name>[/<path>]")
        return f"{parts[0]}/{parts[1]}", parts[2] if len(parts) > 2 else ""
    bucket, _, path = rest.partition("/")
    if store == "oci":  # oci://<bucket>@<region>: the region is the endpoint's
        bucket = bucket.partition("@")[0]
    return bucket, path


def access(store: str, home: Path | None = None,
           env: dict[str, str] | None = None) -> Access:
    """The keys and endpoint for `store`, read on this machine; MissingKeys names the file
    or variable to set."""
    home = home or Path.home()
    env = dict(os.environ) if env is None else env
    spec = _SPECS.get(store)
    if spec is None:
        raise MissingKeys(f"{store} buckets cannot be reached with keys from this machine")
    readers = {"s3": _aws, "r2": _r2, "minio": _minio, "nebius": _nebius, "oci": _oci,
               "gcs": _gcs, "hf": _hf}
    found = readers[store](home, env)
    if found is None:
        raise MissingKeys(f"{store} buckets need {spec.keys}, and this machine has none",
                          hint=spec.hint)
    return found


# -- readers -------------------------------------------------------------------------------


def _profile(path: Path, name: str) -> dict[str, str] | None:
    """One profile of an AWS-style INI file (`[name]` or `[profile name]`)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    for section in (name, f"profile {name}"):
        if parser.has_section(section):
            return {k: v.strip() for k, v in parser.items(section)}
    return None


def _s3_files(store: str, keys: dict[str, str]) -> dict[str, bytes] | None:
    """A credentials file holding just this profile (as `default`, for the AWS CLI) and
    s3fs's passwd file (`KEY:SECRET`)."""
    key, secret = keys.get("aws_access_key_id", ""), keys.get("aws_secret_access_key", "")
    if not key or not secret or any(c in key + secret for c in ":\n\r"):
        return None
    ini = f"[default]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
    if keys.get("aws_session_token"):
        ini += f"aws_session_token = {keys['aws_session_token']}\n"
    return {f"{store}.credentials": ini.encode(), f"{store}.passwd": f"{key}:{secret}".encode()}


def _aws_file(home: Path, env: dict[str, str]) -> Path:
    given = env.get("AWS_SHARED_CREDENTIALS_FILE")
    return Path(given).expanduser() if given else home / ".aws" / "credentials"


def _aws(home: Path, env: dict[str, str]) -> Access | None:
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        keys = {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
                "aws_session_token": env.get("AWS_SESSION_TOKEN", "")}
        source = "$AWS_ACCESS_KEY_ID"
    else:
        name = env.get("AWS_PROFILE") or "default"
        path = _aws_file(home, env)
        keys = _profile(path, name) or {}
        source = f"{path} [{name}]"
    files = _s3_files("s3", keys)
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    return Access("s3", "s3", endpoint, files, source, region) if files else None


def _r2(home: Path, env: dict[str, str]) -> Access | None:
    path = home / ".cloudflare" / "r2.credentials"
    files = _s3_files("r2", _profile(path, "r2") or {})
    try:
        account = (home / ".cloudflare" / "accountid").read_text().strip()
    except OSError:
        return None
    if files is None or not _ACCOUNT_ID.fullmatch(account):
        return None
    return Access("r2", "s3", f"https://{account}.r2.cloudflarestorage.com", files,
                  f"{path} [r2]", "auto")


def _minio(home: Path, env: dict[str, str]) -> Access | None:
    path = home / ".minio" / "minio.credentials"
    keys = _profile(path, "minio") or {}
    files = _s3_files("minio", keys)
    endpoint = keys.get("endpoint_url") or _sky_config(home, env, "minio", "endpoint")
    if files is None or not endpoint or not re.fullmatch(r"https?://[^\s]+", endpoint):
        return None
    return Access("minio", "s3", endpoint.rstrip("/"), files, f"{path} [minio]",
                  keys.get("region") or "us-east-1")


def _nebius(home: Path, env: dict[str, str]) -> Access | None:
    path = _aws_file(home, env)
    files = _s3_files("nebius", _profile(path, "nebius") or {})
    conf = _profile(Path(env.get("AWS_CONFIG_FILE") or home / ".aws" / "config"), "nebius")
    region = (conf or {}).get("region") or "eu-north1"
    if files is None or not _REGION.fullmatch(region):
        return None
    endpoint = (conf or {}).get("endpoint_url") or f"https://storage.{region}.nebius.cloud:443"
    return Access("nebius", "s3", endpoint, files, f"{path} [nebius]", region)


def _oci(home: Path, env: dict[str, str]) -> Access | None:
    path = home / ".oci" / "s3.credentials"
    files = _s3_files("oci", _profile(path, "oci") or {})
    conf = _profile(home / ".oci" / "s3.config", "oci") or {}
    endpoint, region = conf.get("endpoint_url", ""), conf.get("region") or None
    if files is None or not re.fullmatch(r"https://[^\s]+", endpoint) or (
            region is not None and not _REGION.fullmatch(region)):
        return None
    return Access("oci", "s3", endpoint.rstrip("/"), files, f"{path} [oci]", region)


def _gcs(home: Path, env: dict[str, str]) -> Access | None:
    given = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    path = (Path(given).expanduser() if given else
            home / ".config" / "gcloud" / "application_default_credentials.json")
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return Access("gcs", "gcs", None, {"gcs.json": data}, str(path)) if data.strip() else None


def _hf(home: Path, env: dict[str, str]) -> Access | None:
    token = (env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or "").strip()
    source = "$HF_TOKEN"
    for path in (home / ".cache" / "huggingface" / "token", home / ".huggingface" / "token"):
        if token:
            break
        try:
            token, source = path.read_text(encoding="utf-8").strip(), str(path)
        except OSError:
            continue
    if not token or any(c.isspace() for c in token):
        return None
    return Access("hf", "hf", None, {"hf.token": token.encode()}, source)


def _sky_config(home: Path, env: dict[str, str], *keys: str) -> str | None:
    """A value of SkyPilot's own config file (~/.sky/config.yaml or $SKYPILOT_CONFIG)."""
    import yaml

    path = Path(env.get("SKYPILOT_CONFIG") or home / ".sky" / "config.yaml").expanduser()
    try:
        value: object = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def with_keys(cloud: str, store: str) -> bool:
    """Whether a `store` bucket on a `cloud` node is reached with the user's keys (after
    boot, over SSH) rather than with the node's own identity (at boot, by cloud-init)."""
    from stix.clouds import registry

    owner = registry.stores().get(store, (None, ()))[0]
    return owner != cloud and supported(store)


def ensure_bucket(found: Access, name: str) -> bool:
    """Create bucket `name` in an S3-compatible store from this machine when it is missing
    (SkyPilot makes a named bucket of these stores the same way); True when it was made."""
    if found.kind != "s3":
        raise MissingKeys(f"{found.store} bucket {name}: stix creates buckets of this store "
                          "only through its cloud's stack", hint="create it first, and name "
                          "it as the mount's `source`")
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client(found)
    try:
        client.head_bucket(Bucket=name)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise MissingKeys(f"{found.store} bucket {name}: {exc}") from None
    except BotoCoreError as exc:
        raise MissingKeys(f"{found.store} bucket {name}: {exc}") from None
    try:
        if found.region and found.region not in ("us-east-1", "auto") and found.endpoint is None:
            client.create_bucket(Bucket=name, CreateBucketConfiguration={
                "LocationConstraint": found.region})
        else:
            client.create_bucket(Bucket=name)
    except (ClientError, BotoCoreError) as exc:
        raise MissingKeys(f"{found.store} bucket {name}: could not create it: {exc}") from None
    return True


def _client(found: Access) -> Any:
    """A boto3 S3 client with these keys at this endpoint."""
    import boto3

    parser = configparser.RawConfigParser()
    parser.read_string(found.files[f"{found.store}.credentials"].decode())
    keys = dict(parser.items("default"))
    return boto3.client("s3", endpoint_url=found.endpoint, region_name=found.region,
                        aws_access_key_id=keys["aws_access_key_id"],
                        aws_secret_access_key=keys["aws_secret_access_key"],
                        aws_session_token=keys.get("aws_session_token") or None)


def upload(found: Access, name: str, files: list[tuple[str, Path]]) -> int:
    """Put each (key, local file) into bucket `name` unless an object of that key and size
    is there already (SkyPilot syncs a storage's local source at every launch); returns how
    many were sent."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = _client(found)
    try:
        have: dict[str, int] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            have.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        sent = 0
        for key, path in files:
            if have.get(key) != path.stat().st_size:
                client.upload_file(str(path), name, key)
                sent += 1
    except (ClientError, BotoCoreError, OSError) as exc:
        raise UsageError(f"{found.store} bucket {name}: could not upload: {exc}") from None
    return sent


# The command a node reaches each kind of store with, per mode, and how it gets one
# it lacks (gcsfuse and gcloud only come with GCP's images: their absence is reported).
INSTALL = {
    "s3fs": "priv apt-get install -y -q s3fs",
    "aws": ("rm -rf /tmp/stix-awscli && mkdir -p /tmp/stix-awscli && curl -fsSL -o "
            "/tmp/stix-awscli/awscli.zip \"https://awscli.amazonaws.com/awscli-exe-linux-"
            "$(uname -m).zip\" && unzip -q /tmp/stix-awscli/awscli.zip -d /tmp/stix-awscli && "
            "priv /tmp/stix-awscli/aws/install --update"),
    "hf-mount": ("curl -fsSL https://raw.githubusercontent.com/huggingface/hf-mount/main/"
                 "install.sh | sh"),
    "hf": "python3 -m pip install --user -q 'huggingface_hub[cli]'",
    "gcsfuse": "false",
    "gcloud": "false",
}
NODE_TOOL = {("s3", "COPY"): "aws", ("s3", "MOUNT"): "s3fs", ("gcs", "COPY"): "gcloud",
         ("gcs", "MOUNT"): "gcsfuse", ("hf", "COPY"): "hf", ("hf", "MOUNT"): "hf-mount"}
