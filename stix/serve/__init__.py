"""Serving (`stix serve`): replicas that are stix clusters behind a real load balancer.

As `sky.serve` (`import stix as sky`), this package answers SkyPilot's calls (`up`,
`update`, `status`, `down`, `tail_logs`, `UpdateMode`, `ServiceComponent`), imported on
first use so `import stix` stays cheap."""

from __future__ import annotations

from typing import Any

_SDK = ("up", "update", "status", "down", "tail_logs", "UpdateMode", "ServiceComponent")


def __getattr__(name: str) -> Any:
    if name in _SDK:
        from stix.serve import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'stix.serve' has no attribute {name!r}")
