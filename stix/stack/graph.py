"""The resource graph: what a stack declares, as plain data that reviewers, diffs, cost
estimates and engine translations read (the IR between program and engine).

References between resources are kept as references, never as mock ids: during
synthesis every id and computed attribute is a *marker* string naming its resource and
attribute, and `normalize` turns markers (also ones embedded in longer strings) back into
`{"$ref": key, "attr": name}` / `{"$data": key, "attr": name}` / `{"$concat": [...]}`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from stix.errors import StixError

FORMAT = 1
# Markers: @@{r|<resource key>|<attr>}@@ and @@{d|<data key>|<attr>}@@. Plain ASCII that JSON,
# YAML and shell quoting leave alone (programs embed them in policy documents), and never
# found in what stix or a cloud writes; `|` never occurs in a type token or logical name.
MARK_OPEN, MARK_CLOSE = "@@{", "}@@"
_MARK_RE = re.compile(r"@@\{([rd])\|([^|}]+)\|([^}]*)\}@@")
# Pulumi wraps secret values in a dict carrying this signature key.
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
REDACTED = "[secret]"


class GraphError(StixError):
    """A program declared something the graph cannot hold (duplicate names, bad file)."""


def resource_key(type_: str, name: str) -> str:
    return f"{type_}::{name}"


def marker(kind: str, key: str, attr: str) -> str:
    return f"{MARK_OPEN}{kind}|{key}|{attr}{MARK_CLOSE}"


def _ref(kind: str, key: str, attr: str) -> dict[str, str]:
    return {"$ref" if kind == "r" else "$data": key, "attr": attr}


def _normalize_str(text: str) -> Any:
    if MARK_OPEN not in text:
        return text
    parts: list[Any] = []
    pos = 0
    for m in _MARK_RE.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append(_ref(m.group(1), m.group(2), m.group(3)))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    if len(parts) == 1 and isinstance(parts[0], dict):
        return parts[0]
    return {"$concat": parts}


def normalize(value: Any) -> Any:
    """Make a value from the mocks stable and reviewable: integral floats become ints,
    secrets are redacted, markers become references, None entries are dropped."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return REDACTED
        return {str(k): normalize(v) for k, v in sorted(value.items()) if v is not None}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
        return round(value, 9)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return _normalize_str(value)
    urn = getattr(value, "urn", None)  # a resource reference passed as an input
    if urn is not None:
        raise GraphError(f"resource object passed as an input ({value!r}); pass an attribute")
    return str(value)


def references(value: Any) -> set[str]:
    """Keys of the resources a normalized value refers to."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "$ref" in value and "attr" in value:
            found.add(value["$ref"])
        for v in value.values():
            found |= references(v)
    elif isinstance(value, list):
        for v in value:
            found |= references(v)
    return found


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    parent: str | None = None
    provider: str | None = None

    @property
    def key(self) -> str:
        return resource_key(self.type, self.name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "name": self.name, "inputs": self.inputs}
        if self.dependencies:
            out["dependencies"] = self.dependencies
        if self.parent:
            out["parent"] = self.parent
        if self.provider:
            out["provider"] = self.provider
        return out


@dataclass
class DataSource:
    """A provider lookup (invoke) the program made, e.g. an SSM parameter holding an AMI."""

    type: str
    args: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "args": self.args}


@dataclass
class Graph:
    stack: str
    program: str
    resources: dict[str, Resource] = field(default_factory=dict)
    data: dict[str, DataSource] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def add(self, resource: Resource) -> None:
        if resource.key in self.resources:
            raise GraphError(
                f"stack {self.stack}: two resources named {resource.name!r} of type "
                f"{resource.type}; logical names must be unique per type"
            )
        self.resources[resource.key] = resource

    def of_type(self, type_: str) -> list[Resource]:
        return [r for k, r in sorted(self.resources.items()) if r.type == type_]

    def get(self, type_: str, name: str) -> Resource:
        try:
            return self.resources[resource_key(type_, name)]
        except KeyError:
            raise KeyError(f"no {type_} named {name!r} in graph {self.stack}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "stack": self.stack,
            "program": self.program,
            "resources": {k: r.to_dict() for k, r in sorted(self.resources.items())},
            "data": {k: d.to_dict() for k, d in sorted(self.data.items())},
            "outputs": self.outputs,
        }

    def to_json(self) -> str:
        """Canonical text: sorted keys, two-space indent, newline at the end; byte-identical
        for equal graphs."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, doc: Any, source: str = "<graph>") -> Graph:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise GraphError(f"{source}: not a stix resource graph (format {FORMAT})")
        try:
            graph = cls(stack=doc["stack"], program=doc["program"], outputs=doc.get("outputs", {}))
            for key, r in doc.get("resources", {}).items():
                res = Resource(
                    type=r["type"], name=r["name"], inputs=r.get("inputs", {}),
                    dependencies=list(r.get("dependencies", [])),
                    parent=r.get("parent"), provider=r.get("provider"),
                )  # fmt: skip
                if res.key != key:
                    raise GraphError(f"{source}: resource key {key!r} does not match its type/name")
                graph.add(res)
            for key, d in doc.get("data", {}).items():
                graph.data[key] = DataSource(type=d["type"], args=d.get("args", {}))
        except (KeyError, TypeError) as exc:
            raise GraphError(f"{source}: malformed resource graph ({exc})") from None
        return graph

    @classmethod
    def from_json(cls, text: str, source: str = "<graph>") -> Graph:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GraphError(f"{source}:{exc.lineno}: not valid JSON ({exc.msg})") from None
        return cls.from_dict(doc, source)
