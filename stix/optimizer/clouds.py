"""Which clouds a plan considers: those with credentials here, or, when none has any,
every cloud in the catalog (planning never needs credentials)."""

from __future__ import annotations

from stix.providers.base import CredentialStatus


def credential_report(verify: bool = False) -> list[CredentialStatus]:
    """Every registered provider's credential status, by name."""
    from stix import providers

    return [providers.get(name).check_credentials(verify) for name in providers.names()]


def default_clouds(catalog_clouds: list[str]) -> tuple[list[str] | None, str]:
    """(clouds to pass to `optimize`, a note for the user). None means every catalog cloud."""
    from stix import providers

    ready = []
    for name in catalog_clouds:
        if name not in providers.names():
            continue
        provider = providers.get(name)
        if provider.uses_catalog and provider.check_credentials(verify=False).ok:
            ready.append(name)
    if not ready:
        return None, ("no cloud credentials found: considering every catalog cloud "
                      "(planning needs none; `stix check` tells how to add them)")
    return ready, f"considering clouds with credentials: {', '.join(ready)}"
