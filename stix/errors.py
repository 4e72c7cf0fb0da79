"""stix's error types: every failure a user can cause is one of these, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass, field


class StixError(Exception):
    """A failure with a readable message; the CLI prints it and exits with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file: where (field path, line) and what."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def render(self, source: str | None) -> str:
        where = source or "<task>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field_part = f" {self.path}:" if self.path else ""
        return f"{where}:{field_part} {self.message}"


@dataclass
class TaskError(StixError):
    """A task file that cannot be used as written (bad YAML, schema, values)."""

    source: str | None
    problems: list[Problem] = field(default_factory=list)
    exit_code = 2

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        lines = [p.render(self.source) for p in self.problems]
        return "\n".join(lines) if lines else f"{self.source}: invalid task"

    def __str__(self) -> str:
        return self.render()


class UsageError(StixError):
    """The command line asked for something inconsistent."""

    exit_code = 2


class ClusterBusyError(StixError):
    """Another process (or the engine's own stack lock) is changing this cluster now."""

    exit_code = 4


class NotFoundError(StixError):
    """A named thing (cluster, job, file) does not exist."""

    exit_code = 3


class StillRunningError(StixError):
    """The user stopped following a job (Ctrl-C); the job itself keeps running."""

    exit_code = 130

    def __init__(self, cluster: str, job_id: str) -> None:
        super().__init__(f"stopped following job {job_id}; it is still running on cluster "
                         f"{cluster}",
                         hint=f"follow it with `stix logs {cluster} {job_id} -f`, cancel it "
                              f"with `stix cancel {cluster} {job_id}`")
        self.cluster = cluster
        self.job_id = job_id


# Where SkyPilot users catch them (`sky.exceptions.*`, also `stix.exceptions`): stix's own
# errors of those kinds are subclasses, so `except ResourcesUnavailableError` works.


class ResourcesUnavailableError(StixError):
    """No placement the task may use can be had (nothing fits, or every one failed)."""

    exit_code = 2


class ClusterDoesNotExist(NotFoundError):
    """No cluster of that name."""


class StorageNotFoundError(NotFoundError, ValueError):
    """No kept bucket of that name (SkyPilot's storage_delete raises ValueError)."""


class ClusterNotUpError(StixError):
    """The cluster is stopped, gone or not set up: jobs cannot run on it now."""


class CommandError(StixError):
    """A task's run or a command failed on the cluster; `returncode` is its exit code."""

    def __init__(self, message: str, *, returncode: int = 1, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.returncode = returncode
        self.exit_code = returncode or 1


class NotSupportedError(StixError):
    """A SkyPilot feature stix does not have (the message says what to do instead)."""
