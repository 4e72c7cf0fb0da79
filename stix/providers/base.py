"""What every provider offers stix. A provider is one module under `stix/providers/`
holding one `Provider` subclass; adding a cloud touches that module and the registry line.

Capabilities are opt-in flags rather than a chain of `if cloud == ...` elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from stix.catalog.schema import Offer


@dataclass(frozen=True)
class CredentialStatus:
    """Whether stix can act on a cloud, and how the user can fix it when not."""

    cloud: str
    ok: bool
    detail: str
    hint: str | None = None
    sources: list[str] = field(default_factory=list)


class Provider:
    name: ClassVar[str]
    # Needs an IaC engine to create machines (aws/gcp/azure/kubernetes); `ssh`/`local` do not.
    provisions: ClassVar[bool] = True
    # Offers come from catalog_data/<name>/vms.csv unless the provider lists its own.
    uses_catalog: ClassVar[bool] = True

    def check_credentials(self, verify: bool = False) -> CredentialStatus:
        """Look for credentials (env vars, config files). `verify` asks the cloud; without
        it no network call is made."""
        raise NotImplementedError

    def offers(self) -> list[Offer]:
        """Offers outside the CSV catalog (existing machines, this machine)."""
        return []

    def offers_for(self, wants: Sequence[Any]) -> list[Offer]:
        """Offers for these requirements (`stix.optimizer.wants.Want`s). An elastic provider
        (Kubernetes: a pod is sized to the request) answers per requirement; the default
        is the fixed list of `offers()`."""
        return self.offers()
