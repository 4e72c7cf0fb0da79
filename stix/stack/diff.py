"""What changes between two resource graphs, and what it costs per hour.

Per resource: create, delete, update (with the inputs that changed) or replace, when a
changed input cannot be updated in place (the type table of the resource's cloud,
conservative where unsure), when its provider is replaced, or when an input refers to a
resource that is replaced in a way that forces it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from stix.placement import Placement
from stix.stack.graph import Graph, Resource

Action = Literal["create", "update", "replace", "delete"]
_ORDER = {"delete": 0, "replace": 1, "update": 2, "create": 3}


@dataclass(frozen=True)
class InputChange:
    path: str
    before: Any
    after: Any
    forces_replace: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {"path": self.path, "before": self.before, "after": self.after}
        if self.forces_replace:
            out["forces_replace"] = True
        return out


@dataclass
class Change:
    action: Action
    type: str
    name: str
    inputs: list[InputChange] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why a replace (besides inputs)

    @property
    def key(self) -> str:
        return f"{self.type}::{self.name}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "type": self.type, "name": self.name}
        if self.inputs:
            out["inputs"] = [c.to_dict() for c in self.inputs]
        if self.reasons:
            out["reasons"] = self.reasons
        return out


@dataclass
class StackDiff:
    cluster: str
    changes: list[Change]
    hourly_before: float | None
    hourly_after: float | None
    unchanged: int = 0
    # Where the new $/h came from ("observed 2026-05-12 (2 days old)"), and the warning
    # when it is an estimate (shown with the cost line).
    price_basis: str | None = None
    price_warning: str | None = None

    @property
    def empty(self) -> bool:
        return not self.changes

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def hourly_delta(self) -> float:
        return (self.hourly_after or 0.0) - (self.hourly_before or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "summary": {a: self.count(a) for a in ("create", "update", "replace", "delete")}
            | {"unchanged": self.unchanged},
            "hourly_price": {"before": _money(self.hourly_before),
                             "after": _money(self.hourly_after),
                             "delta": _money(self.hourly_delta)},
            "price_basis": self.price_basis,
            "price_warning": self.price_warning,
            "changes": [c.to_dict() for c in self.changes],
        }


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, (dict, list)) or (
        isinstance(value, dict) and ("$ref" in value or "$data" in value or "$concat" in value)
    )


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf paths of a normalized input value (`a.b[0].c`); references are leaves."""
    if _is_leaf(value) or (isinstance(value, (dict, list)) and not value):
        return {prefix: value}
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
    else:
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    return out


def _forces(type_: str, path: str) -> bool:
    from stix.clouds.types import PROVIDER_PREFIX, replace_on

    if type_.startswith(PROVIDER_PREFIX):
        return True  # a provider with other settings (region, context) is another provider
    return any(path == p or path.startswith((p + ".", p + "[")) for p in replace_on(type_))


def input_changes(before: Resource, after: Resource) -> list[InputChange]:
    old, new = flatten(before.inputs), flatten(after.inputs)
    out = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a != b:
            out.append(InputChange(path, a, b, _forces(after.type, path)))
    return out


def _refs_with_paths(value: Any) -> list[tuple[str, str]]:
    """(input path, referenced resource key) for every reference in a resource's inputs."""
    found = []
    for path, leaf in flatten(value).items():
        parts = leaf.get("$concat", [leaf]) if isinstance(leaf, dict) else []
        for part in parts:
            if isinstance(part, dict) and "$ref" in part:
                found.append((path, part["$ref"]))
    return found


def diff_graphs(before: Graph | None, after: Graph, placement_before: Placement | None,
                placement_after: Placement | None) -> StackDiff:  # fmt: skip
    old = before.resources if before is not None else {}
    new = after.resources
    changes: dict[str, Change] = {}
    for key in sorted(set(old) - set(new)):
        changes[key] = Change("delete", old[key].type, old[key].name)
    for key in sorted(set(new) - set(old)):
        changes[key] = Change("create", new[key].type, new[key].name)
    for key in sorted(set(old) & set(new)):
        diffs = input_changes(old[key], new[key])
        if diffs:
            action: Action = "replace" if any(d.forces_replace for d in diffs) else "update"
            changes[key] = Change(action, new[key].type, new[key].name, diffs)
    _cascade(new, changes)
    ordered = sorted(changes.values(), key=lambda c: (_ORDER[c.action], c.type, c.name))
    unchanged = len(set(old) & set(new)) - sum(
        1 for c in ordered if c.action in ("update", "replace"))
    return StackDiff(
        cluster=after.stack, changes=ordered, unchanged=unchanged,
        hourly_before=placement_before.total_hourly_price if placement_before else None,
        hourly_after=placement_after.total_hourly_price if placement_after else None,
    )  # fmt: skip


def _cascade(new: dict[str, Resource], changes: dict[str, Change]) -> None:
    """Replacing a resource changes its id: resources using it (as provider, or through a
    reference in an input) get updated, or replaced where that input forces it."""
    moved = True
    while moved:
        moved = False
        replaced = {k for k, c in changes.items() if c.action == "replace"}
        for key, res in new.items():
            change = changes.get(key)
            if change is not None and change.action in ("create", "replace"):
                continue
            forced: list[str] = []
            touched: list[str] = []
            if res.provider in replaced:
                forced.append(f"provider {res.provider} is replaced")
            for path, ref in _refs_with_paths(res.inputs):
                if ref in replaced:
                    why = f"{path} refers to {ref}, which is replaced"
                    (forced if _forces(res.type, path) else touched).append(why)
            if not forced and not touched:
                continue
            if change is None:
                change = changes[key] = Change("update", res.type, res.name)
                moved = True
            if forced and change.action != "replace":
                change.action = "replace"
                moved = True
            for why in forced + touched:
                if why not in change.reasons:
                    change.reasons.append(why)
