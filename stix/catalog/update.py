"""`stix catalog update`: refresh the catalog from the clouds' public price sources.

Each cloud's fetcher (`stix/clouds/<name>/prices.py`, reached as `Cloud.fetch_prices`)
turns its source's answers into complete `Offer` rows. The
sources give prices, and not always shapes or zones: where a source lacks them, the
fetcher takes them from the catalog in use (`base`) and says so in its notes.
All network access goes through an `Opener` so tests can serve recorded pages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from stix.errors import StixError

if TYPE_CHECKING:
    from stix.catalog.loader import Catalog
    from stix.catalog.schema import Offer

# url → an open binary stream of the body (closed by the caller).
Opener = Callable[[str], IO[bytes]]



def updatable_clouds() -> list[str]:
    """The clouds with a price source stix can read."""
    from stix.clouds import registry

    return [c.name for c in registry.all_clouds() if c.price_source is not None]


class FetchError(StixError):
    """A price source could not be read (network, HTTP status, or an unexpected answer)."""


class CredentialsError(StixError):
    """A price source needs a credential that is not configured."""

    exit_code = 4


@dataclass
class FetchResult:
    cloud: str
    source: str
    offers: list[Offer] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"cloud": self.cloud, "source": self.source, "rows": len(self.offers),
                "skipped": dict(self.skipped), "notes": self.notes}  # fmt: skip


def redact(url: str) -> str:
    """The URL without secrets (an API key in the query) for messages."""
    import re

    return re.sub(r"([?&]key=)[^&]+", r"\1***", url)


def http_opener(timeout: float = 60.0) -> Opener:
    """The real network: GET with urllib, failures as FetchError naming the URL."""
    import urllib.error
    import urllib.request

    def open_url(url: str) -> IO[bytes]:
        request = urllib.request.Request(url, headers={"User-Agent": "stix-catalog-update"})
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise FetchError(f"cannot fetch {redact(url)}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FetchError(f"cannot fetch {redact(url)}: {reason}") from None

    return open_url


def read_json(opener: Opener, url: str) -> object:
    """GET `url` and parse it as JSON; every failure is a FetchError naming the URL."""
    import json

    try:
        with opener(url) as body:
            data = body.read()
    except FetchError:
        raise
    except OSError as exc:
        raise FetchError(f"cannot fetch {redact(url)}: {exc}") from None
    try:
        return json.loads(data)
    except ValueError as exc:
        raise FetchError(f"{redact(url)}: the answer is not JSON ({exc})") from None


@dataclass
class UpdateResult:
    out: Path
    results: list[FetchResult]

    def to_json(self) -> dict[str, object]:
        return {"out": str(self.out), "clouds": [r.to_json() for r in self.results]}


def update_catalog(clouds: Iterable[str] | None, out: Path, *, base: Catalog | None = None,
                   opener: Opener | None = None, regions: Iterable[str] | None = None,
                   ) -> UpdateResult:  # fmt: skip
    """Fetch every asked cloud, then write them all; a failed fetch writes nothing."""
    from stix.catalog.loader import clear_cache, load_catalog, write_cloud_csv
    from stix.clouds import registry
    from stix.errors import UsageError

    known = updatable_clouds()
    wanted = list(dict.fromkeys(clouds)) if clouds else known
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise UsageError(f"clouds (--cloud) {', '.join(unknown)}: stix updates "
                         f"{', '.join(known)}")
    base = base if base is not None else load_catalog()
    opener = opener or http_opener()
    region_list = list(regions) if regions else None
    results = []
    for cloud in wanted:
        provider = registry.cloud(cloud)
        result = provider.fetch_prices(opener, base, regions=region_list)
        # A price list can outlive the machines: a type the cloud retired would plan, then
        # fail to launch.
        kept_offers = [o for o in result.offers if provider.retired_fact(o.instance_type) is None]
        if len(kept_offers) < len(result.offers):
            result.skipped["type retired by the cloud"] += len(result.offers) - len(kept_offers)
            result.offers = kept_offers
        if not result.offers:
            why = "; ".join(f"{n} skipped: {reason}" for reason, n in result.skipped.items())
            raise FetchError(f"{cloud}: {result.source} gave no usable rows; nothing was written",
                             hint=why or None)
        results.append(result)
    for result in results:
        if region_list:
            # --region refreshes those regions; the cloud's other regions keep their rows
            # (and the provenance those rows carry).
            result.offers = [o for o in result.offers if o.region in region_list]
            kept = [o for o in base.for_cloud(result.cloud) if o.region not in region_list]
            if kept:
                result.notes.append(f"{len(kept)} rows of other regions kept from the catalog "
                                    "in use")
            result.offers.extend(kept)
        write_cloud_csv(out, result.cloud, result.offers, source=result.source)
    clear_cache()
    # Parse (and check) the new files now, so the next command reads them from the parse
    # cache instead of paying the cold parse (the background refresh runs this too).
    load_catalog(out, clouds=[r.cloud for r in results])
    return UpdateResult(Path(out), results)


def shapes_of(base: Catalog, cloud: str) -> dict[str, Offer]:
    """instance type → one offer of it in `base` (its vCPUs, memory, GPUs, arch)."""
    out: dict[str, Offer] = {}
    for offer in base.for_cloud(cloud):
        out.setdefault(offer.instance_type, offer)
    return out
