"""Lambda: the Cloud API's `GET /instance-types`, which needs an API key (there is no
public price list API). Each type comes with its shape (`specs`: vcpus, memory_gib, gpus),
its GPU (`gpu_description`) and `price_cents_per_hour`, the same in every region, and the
regions with capacity right now.

Capacity comes and goes by the hour, so a type is written in the regions that have it now
and in those the catalog in use already lists for it; every price written is observed,
dated the day it was read. A type whose GPU stix cannot name is skipped and counted.
Lambda sells no spot instances: every row says so (`spot_source` none)."""

from __future__ import annotations

import re
from typing import Any

from stix.catalog.hardware import accelerator_memory
from stix.catalog.loader import Catalog
from stix.catalog.schema import NONE, OBSERVED, Offer
from stix.catalog.update import CredentialsError, FetchError, FetchResult
from stix.clouds.lambda_cloud.api import API, KEY_ENV, KEY_FILE, api_key
from stix.clouds.lambda_cloud.machines import TYPES, infer_arch

# Lambda's GPU descriptions ("H100 (80 GB SXM5)", "A100 (40 GB PCIe)") → stix's names.
_GPU = (
    (r"^GH200", "GH200"), (r"^B200", "B200"), (r"^H100", "H100"),
    (r"^A100.*80 ?GB", "A100-80GB"), (r"^A100", "A100"), (r"^A10\b", "A10"),
    (r"^(RTX )?A6000", "A6000"), (r"^(Quadro )?RTX ?6000", "RTX6000"), (r"^V100", "V100"),
)  # fmt: skip


def gpu_name(description: str, type_name: str) -> str | None:
    known = TYPES.get(type_name)
    if known is not None and known.accelerator:
        return known.accelerator
    for pattern, name in _GPU:
        if re.search(pattern, description.strip(), re.I):
            return name
    return None


def fetch(base: Catalog, *, regions: list[str] | None = None, api: str = API) -> FetchResult:
    from datetime import datetime, timezone

    from stix.clouds.dynamic import CloudError, RestApi
    from stix.clouds.lambda_cloud.api import ERRORS

    key = api_key()
    if not key:
        raise CredentialsError(f"Lambda's prices come from its API, which needs a key: "
                               f"export {KEY_ENV}=<key> or write api_key = ... in {KEY_FILE}")
    try:
        answer = RestApi("lambda", api, key, ERRORS).call("GET", "/instance-types",
                                                          what="list instance types")
    except CloudError as exc:
        raise FetchError(str(exc)) from None
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, dict):
        raise FetchError(f"{api}/instance-types: not an instance-types answer (no data map)")
    result = FetchResult("lambda", f"Lambda Cloud API GET /instance-types ({api})")
    today = datetime.now(timezone.utc).date().isoformat()
    listed: dict[str, set[str]] = {}
    for offer in base.for_cloud("lambda"):
        listed.setdefault(offer.instance_type, set()).add(offer.region)
    for name, item in sorted(data.items()):
        result.offers.extend(_offers(name, item, listed.get(name, set()), regions, today,
                                     result))
    result.notes.append("shapes and prices from the API (observed); regions: those with "
                        "capacity now, and those the catalog in use lists for the type")
    return result


def _offers(name: str, item: Any, known: set[str], wanted: list[str] | None, today: str,
            result: FetchResult) -> list[Offer]:
    itype = item.get("instance_type") if isinstance(item, dict) else None
    if not isinstance(itype, dict):
        result.skipped["entry without an instance_type"] += 1
        return []
    specs = itype.get("specs") or {}
    cents = itype.get("price_cents_per_hour")
    vcpus, memory, gpus = specs.get("vcpus"), specs.get("memory_gib"), specs.get("gpus") or 0
    if not isinstance(cents, (int, float)) or cents <= 0 or not vcpus or not memory:
        result.skipped["no price or no shape"] += 1
        return []
    acc = gpu_name(str(itype.get("gpu_description") or itype.get("description") or ""),
                   name) if gpus else None
    if gpus and acc is None:
        result.skipped["GPU stix cannot name"] += 1
        return []
    now = {str(r.get("name")) for r in item.get("regions_with_capacity_available") or []
           if isinstance(r, dict) and r.get("name")}
    places = sorted((now | known) & set(wanted) if wanted else now | known)
    if not places:
        result.skipped["no region with capacity now, none in the catalog in use"] += 1
    return [Offer("lambda", name, float(vcpus), float(memory), acc, float(gpus),
                  accelerator_memory(acc), region, None, round(cents / 100, 6), None,
                  infer_arch(name), OBSERVED, NONE, today)
            for region in places]
