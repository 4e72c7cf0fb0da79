"""The providers stix serves, one registration line each; nothing is imported until asked.

A line names the provider, the object that implements it (`module:Class`), and the
spellings task files may use for it. `get` imports the provider's module on first use,
so listing names, resolving an alias or loading a task costs no cloud package import.
This module and user-facing documentation are the only places that spell cloud names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stix.errors import StixError

if TYPE_CHECKING:
    from stix.clouds.base import Cloud, Machines, Provider


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "module:Class"
    aliases: tuple[str, ...] = ()
    stores: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (store, URI schemes) it owns
    # What follows the name in `infra:`: "region" (cloud/region/zone) or "context" (one
    # name that may hold '/', a kubeconfig context).
    location: str = "region"


_ENTRIES: dict[str, Entry] = {}
_SPELLINGS: dict[str, str] = {}  # every spelling → provider, built on first use


def register(name: str, target: str, *, aliases: tuple[str, ...] = (),
             stores: tuple[tuple[str, tuple[str, ...]], ...] = (),
             location: str = "region") -> None:
    if name in _ENTRIES:
        raise ValueError(f"provider {name!r} is registered twice")
    _ENTRIES[name] = Entry(name, target, aliases, stores, location)
    _SPELLINGS.clear()


register("aws", "stix.clouds.aws.cloud:AwsCloud", stores=(("s3", ("s3",)),))
register("gcp", "stix.clouds.gcp.cloud:GcpCloud", aliases=("google",),
         stores=(("gcs", ("gs",)),))
register("azure", "stix.clouds.azure.cloud:AzureCloud", stores=(("azure", ()),))
register("lambda", "stix.clouds.lambda_cloud.cloud:LambdaCloud",
         aliases=("lambdalabs", "lambda_cloud"))
register("kubernetes", "stix.clouds.kubernetes.cloud:KubernetesCloud", aliases=("k8s",),
         location="context")
register("digitalocean", "stix.clouds.digitalocean.cloud:DigitalOceanCloud", aliases=("do",))
register("oci", "stix.clouds.oci.cloud:OciCloud")
register("nebius", "stix.clouds.nebius.cloud:NebiusCloud")
register("runpod", "stix.clouds.runpod.cloud:RunPodCloud")
register("vast", "stix.clouds.vast.cloud:VastCloud")
register("local", "stix.machines.local:LocalMachines")
register("ssh", "stix.machines.ssh:SshMachines")

# Infrastructures SkyPilot task files may name that stix does not serve (yet): such a file
# loads, and the optimizer says plainly that stix does not serve that cloud.
ELSEWHERE: dict[str, tuple[str, ...]] = {
    "ibm": (), "scp": (),
    "paperspace": (), "cudo": (), "fluidstack": (),
    "vsphere": (), "hyperbolic": (), "seeweb": (), "primeintellect": (),
}  # fmt: skip
# The store SkyPilot records for a bucket on a provider without a store of its own.
DEFAULT_STORE = "s3"
# Bucket stores SkyPilot knows whose cloud stix does not serve: (store, URI schemes).
ELSEWHERE_STORES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("r2", ("r2",)), ("ibm", ("cos",)), ("oci", ("oci",)), ("nebius", ("nebius",)),
    ("minio", ("minio",)), ("hf", ("hf",)))


def names() -> list[str]:
    """Every provider stix serves, sorted."""
    return sorted(_ENTRIES)


def _known() -> dict[str, str]:
    if _SPELLINGS:
        return _SPELLINGS
    spelled = _SPELLINGS
    for entry in _ENTRIES.values():
        spelled[entry.name] = entry.name
        spelled.update(dict.fromkeys(entry.aliases, entry.name))
    for name, aliases in ELSEWHERE.items():
        spelled.setdefault(name, name)
        for alias in aliases:
            spelled.setdefault(alias, name)
    return spelled


def canonical(name: str) -> str | None:
    """The provider a spelling means (served or not), or None when no cloud is called so."""
    return _known().get(name.strip().lower())


def served(name: str) -> bool:
    return name in _ENTRIES


def location_form(name: str) -> str:
    """How `infra: <name>/...` continues: "region" (region/zone) or "context"."""
    entry = _ENTRIES.get(name)
    return entry.location if entry else "region"


def stores() -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """store → (the served provider owning it or None, its URI schemes)."""
    out: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    for entry in _ENTRIES.values():
        for store, schemes in entry.stores:
            out[store] = (entry.name, schemes)
    for store, schemes in ELSEWHERE_STORES:
        out.setdefault(store, (None, schemes))
    return out


def store_of(cloud: str) -> str | None:
    """The store a provider's nodes reach with their own identity."""
    entry = _ENTRIES.get(cloud)
    return entry.stores[0][0] if entry and entry.stores else None


_LOADED: dict[str, Provider] = {}


def get(name: str) -> Provider:
    """The provider called `name` (an alias is fine), imported on first use."""
    key = canonical(name) or name
    found = _LOADED.get(key)
    if found is not None:
        return found
    entry = _ENTRIES.get(key)
    if entry is None:
        raise StixError(f"stix has no provider {name!r}; it serves {', '.join(names())}")
    module, _, attr = entry.target.partition(":")
    provider: Provider = getattr(importlib.import_module(module), attr)()
    _LOADED[key] = provider
    return provider


def cloud(name: str) -> Cloud:
    """The provider `name`, which must be one stix provisions through a stack."""
    from stix.clouds.base import Cloud

    provider = get(name)
    if not isinstance(provider, Cloud):
        raise StixError(f"{name} clusters run on existing machines; they have no stack",
                        hint="stix up runs them directly")
    return provider


def machines(name: str) -> Machines:
    from stix.clouds.base import Machines

    provider = get(name)
    if not isinstance(provider, Machines):
        raise StixError(f"{name} provisions machines through a stack")
    return provider


def all_clouds() -> list[Cloud]:
    """Every registered cloud (imports each cloud's package, not its SDK)."""
    from stix.clouds.base import Cloud

    return [p for p in (get(n) for n in names()) if isinstance(p, Cloud)]
