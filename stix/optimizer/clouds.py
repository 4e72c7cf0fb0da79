"""Which clouds a plan considers: those with credentials here, or, when none has any,
every cloud in the catalog (planning never needs credentials)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.clouds.base import CredentialStatus
from stix.errors import UsageError

if TYPE_CHECKING:
    from stix.task import Task


def credential_report(verify: bool = False) -> list[CredentialStatus]:
    """Every registered provider's credential status, by name."""
    from stix.clouds import registry

    return [registry.get(name).check_credentials(verify) for name in registry.names()]


def default_clouds(catalog_clouds: list[str]) -> tuple[list[str] | None, str]:
    """(clouds to pass to `optimize`, a note for the user). None means every catalog cloud."""
    from stix.clouds import registry

    ready = []
    for name in catalog_clouds:
        if not registry.served(name):
            continue
        provider = registry.get(name)
        if provider.capabilities.uses_catalog and provider.check_credentials(verify=False).ok:
            ready.append(name)
    if not ready:
        return None, ("no cloud credentials found: considering every catalog cloud "
                      "(planning needs none; `stix check` tells how to add them)")
    return ready, f"considering clouds with credentials: {', '.join(ready)}"


def plan_clouds(task: Task, catalog_clouds: list[str]) -> tuple[list[str] | None, str]:
    """`default_clouds`, plus the clouds `task` pins: naming a cloud is enough to plan on it
    (launching there still needs its credentials)."""
    from stix.optimizer.wants import choices

    clouds, note = default_clouds(catalog_clouds)
    if clouds is None:
        return None, note
    pinned = sorted({w.cloud for w in choices(task).wants() if w.cloud} - set(clouds))
    if pinned:
        note += f"; and {', '.join(pinned)}, which the task names"
    return sorted(set(clouds) | set(pinned)), note


def bucket_cloud(task: Task) -> tuple[str | None, bool]:
    """(the cloud the task's buckets pin it to, whether the pin is firm). A bucket stix
    creates in a cloud's store pins firmly (that cloud's stack makes it; two such clouds
    are an error). Existing buckets of one cloud only prefer it (its nodes reach them with
    their own identity); elsewhere nodes reach them with the user's keys
    (`stix.clouds.keyed`), as they reach buckets of several clouds or of keyed stores."""
    from stix.clouds import registry

    owners = registry.stores()
    made: dict[str, str] = {}
    used: dict[str, str] = {}
    for target, mount in task.storage_mounts().items():
        ref = mount.bucket()
        store = mount.store or (ref.store if ref else None)
        owner = owners.get(store or "", (None, ()))[0]
        if owner is not None:
            (used if ref is not None else made).setdefault(owner, target)
    if len(made) > 1:
        where = ", ".join(f"{t} on {c}" for c, t in sorted(made.items()))
        raise UsageError(f"the task creates buckets on different clouds ({where}); each "
                         "is made by its own cloud's stack, so one task can create buckets "
                         "of one cloud only")
    if made:
        return next(iter(made)), True
    return (next(iter(used)), False) if len(used) == 1 else (None, False)


def keyed_creatable(task: Task) -> bool:
    """Whether every bucket the task creates could be made from this machine with the
    user's keys (S3-compatible stores), so that nodes of any cloud can use them."""
    from stix.clouds import keyed

    made = [m.store for m in task.storage_mounts().values() if m.bucket() is None]
    return all(s is not None and keyed.supported(s) and keyed.kind(s) == "s3" for s in made)
