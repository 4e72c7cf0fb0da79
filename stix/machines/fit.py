"""What a task asks of an existing host."""

from __future__ import annotations

from stix.errors import StixError
from stix.task import AcceleratorReq, Resources


def wanted_accelerator(resources: Resources) -> AcceleratorReq | None:
    acc = resources.accelerators
    if acc is None:
        return None
    if len(acc.options) > 1:
        raise StixError(f"accelerators: give one accelerator for existing machines, "
                        f"not alternatives ({', '.join(str(o) for o in acc.options)})")
    return acc.options[0]
