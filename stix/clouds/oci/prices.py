"""OCI: the public price list (the cost estimator's products API; no account needed).

`GET .../cetools/api/v1/products/?currencyCode=USD` answers `{"items": [...]}` (pages
follow an ORDS `links` entry with `rel: next` while `hasMore` is true). Each item is one
part (`partNumber`, `displayName`, `metricName`, `serviceCategory`) with its prices under
`currencyCodeLocalizations[].prices[]` (`model`, `value`, and `rangeMin`/`rangeMax`
where the part is tiered, as Ampere A1's free tier is). The list prices parts, not shapes:
a flexible shape costs OCPUs × the OCPU part plus GB × the memory part, a GPU shape the
GPU count × its GPU part (`machines` holds which parts bill which shape). OCI prices a
part the same in every region, so a shape's rows go to the regions it is sold in (the
catalog in use, else the snapshot's availability). Preemptible capacity has no parts of
its own: OCI bills it at exactly half the on-demand price, so the preemptible price of a
VM shape is half the observed one (bare metal has none). Every row is observed, dated the
day it was read.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from stix.catalog.hardware import accelerator_memory
from stix.catalog.loader import Catalog
from stix.catalog.schema import NONE, OBSERVED, Offer
from stix.catalog.update import FetchError, FetchResult, Opener, read_json, redact
from stix.clouds.oci import machines, snapshot

API = "https://apexapps.oracle.com/pls/apex/cetools/api/v1/products/"
MAX_PAGES = 100  # the list is a few pages; a loop guard, not a limit


def _next_link(page: dict[str, Any]) -> str | None:
    if not page.get("hasMore"):
        return None
    for link in page.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return str(link["href"])
    return None


def items(opener: Opener, api: str = API) -> list[dict[str, Any]]:
    """Every part of the price list, following its pages."""
    url: str | None = f"{api}?currencyCode=USD"
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    while url:
        if url in seen or len(seen) >= MAX_PAGES:
            raise FetchError(f"{redact(url)}: the price list pages loop; giving up")
        seen.add(url)
        page = read_json(opener, url)
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise FetchError(f"{redact(url)}: not an OCI price list answer (no items list)")
        out.extend(i for i in page["items"] if isinstance(i, dict))
        url = _next_link(page)
    return out


def usd_payg(item: dict[str, Any]) -> float | None:
    """The part's pay-as-you-go USD price; for a tiered part, the rate of its top tier
    (what use beyond a free allowance costs)."""
    for local in item.get("currencyCodeLocalizations") or []:
        if not isinstance(local, dict) or local.get("currencyCode") != "USD":
            continue
        tiers = [p for p in local.get("prices") or [] if isinstance(p, dict)
                 and p.get("model") == "PAY_AS_YOU_GO"
                 and isinstance(p.get("value"), (int, float))]
        if tiers:
            top = max(tiers, key=lambda p: float(p.get("rangeMin") or 0))
            return float(top["value"])
    return None


def part_prices(parts: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in parts:
        number, value = item.get("partNumber"), usd_payg(item)
        if isinstance(number, str) and value is not None:
            out[number] = value
    return out


def fetch(opener: Opener, base: Catalog, *, regions: list[str] | None = None,
          api: str = API) -> FetchResult:  # fmt: skip
    result = FetchResult("oci", f"OCI price list ({api})")
    today = datetime.now(timezone.utc).date().isoformat()
    prices = part_prices(items(opener, api))
    sold: dict[str, set[str]] = {}
    for offer in base.for_cloud("oci"):
        sold.setdefault(offer.instance_type, set()).add(offer.region)
    for name, shape in sorted(machines.TYPES.items()):
        hourly = snapshot.price(name, prices)
        if hourly is None or hourly <= 0:
            result.skipped["a part billing the shape is not in the price list"] += 1
            continue
        where = sorted(sold.get(name) or snapshot.regions_of(name))
        spot = snapshot.spot(name, hourly)
        for region in where:
            if regions and region not in regions:
                continue
            result.offers.append(Offer(
                "oci", name, shape.vcpus, shape.memory_gib, shape.accelerator,
                float(shape.count), accelerator_memory(shape.accelerator), region, None,
                round(hourly, 6), None if spot is None else round(spot, 6), shape.arch,
                OBSERVED, OBSERVED if spot is not None else NONE, today))
    result.notes.append("shapes priced from their parts (OCPU, memory, GPU); one price in "
                        "every region; preemptible (VM shapes) at OCI's fixed half of the "
                        "observed on-demand price")
    return result
