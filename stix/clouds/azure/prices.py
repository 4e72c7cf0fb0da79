"""Azure: the Retail Prices API (public, no credentials), followed page by page.

The API prices each VM size per region (`armSkuName`, `armRegionName`), with spot as
separate meters ("D2s v5 Spot") and Windows as separate products. It does not give the
sizes' vCPUs, memory or GPUs: those come from the published size list kept beside this
fetcher (`machines.TYPES`), then from the catalog in use; a size neither knows is skipped
(and counted), never guessed. Every price written is observed, dated the day it was read.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

from stix.catalog.hardware import accelerator_memory
from stix.catalog.loader import Catalog
from stix.catalog.schema import NONE, OBSERVED, Offer
from stix.catalog.update import FetchError, FetchResult, Opener, read_json, redact, shapes_of

API = "https://prices.azure.com/api/retail/prices"
MAX_PAGES = 5000  # the whole VM price list is ~1000 pages of 100; a loop guard, not a limit


def query_url(region: str | None = None, api: str = API) -> str:
    terms = ["serviceName eq 'Virtual Machines'", "priceType eq 'Consumption'"]
    if region:
        terms.append(f"armRegionName eq '{region}'")
    return f"{api}?$filter=" + urllib.parse.quote(" and ".join(terms))


def pages(opener: Opener, url: str) -> Iterator[list[dict[str, object]]]:
    """Each page's Items, following NextPageLink until it is empty."""
    seen: set[str] = set()
    next_url: str | None = url
    while next_url:
        if next_url in seen or len(seen) >= MAX_PAGES:
            raise FetchError(f"{redact(next_url)}: the price list pages loop; giving up")
        seen.add(next_url)
        page = read_json(opener, next_url)
        if not isinstance(page, dict) or not isinstance(page.get("Items"), list):
            raise FetchError(f"{redact(next_url)}: not a Retail Prices answer (no Items list)")
        items = [i for i in page["Items"] if isinstance(i, dict)]
        yield items
        link = page.get("NextPageLink")
        next_url = link if isinstance(link, str) and link and items else None


@dataclass
class _Price:
    price: float | None = None
    price_date: str = ""
    spot: float | None = None
    spot_date: str = ""


def _linux_consumption(item: dict[str, object]) -> bool:
    product = str(item.get("productName", ""))
    return (item.get("type") == "Consumption" and item.get("unitOfMeasure") == "1 Hour"
            and item.get("currencyCode", "USD") == "USD"
            and not any(w in product for w in (" Windows", " Win", "Cloud Services"))
            and not str(item.get("skuName", "")).endswith("Low Priority"))  # fmt: skip


def collect_prices(opener: Opener, url: str) -> dict[tuple[str, str], _Price]:
    """(size, region) → latest on-demand and spot $/h from every page under `url`."""
    prices: dict[tuple[str, str], _Price] = {}
    for items in pages(opener, url):
        for item in items:
            size, region = str(item.get("armSkuName") or ""), str(item.get("armRegionName") or "")
            value = item.get("retailPrice")
            if not size or not region or not isinstance(value, (int, float)) or value <= 0:
                continue
            if not _linux_consumption(item):
                continue
            entry = prices.setdefault((size, region.lower()), _Price())
            date = str(item.get("effectiveStartDate", ""))
            if str(item.get("skuName", "")).endswith(" Spot"):
                if entry.spot is None or date >= entry.spot_date:
                    entry.spot, entry.spot_date = float(value), date
            elif entry.price is None or date >= entry.price_date:
                entry.price, entry.price_date = float(value), date
    return prices


def fetch(opener: Opener, base: Catalog, *, regions: list[str] | None = None,
          api: str = API) -> FetchResult:  # fmt: skip
    urls = [query_url(r, api) for r in regions] if regions else [query_url(None, api)]
    from datetime import datetime, timezone

    from stix.clouds.azure.machines import TYPES

    result = FetchResult("azure", f"Azure Retail Prices API ({api})")
    today = datetime.now(timezone.utc).date().isoformat()
    shapes = shapes_of(base, "azure")
    prices: dict[tuple[str, str], _Price] = {}
    for url in urls:
        prices.update(collect_prices(opener, url))
    for (size, region), p in sorted(prices.items()):
        published = TYPES.get(size)
        shape = shapes.get(size)
        if published is not None:
            shape = Offer("azure", size, published.vcpus, published.memory_gib,
                          published.accelerator, float(published.count),
                          accelerator_memory(published.accelerator), region, None, 0.0, None,
                          published.arch)
        if shape is None:
            result.skipped["size not in stix's published size list or the current catalog (no "
                           "vCPU/memory/GPU figures)"] += 1
            continue
        if p.price is None:
            result.skipped["spot price only, no on-demand price"] += 1
            continue
        spot = None if p.spot is None else round(p.spot, 6)
        result.offers.append(Offer(
            "azure", size, shape.vcpus, shape.memory_gib, shape.accelerator,
            shape.accelerator_count, shape.accelerator_memory_gib, region, None,
            round(p.price, 6), spot, shape.arch, OBSERVED, OBSERVED if spot is not None else NONE,
            today))
    result.notes.append("vCPU, memory and GPU figures from stix's published size list (else the "
                        "current catalog); on-demand and spot prices observed")
    return result
