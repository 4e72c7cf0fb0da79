"""Buckets that outlive clusters: a bucket a task creates with `persistent: true` (the
default, as in SkyPilot) is its own stack (`bucket-<name>`), created once, reused by every
cluster and pipeline task that names it, and deleted only by `stix storage delete`. A
cluster's stack only grants its nodes access. `persistent: false` buckets belong to the
cluster's stack, which empties and deletes them with it.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field

from stix.placement import Bucket, Placement

PREFIX = "bucket-"


class BucketSpec(BaseModel):
    """One persistent bucket as its stack declares it (the `stix:` keys of its file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    store: str
    cloud: str
    region: str = Field(description="where it was first created (later users reuse it)")
    account: str | None = None  # stores whose containers live in an account
    labels: dict[str, str] = Field(default_factory=dict)
    force_destroy: bool = Field(False, description="set only to delete it with its objects")

    @property
    def stack(self) -> str:
        return stack_name(self.name)


def stack_name(bucket: str) -> str:
    """`bucket-<name>` in stack-name form; names that change on the way get a short hash."""
    base = re.sub(r"[^a-z0-9]+", "-", bucket.lower()).strip("-")
    name = PREFIX + base
    if base != bucket or len(name) > 40:
        digest = hashlib.sha256(bucket.encode()).hexdigest()[:6]
        name = f"{name[:33].rstrip('-')}-{digest}"
    return name


def kept(bucket: Bucket) -> bool:
    """A bucket stix creates that outlives the cluster (its own stack)."""
    return bucket.create and bucket.persistent


def specs_for(placement: Placement) -> list[BucketSpec]:
    """The bucket stacks `placement` needs (the cloud's store reaches them)."""
    from stix.clouds import registry

    out = []
    cloud = registry.cloud(placement.cloud)
    for b in placement.buckets:
        if not kept(b) or cloud.store is None or b.store != cloud.store.name:
            continue
        account = (cloud.store.account(placement.cluster, b) if cloud.store.account_pattern
                   else None)
        out.append(BucketSpec(name=b.name, store=b.store, cloud=placement.cloud,
                              region=placement.region, account=account,
                              labels={"stix-bucket": stack_name(b.name)[len(PREFIX):]}))
    return out
