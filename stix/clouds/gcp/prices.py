"""GCP: the Cloud Billing Catalog API (Compute Engine SKUs; needs an API key).

The billing catalog prices resources, not machines: a vCPU-hour and a GiB-hour per
machine family and region, a GPU-hour per GPU model and region, with `Preemptible`
SKUs for spot. A machine's $/h is vCPUs × core + memory × RAM (+ GPUs). The Compute API
that lists machine types and zones needs OAuth credentials, so the shapes come from the
published type list kept beside this fetcher (`machines.TYPES`, GPU pairings from
`pairing`): every published type is priced in every region whose SKUs price its family,
in the zones the catalog in use knows for it there, else in every zone of the region
(the billing catalog has no per-zone availability; a zone without the type fails over
at launch). Rows of the catalog in use are priced afresh too. A missing SKU skips a row.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

from stix.catalog.loader import Catalog
from stix.catalog.schema import NONE, OBSERVED, Offer
from stix.catalog.update import CredentialsError, FetchError, FetchResult, Opener, read_json

API = "https://cloudbilling.googleapis.com/v1"
COMPUTE_SERVICE = "6F81-5844-456A"  # Compute Engine's service id in the billing catalog

# Machine family → the words its core/RAM SKUs are described with.
FAMILY_SKU = {
    "n1": "N1 Predefined Instance", "n2": "N2 Instance", "n2d": "N2D AMD Instance",
    "n4": "N4 Instance", "e2": "E2 Instance", "c2": "Compute optimized",
    "c2d": "C2D AMD Instance", "c3": "C3 Instance", "c3d": "C3D Instance", "c4": "C4 Instance",
    "c4a": "C4A Arm Instance", "t2a": "T2A Arm Instance", "t2d": "T2D AMD Instance",
    "m1": "Memory-optimized Instance", "m3": "M3 Memory-optimized Instance",
    "a2": "A2 Instance", "a3": "A3 Instance", "a4": "A4 Instance", "g2": "G2 Instance",
    "g4": "G4 Instance", "c4d": "C4D Instance",
}  # fmt: skip

# GPU → the words of its GPU SKU (checked in order; the longer names first).
GPU_SKU = {
    "A100-80GB": "A100 80GB GPU", "A100": "A100 GPU", "H100-MEGA": "H100 80GB Mega GPU",
    "H100": "H100 80GB GPU", "H200": "H200 141GB GPU", "B200": "B200", "L4": "L4 GPU",
    "T4": "T4 GPU", "P4": "P4 GPU", "V100": "V100 GPU", "P100": "P100 GPU", "K80": "K80 GPU",
    "RTXPRO6000": "RTX 6000 96GB",
}  # fmt: skip

# Not list prices: committed use, reservations, and Dynamic Workload Scheduler (Flex-start,
# calendar mode, "DWS Defined Duration") rates.
_EXCLUDE = ("custom", "sole tenancy", "premium", "reserved", "commitment", "dws", "calendar",
            "extended", "flex", "defined duration")  # fmt: skip


def resolve_api_key(explicit: str | None = None) -> str:
    """The API key: given, or $GOOGLE_API_KEY / $STIX_GCP_API_KEY; else a clear error."""
    key = explicit or os.environ.get("GOOGLE_API_KEY") or os.environ.get("STIX_GCP_API_KEY")
    if not key:
        raise CredentialsError(
            "gcp: the Cloud Billing Catalog API needs an API key, and none is set",
            hint="create one (APIs & Services → Credentials, with the Cloud Billing API "
                 "enabled) and export GOOGLE_API_KEY=<key>, or update the other clouds "
                 "with clouds=['aws', 'azure'] (--cloud aws --cloud azure)")  # fmt: skip
    return key


def skus(opener: Opener, key: str, api: str = API) -> Iterator[dict[str, object]]:
    """Every Compute Engine SKU, following nextPageToken."""
    token = ""
    seen: set[str] = set()
    while True:
        query = {"key": key, "pageSize": "5000", **({"pageToken": token} if token else {})}
        url = f"{api}/services/{COMPUTE_SERVICE}/skus?{urllib.parse.urlencode(query)}"
        page = read_json(opener, url)
        if not isinstance(page, dict):
            raise FetchError(f"{api}/services/{COMPUTE_SERVICE}/skus: not a SKU list")
        for sku in page.get("skus", []):
            if isinstance(sku, dict):
                yield sku
        token = str(page.get("nextPageToken") or "")
        if not token:
            return
        if token in seen:
            raise FetchError(f"{api}/services/{COMPUTE_SERVICE}/skus: the pages loop; giving up")
        seen.add(token)


def unit_price(sku: dict[str, object]) -> float | None:
    """$ per unit (hour, or GiB-hour) of the SKU's current first tier."""
    try:
        info = sku["pricingInfo"][-1]["pricingExpression"]  # type: ignore[index]
        rate = info["tieredRates"][-1]["unitPrice"]
        if rate.get("currencyCode", "USD") != "USD":
            return None
        return int(rate.get("units") or 0) + int(rate.get("nanos") or 0) / 1e9
    except (KeyError, IndexError, TypeError, ValueError):
        return None


@dataclass
class PriceBook:
    """(kind, what, region, spot) → $/unit; kind is core, ram or gpu."""

    prices: dict[tuple[str, str, str, bool], float]

    def get(self, kind: str, what: str, region: str, spot: bool) -> float | None:
        return self.prices.get((kind, what, region, spot))


def price_book(all_skus: Iterator[dict[str, object]]) -> PriceBook:
    prices: dict[tuple[str, str, str, bool], float] = {}
    for sku in all_skus:
        category = sku.get("category")
        if not isinstance(category, dict) or category.get("resourceFamily") != "Compute":
            continue
        usage = category.get("usageType")
        if usage not in ("OnDemand", "Preemptible"):
            continue
        text = str(sku.get("description", ""))
        if any(word in text.lower() for word in _EXCLUDE):
            continue
        price = unit_price(sku)
        regions = sku.get("serviceRegions")
        if price is None or not isinstance(regions, list):
            continue
        spot = usage == "Preemptible"
        for kind, what in _classify(text, str(category.get("resourceGroup", ""))):
            for region in regions:
                prices.setdefault((kind, what, str(region), spot), price)
    return PriceBook(prices)


def _classify(text: str, group: str) -> list[tuple[str, str]]:
    if group == "GPU":
        for name, words in GPU_SKU.items():
            if words in text:
                return [("gpu", name)]
        return []
    kind = "core" if "Core" in text else "ram" if "Ram" in text else None
    if kind is None:
        return []
    # The longest matching description wins ("N2D AMD Instance" over "N2 Instance").
    found = [(len(words), family) for family, words in FAMILY_SKU.items() if words in text]
    return [(kind, max(found)[1])] if found else []


def reprice(offer: Offer, book: PriceBook, spot: bool) -> float | None:
    family = offer.instance_type.split("-", 1)[0]
    core = book.get("core", family, offer.region, spot)
    ram = book.get("ram", family, offer.region, spot)
    if core is None or ram is None:
        return None
    total = offer.vcpus * core + offer.memory_gib * ram
    if offer.accelerator:
        gpu = book.get("gpu", offer.accelerator, offer.region, spot)
        if gpu is None:
            return None
        total += gpu * offer.accelerator_count
    return round(total, 6)


def published_rows(book: PriceBook, base: Catalog,
                   regions: list[str] | None) -> list[Offer]:
    """Every published machine type (and N1 + GPU pairing) in every region whose SKUs
    price its family, unpriced; zones as the module doc says."""
    from stix.catalog.hardware import accelerator_memory
    from stix.clouds.gcp import pairing
    from stix.clouds.gcp.machines import TYPES
    from stix.clouds.gcp.snapshot import GCP_ZONES

    zones: dict[tuple[str, str], set[str]] = {}
    region_zones: dict[str, set[str]] = {r: {f"{r}-{z}" for z in zs} for r, zs in GCP_ZONES.items()}
    for o in base.for_cloud("gcp"):
        if o.zone:
            zones.setdefault((o.instance_type, o.region), set()).add(o.zone)
            region_zones.setdefault(o.region, set()).add(o.zone)
    priced = {(fam, region) for kind, fam, region, spot in book.prices if kind == "core"}
    gpus = {(name, region) for kind, name, region, spot in book.prices if kind == "gpu"}
    out: list[Offer] = []
    for (family, region) in sorted(priced):
        if regions and region not in regions:
            continue
        for t in TYPES.values():
            if t.shared_core or t.name.split("-", 1)[0] != family:
                continue
            where = zones.get((t.name, region)) or region_zones.get(region, set())
            pairs = [(t.accelerator, float(t.count))]
            if family == "n1":
                pairs += [(g, float(n)) for g, limits in pairing.N1_LIMITS.items()
                          for n in limits if (g, region) in gpus
                          and pairing.n1_host_fits(g, n, t.vcpus, t.memory_gib)]  # fmt: skip
            for acc, count in pairs:
                for zone in sorted(where):
                    out.append(Offer("gcp", t.name, t.vcpus, t.memory_gib, acc,
                                     count if acc else 0.0, accelerator_memory(acc), region, zone,
                                     0.0, None, t.arch))  # fmt: skip
    return out


def fetch(opener: Opener, base: Catalog, *, api_key: str | None = None,
          regions: list[str] | None = None, api: str = API) -> FetchResult:  # fmt: skip
    from datetime import datetime, timezone

    from stix.clouds.gcp.tpu import is_tpu

    key = resolve_api_key(api_key)
    result = FetchResult("gcp", f"Cloud Billing Catalog API ({api}, service {COMPUTE_SERVICE})")
    today = datetime.now(timezone.utc).date().isoformat()
    book = price_book(skus(opener, key, api))
    rows: dict[tuple[object, ...], Offer] = {}
    for o in [*published_rows(book, base, regions),
              *(o for o in base.for_cloud("gcp") if not regions or o.region in regions)]:
        rows.setdefault((o.instance_type, o.region, o.zone, o.accelerator, o.accelerator_count), o)
    if not rows:
        raise FetchError("gcp: no machine type could be priced from the billing catalog",
                         hint="its answer held no Compute Engine core/RAM SKUs for the regions "
                              "asked")
    for offer in rows.values():
        if offer.accelerator and is_tpu(offer.accelerator):
            result.skipped["Cloud TPU VM: this fetcher reads no TPU SKUs (the shipped snapshot "
                           "prices them; a catalog written by this update offers no TPU)"] += 1
            continue
        price = reprice(offer, book, spot=False)
        if price is None:
            what = f"{offer.instance_type.split('-', 1)[0]}" + (
                f" + {offer.accelerator}" if offer.accelerator else "")  # fmt: skip
            result.skipped[f"no on-demand SKU price for {what} in {offer.region}"] += 1
            continue
        spot = reprice(offer, book, True)
        # A spot price the billing catalog does not give is dropped, never kept estimated.
        result.offers.append(offer._replace(price=price, spot_price=spot, price_source=OBSERVED,
                                     spot_source=OBSERVED if spot is not None else NONE,
                                     as_of=today))
    result.notes.append("machine shapes and GPU pairings from stix's published GCP type list "
                        "(and the catalog in use), zones from the catalog in use or the region's "
                        "zones; prices from the billing catalog")  # fmt: skip
    return result
