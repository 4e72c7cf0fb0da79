"""AWS: the public Price List bulk files (no credentials): offer index → region index →
one price list per region, read as CSV (streamed; the JSON of a big region is GBs).

A row is kept when it is a Linux, shared-tenancy, no-license, no-preinstalled-software
on-demand hour of a `Compute Instance`. Every region of the price list is read unless
`--region` narrows it. The price list names no accelerator model and has no spot prices
or zones: the accelerator comes from the published type list (`machines.ACCELERATED`),
spot prices and zones from `spot.py` (EC2 spot price history per zone with credentials,
else the public spot feed per region, zones then from the catalog in use). A type with
no observed spot price gets none: an estimate is never kept beside observed prices.
"""

from __future__ import annotations

import codecs
import csv
import re
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timezone

from stix.catalog.hardware import accelerator_memory, infer_arch
from stix.catalog.loader import Catalog
from stix.catalog.schema import NONE, OBSERVED, Offer
from stix.catalog.update import FetchError, FetchResult, Opener, read_json, redact, shapes_of
from stix.clouds.aws.machines import ACCELERATED
from stix.clouds.aws.spot import FEED, SpotPrices, observed_spot

HOST = "https://pricing.us-east-1.amazonaws.com"
OFFER_INDEX = "/offers/v1.0/aws/index.json"

# GPU model of the GPU instance families (the price list gives only the count).
FAMILY_GPU = {
    "g4dn": "T4", "g5": "A10G", "g5g": "T4g", "g6": "L4", "g6e": "L40S", "gr6": "L4",
    "p3": "V100", "p3dn": "V100-32GB", "p4d": "A100", "p4de": "A100-80GB", "p5": "H100",
    "p5e": "H200", "p5en": "H200", "p6-b200": "B200", "p6-b300": "B300", "g6f": "L4",
}  # fmt: skip

_WANT = {"Operating System": "Linux", "Tenancy": "Shared", "Pre Installed S/W": "NA",
         "License Model": "No License required", "TermType": "OnDemand",
         "Product Family": "Compute Instance"}  # fmt: skip


def _number(text: str) -> float | None:
    match = re.match(r"^\s*([\d,]*\.?\d+)", text or "")
    return float(match.group(1).replace(",", "")) if match else None


def region_urls(opener: Opener, host: str = HOST, fmt: str = "csv") -> dict[str, str]:
    """region code → absolute URL of its EC2 price list (`fmt`: csv or json)."""
    index_url = host + OFFER_INDEX
    index = read_json(opener, index_url)
    try:
        region_index = index["offers"]["AmazonEC2"]["currentRegionIndexUrl"]  # type: ignore[index]
    except (KeyError, TypeError):
        raise FetchError(f"{index_url}: the offer index has no AmazonEC2 region index") from None
    regions_url = urllib.parse.urljoin(host, str(region_index))
    regions = read_json(opener, regions_url)
    if not isinstance(regions, dict) or not isinstance(regions.get("regions"), dict):
        raise FetchError(f"{regions_url}: not a region index (no regions)")
    out = {}
    for code, entry in regions["regions"].items():
        url = entry.get("currentVersionUrl") if isinstance(entry, dict) else None
        if isinstance(url, str):
            out[code] = urllib.parse.urljoin(host, re.sub(r"\.json$", f".{fmt}", url))
    return out


def price_rows(opener: Opener, url: str) -> Iterator[dict[str, str]]:
    """The data rows of one region's CSV price list (after its five preamble lines)."""
    try:
        with opener(url) as body:
            lines = codecs.iterdecode(body, "utf-8")
            reader = csv.reader(lines)
            header: list[str] | None = None
            for row in reader:
                if header is None:
                    if "SKU" in row and "Instance Type" in row:
                        header = row
                    elif reader.line_num > 20:
                        raise FetchError(f"{redact(url)}: no price list header in the first lines")
                    continue
                yield dict(zip(header, row, strict=False))
            if header is None:
                raise FetchError(f"{redact(url)}: empty price list")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FetchError(f"cannot read {redact(url)}: {exc}") from None


def json_price_rows(document: object) -> Iterator[dict[str, str]]:
    """The same rows from a price list in its JSON form (products + OnDemand terms)."""
    if not isinstance(document, dict):
        return
    terms = document.get("terms", {}).get("OnDemand", {})
    for sku, product in document.get("products", {}).items():
        attrs = product.get("attributes", {})
        for term in terms.get(sku, {}).values():
            for dim in term.get("priceDimensions", {}).values():
                yield {"Product Family": product.get("productFamily", ""), "TermType": "OnDemand",
                       "Instance Type": attrs.get("instanceType", ""),
                       "vCPU": attrs.get("vcpu", ""),
                       "Memory": attrs.get("memory", ""), "GPU": attrs.get("gpu", ""),
                       "Operating System": attrs.get("operatingSystem", ""),
                       "Tenancy": attrs.get("tenancy", ""),
                       "Pre Installed S/W": attrs.get("preInstalledSw", ""),
                       "License Model": attrs.get("licenseModel", ""),
                       "Capacity Status": attrs.get("capacitystatus", "Used"),
                       "Region Code": attrs.get("regionCode", ""), "Unit": dim.get("unit", ""),
                       "Currency": "USD",
                       "PricePerUnit": dim.get("pricePerUnit", {}).get("USD", "")}  # fmt: skip


def fetch(opener: Opener, base: Catalog, *, regions: list[str] | None = None,
          host: str = HOST, fmt: str = "csv", spot: SpotPrices | None = None,
          spot_feed: str = FEED) -> FetchResult:
    result = FetchResult("aws", f"AWS Price List bulk files ({host}{OFFER_INDEX})")
    urls = region_urls(opener, host, fmt)
    wanted = regions or sorted(urls)
    missing = [r for r in wanted if r not in urls]
    if missing:
        raise FetchError(f"{host}{OFFER_INDEX}: no EC2 price list for region {', '.join(missing)}")
    if spot is None:
        spot = observed_spot(opener, wanted, notes=result.notes, feed=spot_feed)
    today = datetime.now(timezone.utc).date().isoformat()
    known = shapes_of(base, "aws")
    zones: dict[tuple[str, str], list[str]] = {}
    for offer in base.for_cloud("aws"):
        if offer.zone:
            zones.setdefault((offer.instance_type, offer.region), []).append(offer.zone)
    for region in wanted:
        url = urls[region]
        rows = json_price_rows(read_json(opener, url)) if url.endswith(".json") else (
            price_rows(opener, url))  # fmt: skip
        prices: dict[str, dict[str, str]] = {}
        for row in rows:
            if any(row.get(k) != v for k, v in _WANT.items()):
                continue
            if row.get("Capacity Status", "Used") != "Used" or row.get("Unit") != "Hrs":
                continue
            if row.get("Currency", "USD") != "USD":
                continue
            prices.setdefault(row.get("Instance Type", ""), row)
        for itype, row in sorted(prices.items()):
            fresh = _offer(itype, row, region, known.get(itype), result)
            if fresh is None:
                continue
            fresh = fresh._replace(price_source=OBSERVED, as_of=today)
            where = spot.zones.get((itype, region)) or sorted(set(zones.get((itype, region), [])))
            places: list[str | None] = list(where) or [None]
            for zone in places:
                price = spot.zone_price(itype, zone, region)
                result.offers.append(fresh._replace(
                    zone=zone, spot_price=None if price is None else round(price, 6),
                    spot_source=OBSERVED if price is not None else NONE,
                    as_of=spot.as_of or today if price is not None else today))
    without = sum(1 for o in result.offers if o.spot_price is None)
    result.notes.append(f"on-demand prices from the price list; spot prices from {spot.source}"
                        + (f"; {without} rows had no observed spot price and are on-demand "
                           "only" if without else ""))  # fmt: skip
    return result


def _offer(itype: str, row: dict[str, str], region: str, shape: Offer | None,
           result: FetchResult) -> Offer | None:  # fmt: skip
    price, vcpus, memory = (_number(row.get(k, "")) for k in ("PricePerUnit", "vCPU", "Memory"))
    if not itype or price is None or price <= 0 or vcpus is None or memory is None:
        result.skipped["no price, vCPU or memory figure"] += 1
        return None
    gpus = _number(row.get("GPU", "")) or 0.0
    name = shape.accelerator if shape is not None else None
    published = ACCELERATED.get(itype)
    if published is not None:  # the type list names the part and count (Neuron, Gaudi too)
        name, gpus = published[2], published[3]
    if gpus and name is None:
        name = FAMILY_GPU.get(itype.split(".", 1)[0])
    if gpus and name is None:
        result.skipped["GPU model unknown (family not in the catalog)"] += 1
        return None
    mem = shape.accelerator_memory_gib if shape is not None and shape.accelerator else (
        accelerator_memory(name))  # fmt: skip
    return Offer("aws", itype, vcpus, memory, name if gpus else None, gpus if name else 0.0,
                 mem if gpus else None, region, None, round(price, 6), None,
                 shape.arch if shape is not None else infer_arch("aws", itype))  # fmt: skip

