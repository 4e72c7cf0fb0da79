"""The engine interface: the one seam between stix and an IaC tool (Pulumi, Terraform).

The rest of stix never knows which engine ran: it hands over a `StackSpec` and gets back
`EngineResult`s and a stream of `ResourceEvent`s for progress.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stix.errors import ClusterBusyError as ClusterBusyError  # re-exported for engines
from stix.errors import StixError
from stix.placement import Placement


class EngineError(StixError):
    """The engine failed; `kind` says whether another placement might succeed."""

    def __init__(self, message: str, *, kind: str = "other", detail: str = "",
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.detail = detail


class EngineMissingError(StixError):
    exit_code = 4


@dataclass(frozen=True)
class ResourceEvent:
    """One step of an engine operation, engine-neutral."""

    kind: Literal["start", "done", "failed", "diagnostic", "summary"]
    urn: str = ""
    type: str = ""
    name: str = ""
    op: str = ""
    message: str = ""
    severity: str = ""
    changes: dict[str, int] = field(default_factory=dict)


EventSink = Callable[[ResourceEvent], None]


@dataclass
class StackSpec:
    """What an engine needs to act on one stack (a cluster's, or a bucket's own)."""

    cluster: str  # the stack name
    project_dir: Path
    placement: Placement | None  # None for a bucket's own stack
    program: Callable[[], None]
    expected_resources: int = 0
    # The resource graph (stix.stack.graph.Graph) for engines that translate it.
    synthesize: Callable[[], Any] | None = None
    cloud: str = ""  # whose error codes classify a failure

    def __post_init__(self) -> None:
        if not self.cloud and self.placement is not None:
            self.cloud = self.placement.cloud


@dataclass
class EngineResult:
    operation: str
    ok: bool
    changes: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    stdout: str = ""


class Engine(ABC):
    name: str

    @abstractmethod
    def check(self) -> None:
        """Raise EngineMissingError (with how to install) when the engine cannot run here."""

    @abstractmethod
    def up(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult: ...

    @abstractmethod
    def preview(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult: ...

    @abstractmethod
    def refresh(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult: ...

    @abstractmethod
    def destroy(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        """Delete every resource of the stack. A stack that is already gone is not an error."""

    @abstractmethod
    def outputs(self, spec: StackSpec) -> dict[str, Any]: ...

    @abstractmethod
    def remove(self, spec: StackSpec) -> None:
        """Forget the (empty) stack in the backend; missing is not an error."""

    # -- what the state holds (`stix orphans`: a tagged resource no stack holds) ---------

    def stack_names(self) -> list[str]:
        """Every stack this engine's state holds. Raises a StixError when the state cannot
        be read (the engine is missing, the backend unreachable): never an empty guess."""
        raise EngineError(f"the {self.name} engine cannot list its stacks")

    def resource_ids(self, stack: str) -> set[str]:
        """Every id the stack's state records: its resources' ids and the ids nested in their
        attributes (an instance's root volume, a key pair's name), so a resource any stack
        refers to counts as held."""
        raise EngineError(f"the {self.name} engine cannot read stack {stack!r}")


# Strings longer than this in a state are scripts and documents, never ids.
_ID_LIMIT = 2048


def collect_ids(value: Any, into: set[str]) -> set[str]:
    """Every string inside `value` (dicts, lists) short enough to be an id."""
    if isinstance(value, str):
        if value and len(value) <= _ID_LIMIT:
            into.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            collect_ids(item, into)
    elif isinstance(value, (list, tuple)):
        for item in value:
            collect_ids(item, into)
    return into
