"""Vast: the live offer search (`GET /api/v0/bundles/?q=<JSON query>`), which answers
without an account for the public marketplace.

Every rentable, verified offer with at least one GPU comes back with its host's shape and
prices: `dph_total` (on-demand $/h, storage at the searched allocation included) and
`min_bid` (the lowest interruptible bid, which is Vast's spot market). Offers are bucketed
into instance types by shape (`machines.shape_of`) and priced per bucket and country
(`geolocation` "City, CC" → region `CC`) at the median of its offers, as SkyPilot's Vast
catalog does: the cheapest offer is the one most likely gone when a task is applied. The
market changes by the minute; every price written is observed, dated the day read.
"""

from __future__ import annotations

import json
import statistics
import urllib.parse
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from stix.catalog.hardware import accelerator_memory
from stix.catalog.loader import Catalog
from stix.catalog.schema import OBSERVED, Offer
from stix.catalog.update import FetchError, FetchResult, Opener, read_json
from stix.clouds.vast.api import API
from stix.clouds.vast.machines import Shape, accelerator_name, shape_of

LIMIT = 5000  # offers in one answer; the marketplace lists a few thousand GPU hosts
STORAGE_GB = 64  # the allocation `dph_total` is quoted at (Vast's search default is 8)


def query(limit: int = LIMIT) -> dict[str, Any]:
    return {"rentable": {"eq": True}, "verified": {"eq": True}, "num_gpus": {"gte": 1},
            "type": "ondemand", "allocated_storage": STORAGE_GB, "limit": limit}


def url(api: str = API, limit: int = LIMIT) -> str:
    return f"{api}/bundles/?q={urllib.parse.quote(json.dumps(query(limit)))}"


def region_of(geolocation: Any) -> str | None:
    """`"Sweden, SE"` → `SE` (a host may say only its country, or nothing)."""
    if not isinstance(geolocation, str) or not geolocation.strip():
        return None
    code = geolocation.rsplit(",", 1)[-1].strip()
    return code.upper() if len(code) == 2 and code.isalpha() else None


def fetch(opener: Opener, base: Catalog, *, regions: list[str] | None = None,
          api: str = API) -> FetchResult:  # fmt: skip
    source = f"Vast offer search ({api}/bundles/, live marketplace)"
    result = FetchResult("vast", source)
    answer = read_json(opener, url(api))
    offers = answer.get("offers") if isinstance(answer, dict) else None
    if not isinstance(offers, list):
        raise FetchError(f"{source}: not a search answer (no offers list)")
    today = datetime.now(timezone.utc).date().isoformat()
    wanted = {r.upper() for r in regions} if regions else None
    buckets: dict[tuple[Shape, str], list[dict[str, Any]]] = defaultdict(list)
    for offer in offers:
        if not isinstance(offer, dict):
            continue
        shape = shape_of(offer)
        region = region_of(offer.get("geolocation"))
        price = offer.get("dph_total")
        if shape is None:
            result.skipped["no whole GPU, vCPUs or RAM"] += 1
        elif str(offer.get("cpu_arch") or "amd64") != "amd64":
            result.skipped["not an x86_64 host"] += 1
        elif region is None:
            result.skipped["host without a country in its geolocation"] += 1
        elif not (isinstance(price, (int, float)) and price > 0):
            result.skipped["no on-demand price"] += 1
        elif wanted is None or region in wanted:
            buckets[(shape, region)].append(offer)
    for (shape, region), found in sorted(buckets.items(), key=lambda b: (b[0][0].name, b[0][1])):
        memory = [o["gpu_ram"] / 1024 for o in found if isinstance(o.get("gpu_ram"), (int, float))]
        seen_gib = round(min(memory)) if memory else None
        name = accelerator_name(shape.gpu_name, seen_gib)
        # The data sheet's size where stix knows it (hosts report a little less, 45 of 48).
        gpu_gib = accelerator_memory(name) or seen_gib
        bids = [float(o["min_bid"]) for o in found
                if isinstance(o.get("min_bid"), (int, float)) and o["min_bid"] > 0]
        price = round(statistics.median_low(float(o["dph_total"]) for o in found), 4)
        spot = round(min(statistics.median_low(bids), price), 4) if bids else None
        result.offers.append(Offer(
            "vast", shape.name, float(shape.vcpus), float(shape.memory_gib),
            name, float(shape.gpus), gpu_gib, region,
            None, price, spot, "x86_64", OBSERVED, OBSERVED, today))  # fmt: skip
    result.notes.append(f"{sum(len(f) for f in buckets.values())} offers in "
                        f"{len(buckets)} (type, country) buckets, each priced at its median "
                        f"offer (on-demand with {STORAGE_GB} GB of storage; spot: the median "
                        "minimum bid); a live market: the host is chosen at apply time")
    return result
