"""SkyPilot's storage objects over stix's buckets: `sky.Storage(name=, source=, stores=,
persistent=, mode=)`, `sky.StorageMode`, `sky.StoreType`. A Storage is only another way to
write a `file_mounts` mapping entry, so a task given one plans exactly as its YAML form;
the buckets themselves are made by the stacks (`stix.buckets`)."""

from __future__ import annotations

import enum
import functools
from typing import TYPE_CHECKING, Any

from stix.errors import UsageError

if TYPE_CHECKING:
    from stix.task import StorageMount


class StorageMode(str, enum.Enum):
    """How a bucket reaches the nodes, as a task file's `mode:` says it."""

    MOUNT = "MOUNT"
    COPY = "COPY"
    MOUNT_CACHED = "MOUNT_CACHED"


@functools.cache
def store_type() -> type[enum.Enum]:
    """`sky.StoreType`: one member per store the registry knows (S3, GCS, AZURE, R2, ...),
    built on first use so that naming it costs nothing at import."""
    from stix.clouds import registry

    members = {store.upper(): store.upper() for store in sorted(registry.stores())}
    return enum.Enum("StoreType", members, type=str)  # type: ignore[return-value]


def __getattr__(name: str) -> Any:
    if name == "StoreType":
        return store_type()
    raise AttributeError(f"module 'stix.sdk_storage' has no attribute {name!r}")


def _store_name(store: Any) -> str:
    value = store.value if isinstance(store, enum.Enum) else str(store)
    return value.lower()


class Storage:
    """SkyPilot's bucket object: what a `file_mounts` mapping entry ({name, source, store,
    mode, persistent}) says, built in Python. `task.set_storage_mounts({path: storage})`
    puts exactly that entry in the task, so it plans as the YAML form does."""

    def __init__(self, name: str | None = None, source: str | list[str] | None = None,
                 stores: Any = None, persistent: bool | None = True,
                 mode: StorageMode | str = StorageMode.MOUNT, **unsupported: Any) -> None:
        if unsupported:
            raise UsageError(f"Storage: {', '.join(sorted(unsupported))}: not supported by "
                             "stix")
        self.name = name
        self.source = source
        self.persistent = True if persistent is None else persistent
        self.mode = StorageMode(mode.upper() if isinstance(mode, str) else mode)
        self.store: str | None = None
        for store in ([] if stores is None else
                      stores if isinstance(stores, (list, tuple, set)) else [stores]):
            self.add_store(store)
        self.to_mount()  # a bad combination fails here, as SkyPilot's constructor does

    def add_store(self, store_type: Any, region: str | None = None) -> Storage:
        """The store the bucket lives in (one per Storage in stix)."""
        if region is not None:
            raise UsageError("Storage.add_store: region: not supported by stix (a bucket "
                             "stix creates is made in the region of the first cluster using it)")
        name = _store_name(store_type)
        if self.store is not None and self.store != name:
            raise UsageError(f"Storage: one store per bucket in stix ({self.store}, not also "
                             f"{name})")
        self.store = name
        self.to_mount()
        return self

    def to_yaml_config(self) -> dict[str, Any]:
        """The task file's mapping for this bucket (defaults left out)."""
        out: dict[str, Any] = {}
        for key, value in (("name", self.name), ("source", self.source),
                           ("store", self.store)):
            if value is not None:
                out[key] = value
        if self.mode is not StorageMode.MOUNT:
            out["mode"] = self.mode.value
        if not self.persistent:
            out["persistent"] = False
        return out

    @classmethod
    def from_yaml_config(cls, config: dict[str, Any]) -> Storage:
        from stix.task import StorageMount

        mount = StorageMount.model_validate(config)
        return cls(name=mount.name, source=mount.source, stores=mount.store,
                   persistent=mount.persistent, mode=mount.mode)

    def to_mount(self) -> StorageMount:
        """The file_mounts value stix's task model holds for it."""
        from pydantic import ValidationError

        from stix.task import StorageMount

        try:
            return StorageMount.model_validate(self.to_yaml_config())
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            raise UsageError(f"Storage: {message}") from None

    def __repr__(self) -> str:
        return f"Storage({self.to_yaml_config()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Storage):
            return NotImplemented
        return self.to_yaml_config() == other.to_yaml_config()

    __hash__ = None  # type: ignore[assignment]
