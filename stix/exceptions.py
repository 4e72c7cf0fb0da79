"""The exceptions SkyPilot users catch (`sky.exceptions.X`), as stix raises them: stix's
own errors of each kind subclass these, so existing `except` clauses keep working."""

from stix.errors import (
    ClusterBusyError,
    ClusterDoesNotExist,
    ClusterNotUpError,
    CommandError,
    NotFoundError,
    NotSupportedError,
    ResourcesUnavailableError,
    StixError,
    StorageNotFoundError,
    TaskError,
    UsageError,
)

InvalidSkyPilotConfigError = UsageError  # a bad config or argument
InvalidTaskError = TaskError  # SkyPilot raises ValueError subclasses for bad tasks
ClusterOwnerIdentityMismatchError = ClusterBusyError
ResourcesMismatchError = ResourcesUnavailableError
StorageError = StixError

__all__ = [
    "ClusterBusyError", "ClusterDoesNotExist", "ClusterNotUpError",
    "ClusterOwnerIdentityMismatchError", "CommandError", "InvalidSkyPilotConfigError",
    "InvalidTaskError", "NotFoundError", "NotSupportedError", "ResourcesMismatchError",
    "ResourcesUnavailableError", "StixError", "StorageError", "StorageNotFoundError",
    "TaskError", "UsageError",
]  # fmt: skip
