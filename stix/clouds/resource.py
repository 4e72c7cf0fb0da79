"""One resource type a cloud's program emits, as each layer reads it: what forces its
replacement (the diff), what the offline mocks answer, its Terraform translation, and
what it exposes to the internet (the plan's exposure list); and the provider lookups a
program makes. Each cloud lists its own in `stix/clouds/<name>/types.py`;
`stix.clouds.types` gathers them by token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from stix.stack.graph import Graph, Resource


@dataclass(frozen=True)
class MockAnswer:
    """What the offline mocks answer for a resource type, beyond echoing its inputs:
    computed attributes nested inside inputs (addresses, mostly). `nested(state, mark)`
    fills them in, `mark(attr)` giving the marker of one attribute."""

    nested: Callable[[dict[str, Any], Callable[[str], str]], None]


@dataclass(frozen=True)
class TerraformType:
    """How one Pulumi type maps to Terraform: bridged providers share schemas, so the
    type name and a few exceptions to the camelCase → snake_case rule are enough."""

    name: str
    # Fields holding maps (user keys, never snake-cased).
    maps: frozenset[str] = frozenset({"tags", "tagsAll", "labels"})
    # List-of-object attributes whose items need every key in Terraform JSON.
    full_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Pulumi-only inputs dropped here (moved to the provider block or meaningless in TF).
    drop: frozenset[str] = frozenset({"region"})
    # Pulumi names (often plural list blocks) whose Terraform name differs.
    renames: dict[str, str] = field(default_factory=dict)
    # Pulumi auto-names these from the logical name (plus a random suffix); Terraform gets
    # the logical name as `name` or, for a `*_prefix` field, as a prefix.
    autoname: str | None = None


ExposureKind = Literal["open", "public_ip", "public_bucket"]
WORLD = frozenset({"0.0.0.0/0", "::/0"})


@dataclass(frozen=True)
class Exposed:
    """What one resource exposes to the internet, as the plan shows it: an ingress rule
    open to everyone, a public address, or a bucket that can be made public."""

    kind: ExposureKind
    text: str


# (resource, graph) -> what it exposes; the graph resolves references between resources.
ExposureCheck = Callable[["Resource", "Graph"], list[Exposed]]


@dataclass(frozen=True)
class ResourceType:
    """One resource type a program emits: what forces replacement, what the mocks answer,
    its Terraform type (None where the cloud has no Terraform translation), and what it
    exposes to the internet (None: nothing)."""

    token: str
    replace_on: tuple[str, ...]  # input paths (prefixes) that cannot change in place
    terraform: TerraformType | None = None
    mock: MockAnswer | None = None
    exposure: ExposureCheck | None = None


@dataclass(frozen=True)
class Lookup:
    """A provider lookup (invoke) a program makes: the attributes the mocks answer (only
    string-typed ones; the SDKs type-check results) and its Terraform data source."""

    token: str
    attrs: tuple[str, ...]
    terraform: str | None = None
