"""What a planned stack exposes to the internet, read from its resource graph by each
resource type's own check: rules open to everyone, public addresses, buckets that can be
made public. The plan lists them; `policy: strict` turns them into a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from stix.errors import UsageError

if TYPE_CHECKING:
    from stix.clouds.resource import ExposureKind
    from stix.stack.graph import Graph

Policy = Literal["warn", "strict"]
HINT = ("limit who reaches SSH and the ports with ssh_cidr in ~/.stix/config.yaml or "
        "stix:extra.ssh_cidrs in the stack file; `private: true` there drops public "
        "addresses on clouds with private networks")


@dataclass(frozen=True)
class Finding:
    resource: str  # the graph key (type::name)
    kind: ExposureKind
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"resource": self.resource, "kind": self.kind, "text": self.text}


def findings(graph: Graph) -> list[Finding]:
    from stix.clouds.types import resource_type

    out: list[Finding] = []
    for key, resource in sorted(graph.resources.items()):
        rt = resource_type(resource.type)
        if rt is None or rt.exposure is None:
            continue
        out.extend(Finding(key, e.kind, e.text) for e in rt.exposure(resource, graph))
    return out


def summary(found: list[Finding]) -> list[str]:
    """Lines for people: each open rule and public bucket, public addresses in one line."""
    lines = [f.text for f in found if f.kind != "public_ip"]
    addresses = [f.text for f in found if f.kind == "public_ip"]
    if len(addresses) > 2:
        lines.append(f"{len(addresses)} public addresses ({addresses[0]}, …)")
    else:
        lines.extend(addresses)
    return lines


def enforce(stack: str, found: list[Finding], policy: Policy, where: str) -> None:
    """Under the strict policy a stack that exposes anything is refused, naming it all."""
    if policy == "strict" and found:
        raise UsageError(f"stack {stack} is refused by the strict policy ({where}): "
                         + "; ".join(summary(found)), hint=HINT)
