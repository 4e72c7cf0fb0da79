"""Turning a ranked offer into a complete `Placement` (built only for the results shown)."""

from __future__ import annotations

from typing import Any, Literal

from stix.optimizer.rank import Ranked
from stix.placement import Bucket, Placement, PlacementAccelerator
from stix.task import Task
from stix.task.notes import SKYPILOT_IMAGE


def buckets(task: Task, cloud: str) -> list[Bucket]:
    """Every bucket of the task: existing ones (a bucket URI source) and ones to create."""
    from stix.clouds import registry

    # A provider with no store of its own (pods, existing machines) records SkyPilot's
    # default store; the node bootstrap then says plainly that it cannot set it up.
    default_store = registry.store_of(cloud) or registry.DEFAULT_STORE
    out = []
    for target, mount in sorted(task.storage_mounts().items()):
        ref = mount.bucket()
        if ref is not None:
            out.append(Bucket(store=ref.store, name=ref.bucket, mount_path=target,
                              mode=mount.mode, create=False, persistent=True, prefix=ref.path,
                              account=ref.account))
            continue
        store = mount.store or default_store
        out.append(Bucket(store=store, name=mount.name or "", mount_path=target,
                          mode=mount.mode, create=True, persistent=mount.persistent))
    return out


def _source(r: Ranked) -> Literal["observed", "estimated"] | None:
    """The provenance of the price paid; None for providers not priced from the catalog."""
    from stix.clouds import registry

    if registry.served(r.offer.cloud) and not registry.get(r.offer.cloud).capabilities.uses_catalog:
        return None
    source = r.offer.source(r.want.spot)
    return "observed" if source == "observed" else "estimated" if source == "estimated" else None


def build(r: Ranked, task: Task, cluster: str) -> Placement:
    res = r.want.resources
    o = r.offer
    image = res.image_id
    if isinstance(image, dict):
        image = image.get(o.region)
    if image is not None and image.startswith(SKYPILOT_IMAGE):
        image = None  # SkyPilot's own image: the cloud's default boots (a task note says so)
    extra: dict[str, Any] = {}
    if res.accelerator_args:
        extra["accelerator_args"] = res.accelerator_args
    if res.network_tier:
        extra["network_tier"] = res.network_tier
    return Placement(
        cluster=cluster,
        cloud=o.cloud,
        region=o.region,
        zone=o.zone,
        instance_type=o.instance_type,
        num_nodes=task.num_nodes,
        use_spot=r.want.spot,
        vcpus=o.vcpus,
        memory_gib=o.memory_gib,
        accelerator=(PlacementAccelerator(name=o.accelerator, count=o.accelerator_count,
                                          memory_gib=o.accelerator_memory_gib)
                     if o.accelerator else None),
        arch=o.arch,
        hourly_price=r.hourly,
        price_source=_source(r),
        price_as_of=o.as_of or None if _source(r) else None,
        image_id=image,
        disk_size=res.disk_size or 256,
        disk_tier=res.disk_tier,
        ports=[p.render() for p in res.ports or []],
        labels=dict(res.labels or {}),
        buckets=buckets(task, o.cloud),
        autostop_minutes=res.autostop.idle_minutes if res.autostop else None,
        autostop_down=bool(res.autostop and res.autostop.down),
        autostop_wait_for=res.autostop.wait_for if res.autostop else None,
        autostop_hook=res.autostop.hook if res.autostop else None,
        autostop_hook_timeout=res.autostop.hook_timeout if res.autostop else None,
        extra=extra,
    )
