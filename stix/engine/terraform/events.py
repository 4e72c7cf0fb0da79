"""Terraform's `-json` machine-readable UI → engine-neutral ResourceEvents."""

from __future__ import annotations

import json
from typing import Any

from stix.engine.base import ResourceEvent

_KIND = {"apply_start": "start", "apply_complete": "done", "apply_errored": "failed"}
_OP = {"create": "create", "update": "update", "delete": "delete", "replace": "replace",
       "read": "read", "noop": "same"}


def parse_line(line: str) -> list[ResourceEvent]:
    try:
        msg: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError:
        return []
    kind = msg.get("type", "")
    if kind in _KIND:
        hook = msg.get("hook", {})
        res = hook.get("resource", {})
        addr = res.get("addr", "")
        return [ResourceEvent(_KIND[kind], addr, res.get("resource_type", ""),  # type: ignore[arg-type]
                              res.get("resource_name", addr), _OP.get(hook.get("action", ""), ""))]
    if kind == "diagnostic":
        diag = msg.get("diagnostic", {})
        severity = diag.get("severity", "")
        text = diag.get("summary", "")
        if diag.get("detail"):
            text += ": " + diag["detail"]
        addr = diag.get("address", "")
        return [ResourceEvent("diagnostic", addr, "", addr, message=text.strip(),
                              severity="warning" if severity == "warning" else "error")]
    if kind == "change_summary":
        ch = msg.get("changes", {})
        return [ResourceEvent("summary", changes={
            "create": ch.get("add", 0), "update": ch.get("change", 0),
            "delete": ch.get("remove", 0)})]
    return []
