"""User configuration (`~/.stix/config.yaml`, then `STIX_*` environment variables).

Infra-level choices that do not belong in a task file: which engine and state backend,
which clouds are allowed, who may reach the SSH port.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stix.errors import Problem, TaskError
from stix.paths import stix_home


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: Literal["pulumi", "terraform"] = "pulumi"
    backend_url: str | None = Field(
        None, description="Pulumi state backend (file://, s3://, gs://, azblob://, https://)"
    )
    secrets_provider: str = Field("passphrase", description="passphrase, awskms://, gcpkms://…")
    allowed_clouds: list[str] | None = None
    ssh_cidr: str = Field("0.0.0.0/0", description="who may reach SSH and the task's ports")
    max_failover_attempts: int = Field(5, ge=1, le=50)
    terraform_binary: str | None = None
    terraform_mirror: str | None = Field(
        None, description="a provider filesystem mirror (the folder holding registry.terraform.io)"
    )
    terraform_backend: dict[str, dict[str, object]] | None = Field(
        None, description="a Terraform backend block, e.g. {s3: {bucket: b, region: r}}; "
        "each cluster's `key`/`prefix` is filled in. Default: local state under ~/.stix",
    )
    terraform_provider: dict[str, dict[str, object]] = Field(
        default_factory=dict,
        description="settings merged into Terraform provider blocks, e.g. endpoints",
    )
    allow_shared_core: bool = Field(
        False, description="let the optimizer choose burstable and shared-core machine types "
        "(AWS t*, Azure B*, GCP e2-micro/small/medium, f1, g1) without a task naming them",
    )
    catalog_refresh_hours: float = Field(
        7.0, ge=0, description="refresh the price catalog from the clouds' public price "
        "sources, in the background, when it is older than this many hours (0: never by "
        "itself; `stix catalog update` always can)",
    )


_ENV = {
    "STIX_ENGINE": "engine",
    "STIX_BACKEND_URL": "backend_url",
    "STIX_SECRETS_PROVIDER": "secrets_provider",
    "STIX_SSH_CIDR": "ssh_cidr",
    "STIX_TERRAFORM": "terraform_binary",
    "STIX_TERRAFORM_MIRROR": "terraform_mirror",
    "STIX_CATALOG_REFRESH_HOURS": "catalog_refresh_hours",
}


def config_path() -> Path:
    return stix_home() / "config.yaml"


def load_config() -> Config:
    """The user's config; a broken file is an error naming the file, never ignored."""
    data: dict[str, object] = {}
    path = config_path()
    if path.exists():
        from stix.yamlio import load_documents

        docs = load_documents(path.read_text(encoding="utf-8"), str(path))
        if docs and docs[0].data is not None:
            if not isinstance(docs[0].data, dict):
                raise TaskError(str(path), [Problem("", "config must be a mapping")])
            data.update(docs[0].data)
    for env, key in _ENV.items():
        if os.environ.get(env):
            data[key] = os.environ[env]
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [Problem(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        raise TaskError(str(path), problems) from None
