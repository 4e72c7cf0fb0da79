"""What kind of failure an engine reported, from the cloud's own error codes in its output
(each cloud's `error_patterns`) and the wordings clouds share. The kind decides whether
another placement may succeed (`stix.cluster.failover`)."""

from __future__ import annotations

import re
from functools import cache

KINDS = ("capacity", "spot", "quota", "credentials")
# Wordings several clouds (and their SDKs) share; each cloud adds its own error codes.
GENERIC: tuple[tuple[str, str], ...] = (
    ("capacity", r"InsufficientCapacity|capacity.not.available|stockout"),
    ("spot", r"spot.*(not available|unavailable|capacity)"),
    ("quota", r"exceeded.*quota|ResourceLimitExceeded|LimitExceeded"),
    ("credentials", r"no valid credential"),
)


def failover_mark(kind: str) -> str:
    """The words a provider stix runs itself (a Pulumi dynamic provider,
    `stix.clouds.dynamic`) puts in an error it has already classified, so the engine's
    output says the kind whatever the cloud's codes: `[stix failover: capacity]`."""
    return f"[stix failover: {kind}]"


_MARKED = re.compile(r"\[stix failover: (" + "|".join(KINDS) + r")\]")


@cache
def _patterns(cloud: str | None) -> list[tuple[str, re.Pattern[str]]]:
    from stix.clouds import registry

    clouds = [registry.cloud(cloud)] if cloud else registry.all_clouds()
    found = [*GENERIC, *(pair for c in clouds for pair in c.error_patterns)]
    return [(kind, re.compile("|".join(f"(?:{p})" for k, p in found if k == kind), re.I))
            for kind in KINDS]


def classify(text: str, cloud: str | None = None) -> str:
    """'capacity' | 'spot' | 'quota' | 'credentials' | 'other', from the error codes of
    `cloud` (every cloud's when None) and the wordings they share; a kind stix's own
    provider marked (`failover_mark`) comes first."""
    marked = _MARKED.search(text)
    if marked:
        return marked.group(1)
    for kind, pattern in _patterns(cloud):
        if pattern.search(text):
            return kind
    return "other"
