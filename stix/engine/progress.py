"""Engine events → live progress: resources done/total, what is running, elapsed time.

Pulumi's engine events arrive as `pulumi.automation.events.EngineEvent`; `from_pulumi`
turns each into engine-neutral `ResourceEvent`s so the display works for any engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stix.engine.base import ResourceEvent

_STACK_TYPE = "pulumi:pulumi:Stack"
_PROVIDER_PREFIX = "pulumi:providers:"


def _is_bookkeeping(type_: str) -> bool:
    return type_ == _STACK_TYPE or type_.startswith(_PROVIDER_PREFIX)


def _name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else ""


def _op(meta: Any) -> str:
    op = meta.op
    return str(getattr(op, "value", op))


_STEP_EVENTS = (("resource_pre_event", "start"), ("res_outputs_event", "done"),
                ("res_op_failed_event", "failed"))


def from_pulumi(event: Any) -> list[ResourceEvent]:
    """Translate one Pulumi EngineEvent; events stix does not show give []."""
    out: list[ResourceEvent] = []
    for attr, kind in _STEP_EVENTS:
        step = getattr(event, attr, None)
        if step is not None:
            meta = step.metadata
            out.append(ResourceEvent(kind, meta.urn, meta.type, _name_of(meta.urn), _op(meta)))  # type: ignore[arg-type]
    diag = getattr(event, "diagnostic_event", None)
    if diag is not None and diag.severity in ("error", "warning"):
        out.append(ResourceEvent("diagnostic", diag.urn or "", "", _name_of(diag.urn or ""),
                                 message=diag.message.strip(), severity=diag.severity))
    summary = getattr(event, "summary_event", None)
    if summary is not None:
        out.append(ResourceEvent("summary", changes=dict(summary.resource_changes or {})))
    return out


@dataclass
class Progress:
    """Running totals of one operation, fed with ResourceEvents."""

    expected: int = 0
    clock: Callable[[], float] = time.monotonic
    started_at: float = field(default=0.0)
    running: dict[str, ResourceEvent] = field(default_factory=dict)
    done: int = 0
    failed: list[ResourceEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started_at = self.clock()

    def feed(self, event: ResourceEvent) -> None:
        if event.kind in ("start", "done", "failed") and _is_bookkeeping(event.type):
            return
        if event.kind == "start":
            self.running[event.urn] = event
        elif event.kind == "done":
            if self.running.pop(event.urn, None) is not None or event.op != "same":
                self.done += 1
        elif event.kind == "failed":
            self.running.pop(event.urn, None)
            self.failed.append(event)
        elif event.kind == "diagnostic":
            (self.errors if event.severity == "error" else self.warnings).append(
                f"{event.name}: {event.message}" if event.name else event.message
            )
        elif event.kind == "summary":
            self.changes = dict(event.changes)

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started_at

    def line(self) -> str:
        """One status line: '[3/7] creating aws:ec2/instance:Instance head (12s)'."""
        total = max(self.expected, self.done + len(self.running))
        current = ""
        if self.running:
            last = next(reversed(self.running.values()))
            current = f" {_verb(last.op)} {last.type} {last.name}"
        return f"[{self.done}/{total}]{current} ({self.elapsed:.0f}s)"


def _verb(op: str) -> str:
    return {"create": "creating", "update": "updating", "delete": "deleting",
            "replace": "replacing", "create-replacement": "replacing", "refresh": "refreshing",
            "read": "reading", "same": "checking"}.get(op, op)
