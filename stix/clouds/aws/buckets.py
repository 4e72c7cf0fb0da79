"""S3 buckets stix creates: private (every public-access block on) and encrypted at rest
(SSE-S3, explicitly, not left to account defaults). Used by a bucket's own stack and, for
`persistent: false` buckets, by the cluster's stack."""

from __future__ import annotations

from typing import Any


def bucket(logical: str, name: str, *, force_destroy: bool, tags: dict[str, str],
           opts: Any) -> Any:
    """The bucket and its hardening; returns the bucket resource."""
    import pulumi
    import pulumi_aws as aws

    created = aws.s3.Bucket(logical, bucket=name, force_destroy=force_destroy, tags=tags,
                            opts=opts)
    child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[created]))
    aws.s3.BucketPublicAccessBlock(f"{logical}-private", bucket=created.id,
                                   block_public_acls=True, block_public_policy=True,
                                   ignore_public_acls=True, restrict_public_buckets=True,
                                   opts=child)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{logical}-encryption", bucket=created.id, opts=child,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
    return created


def build(spec: Any) -> dict[str, Any]:
    """A persistent bucket's own stack (`stix.buckets.BucketSpec`)."""
    import pulumi
    import pulumi_aws as aws

    from stix.clouds.common import MANAGED_BY

    provider = aws.Provider(f"{spec.stack}-aws", region=spec.region)
    tags = dict(sorted({**spec.labels, "managed-by": MANAGED_BY}.items()))
    made = bucket(spec.stack, spec.name, force_destroy=spec.force_destroy, tags=tags,
                  opts=pulumi.ResourceOptions(provider=provider))
    return {"bucket": made.bucket, "arn": made.arn, "region": spec.region,
            "url": f"s3://{spec.name}"}
