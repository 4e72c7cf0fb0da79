"""GCS buckets stix creates: uniform bucket-level access and public access prevention
enforced (Google encrypts at rest always). Used by a bucket's own stack and, for
`persistent: false` buckets, by the cluster's stack."""

from __future__ import annotations

from typing import Any


def bucket(logical: str, name: str, *, location: str, force_destroy: bool,
           labels: dict[str, str], opts: Any) -> Any:
    import pulumi_gcp as gcp

    return gcp.storage.Bucket(logical, name=name, location=location.upper(),
                              uniform_bucket_level_access=True,
                              public_access_prevention="enforced",
                              force_destroy=force_destroy, labels=labels, opts=opts)


def build(spec: Any) -> dict[str, Any]:
    """A persistent bucket's own stack (`stix.buckets.BucketSpec`)."""
    import pulumi
    import pulumi_gcp as gcp

    from stix.clouds.common import MANAGED_BY

    provider = gcp.Provider(f"{spec.stack}-gcp", region=spec.region)
    labels = dict(sorted({**spec.labels, "managed-by": MANAGED_BY}.items()))
    made = bucket(spec.stack, spec.name, location=spec.region, force_destroy=spec.force_destroy,
                  labels=labels, opts=pulumi.ResourceOptions(provider=provider))
    return {"bucket": made.name, "region": spec.region, "url": f"gs://{spec.name}"}
