"""The Pulumi program entry point (`main: stix/program/` in Pulumi.yaml, run by the Pulumi
CLI): read the stack's `stix:` config back into a placement and build it."""

from __future__ import annotations

import json
from typing import Any


def _stix_config() -> dict[str, Any]:
    import pulumi

    from stix.placement import Placement
    from stix.stack.stackfile import NAMESPACE, PUBLIC_KEY

    # The engine hands every value over as text, structured ones as JSON: text fields stay
    # text (an Azure zone "1" is not the number 1), the others are decoded.
    text_fields = {PUBLIC_KEY} | {name for name, f in Placement.model_fields.items()
                                  if f.annotation in (str, str | None)}  # fmt: skip
    cfg = pulumi.Config(NAMESPACE)
    out: dict[str, Any] = {}
    for field in (*Placement.model_fields, PUBLIC_KEY):
        raw = cfg.get(field)
        if raw is None:
            continue
        out[f"{NAMESPACE}:{field}"] = raw if field in text_fields else json.loads(raw)
    return out


def main() -> None:
    import pulumi

    from stix.program.run import export
    from stix.stack.stackfile import from_config

    placement, public_key = from_config(_stix_config(), f"stack {pulumi.get_stack()}")
    export(placement, public_key)


main()
