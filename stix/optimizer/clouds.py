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


def bucket_cloud(task: Task) -> str | None:
    """The cloud the task's buckets pin it to (the one whose nodes reach that store with
    their own identity, no keys on nodes), if any; buckets on two clouds are an error."""
    from stix.clouds import registry

    owners = registry.stores()
    clouds: dict[str, str] = {}
    for target, mount in task.storage_mounts().items():
        ref = mount.bucket()
        store = mount.store or (ref.store if ref else None)
        owner = owners.get(store or "", (None, ()))[0]
        if owner is not None:
            clouds.setdefault(owner, target)
    if len(clouds) > 1:
        where = ", ".join(f"{t} on {c}" for c, t in sorted(clouds.items()))
        raise UsageError(f"the task's buckets live on different clouds ({where}); "
                         "nodes reach buckets of their own cloud only")
    return next(iter(clouds), None)
