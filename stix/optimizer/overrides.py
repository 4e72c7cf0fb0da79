"""Command-line overrides of a task's resources (`--cloud`, `--gpus`, `--cpus` ...).

An override wins over the task file everywhere: over the top-level block and over every
`any_of`/`ordered` alternative, as SkyPilot's `launch` flags do. Values go through the
task model's own parsers, so `--gpus A100:8` means exactly what `accelerators: A100:8` does.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from stix.errors import UsageError
from stix.task import Resources, Task

_FLAG = {"accelerators": "--gpus", "use_spot": "--use-spot", "instance_type": "--instance-type",
         "disk_size": "--disk-size"}
_PARAM = {"accelerators": "gpus"}  # a Resources field → the parameter here that sets it


def with_overrides(task: Task, *, cloud: str | None = None, region: str | None = None,
                   zone: str | None = None, gpus: str | None = None, cpus: str | None = None,
                   memory: str | None = None, instance_type: str | None = None,
                   use_spot: bool | None = None, num_nodes: int | None = None,
                   disk_size: int | str | None = None, infra: str | None = None) -> Task:
    """`task` with the given fields replaced (None leaves a field as the task has it)."""
    if infra is not None and (cloud or region or zone):
        raise UsageError("give infra (--infra), or cloud/region/zone (--cloud/--region/--zone), "
                         "not both")
    raw: dict[str, Any] = {"cloud": cloud, "region": region, "zone": zone, "accelerators": gpus,
                           "cpus": cpus, "memory": memory, "instance_type": instance_type,
                           "use_spot": use_spot, "disk_size": disk_size,
                           "infra": infra}  # fmt: skip
    raw = {k: v for k, v in raw.items() if v is not None}
    if num_nodes is not None and num_nodes < 1:
        raise UsageError(f"num_nodes (--num-nodes) must be at least 1, got {num_nodes}")
    if not raw:
        return task if num_nodes is None else task.model_copy(update={"num_nodes": num_nodes})
    try:
        parsed = Resources.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        flag = _FLAG.get(field, f"--{field.replace('_', '-')}")
        message = err["msg"].removeprefix("Value error, ")
        raise UsageError(f"{_PARAM.get(field, field)} ({flag}): {message}") from None
    update = {k: getattr(parsed, k) for k in raw if k != "infra"}
    if "infra" in raw:
        update.update(cloud=parsed.cloud, region=parsed.region, zone=parsed.zone)
    if "cloud" in update:
        # A region of another cloud means nothing there: a new cloud drops the old location.
        update.setdefault("region", None)
        update.setdefault("zone", None)
    elif "region" in update:
        update.setdefault("zone", None)

    def apply(block: Resources) -> Resources:
        return block.model_copy(update=update)

    res = task.resources
    top = apply(res).model_copy(update={
        "any_of": [apply(r) for r in res.any_of] if res.any_of is not None else None,
        "ordered": [apply(r) for r in res.ordered] if res.ordered is not None else None,
    })
    changes: dict[str, Any] = {"resources": top}
    if num_nodes is not None:
        changes["num_nodes"] = num_nodes
    return task.model_copy(update=changes)
