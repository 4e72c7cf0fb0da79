"""An in-process TEST DOUBLE of an IaC engine: `up` answers from a script (failures by
zone, or an interrupt) and reports nodes at documentation addresses; every call is kept.
Everything around it in the tests that use it is real."""

from __future__ import annotations

from typing import Any

from stix.engine.base import Engine, EngineError, EngineResult, EventSink, StackSpec


class ScriptedEngine(Engine):
    name = "pulumi"

    def __init__(self, failures: dict[str, str] | None = None,
                 interrupt: bool = False, outputs: dict[str, Any] | None = None) -> None:
        self.failures = failures or {}  # zone → failure kind
        self.interrupt = interrupt
        self.stored_outputs = outputs or {}
        self.ups: list[str | None] = []
        self.destroys: list[str | None] = []
        self.bucket_ups: list[str] = []
        self.bucket_destroys: list[str] = []

    def check(self) -> None:
        return None

    def up(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        if spec.placement is None:  # a bucket's own stack
            self.bucket_ups.append(spec.cluster)
            return EngineResult("up", True, {"create": 3}, {"bucket": spec.cluster})
        zone = spec.placement.zone
        self.ups.append(zone)
        if self.interrupt:
            raise KeyboardInterrupt
        if zone in self.failures or "*" in self.failures:
            kind = self.failures.get(zone or "", self.failures.get("*", "other"))
            raise EngineError(f"simulated {kind} failure in {zone}", kind=kind)
        nodes = [{"name": f"{spec.cluster}-{i}", "public_ip": f"203.0.113.{10 + i}",
                  "private_ip": f"10.0.0.{10 + i}"} for i in range(spec.placement.num_nodes)]
        return EngineResult("up", True, {"create": 9}, {"nodes": nodes, "ssh_user": "stix"})

    def preview(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        return EngineResult("preview", True)

    def refresh(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        return EngineResult("refresh", True)

    def destroy(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        if spec.placement is None:
            self.bucket_destroys.append(spec.cluster)
            return EngineResult("destroy", True, {"delete": 3})
        self.destroys.append(spec.placement.zone)
        return EngineResult("destroy", True, {"delete": 9})

    def outputs(self, spec: StackSpec) -> dict[str, Any]:
        return self.stored_outputs

    def remove(self, spec: StackSpec) -> None:
        return None
