"""`file_mounts:` entries: local paths, bucket URIs, and storage mappings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from stix.task.base import StrictModel

_BLOB_URL = re.compile(r"^https://(?P<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net/"
                       r"(?P<container>[^/]+)(?:/(?P<path>.*))?$")


def _schemes() -> dict[str, str]:
    """URI scheme → store, from the registry (every store SkyPilot knows)."""
    from stix.clouds import registry

    return {scheme: store for store, (_, schemes) in registry.stores().items()
            for scheme in schemes}


def _store_names() -> list[Any]:
    from stix.clouds import registry

    return sorted(registry.stores())


def _blob_store() -> str:
    """The store whose buckets are named by an https blob URL (containers in accounts)."""
    from stix.clouds import registry

    return next(store for store, (_, schemes) in registry.stores().items() if not schemes)


@dataclass(frozen=True)
class BucketRef:
    store: str
    bucket: str
    path: str = ""
    account: str | None = None  # Azure storage account


def parse_bucket_uri(uri: str) -> BucketRef | None:
    """The bucket a URI names, or None when it is not a bucket URI (a local path)."""
    match = _BLOB_URL.match(uri)
    if match:
        return BucketRef(_blob_store(), match["container"], match["path"] or "",
                         match["account"])
    schemes = _schemes()
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() not in schemes:
        if sep and scheme.lower() in ("http", "https"):
            return None
        if sep:
            raise ValueError(f"unsupported storage URI scheme {scheme + '://'!r} in {uri!r}")
        return None
    from stix.clouds.keyed import split_uri

    store = schemes[scheme.lower()]
    bucket, path = split_uri(store, rest)
    if not bucket:
        raise ValueError(f"storage URI {uri!r} names no bucket")
    return BucketRef(store, bucket, path)


class StorageMount(StrictModel):
    """A bucket mounted or copied onto the nodes (created by the stack when it has a
    `name` and no existing bucket `source`)."""

    name: str | None = None
    source: str | list[str] | None = None
    store: str | None = Field(None, json_schema_extra={"enum": _store_names()})
    mode: Literal["MOUNT", "COPY", "MOUNT_CACHED"] = "MOUNT"
    persistent: bool = True
    config: dict[str, Any] | None = None
    force_delete: bool | None = Field(None, alias="_force_delete")
    force_managed: bool | None = Field(None, alias="_force_managed")

    @field_validator("store", mode="before")
    @classmethod
    def _store(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        from stix.clouds import registry

        known = registry.stores()
        if value.lower() not in known:
            raise ValueError(f"unknown store {value!r}; stores: {', '.join(sorted(known))}")
        return value.lower()

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _needs_something(self) -> StorageMount:
        if not self.name and not self.source:
            raise ValueError("a storage mount needs a name or a source")
        if isinstance(self.source, str) and parse_bucket_uri(self.source) is None and (
                not self.name):
            raise ValueError(f"source {self.source!r} is a local path: a storage mount "
                             "that uploads one needs a `name` for its bucket")
        return self

    def bucket(self) -> BucketRef | None:
        """The existing bucket this mounts, if `source` is a bucket URI."""
        return parse_bucket_uri(self.source) if isinstance(self.source, str) else None
