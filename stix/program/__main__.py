"""The Pulumi program entry point (`main: stix/program/` in Pulumi.yaml, run by the Pulumi
CLI): read the stack's `stix:` config back into a placement and build it."""

from __future__ import annotations

import json
from typing import Any


def _stix_config(model: Any, extra: tuple[str, ...]) -> dict[str, Any]:
    import pulumi

    from stix.stack.stackfile import NAMESPACE

    # The engine hands every value over as text, structured ones as JSON: text fields stay
    # text (an Azure zone "1" is not the number 1), the others are decoded.
    text_fields = set(extra) | {name for name, f in model.model_fields.items()
                                if f.annotation in (str, str | None)}  # fmt: skip
    cfg = pulumi.Config(NAMESPACE)
    out: dict[str, Any] = {}
    for field in (*model.model_fields, *extra):
        raw = cfg.get(field)
        if raw is None:
            continue
        out[f"{NAMESPACE}:{field}"] = raw if field in text_fields else json.loads(raw)
    return out


def main() -> None:
    import pulumi

    from stix.buckets import BucketSpec
    from stix.placement import Placement
    from stix.program.run import export, export_bucket
    from stix.stack.stackfile import KIND, NAMESPACE, PUBLIC_KEY, bucket_from_config, from_config

    where = f"stack {pulumi.get_stack()}"
    if pulumi.Config(NAMESPACE).get(KIND) == "bucket":
        export_bucket(bucket_from_config(_stix_config(BucketSpec, ()), where))
        return
    placement, public_key = from_config(_stix_config(Placement, (PUBLIC_KEY,)), where)
    export(placement, public_key)


main()
