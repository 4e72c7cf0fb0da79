"""RunPod: prices from the GraphQL API's `gpuTypes` query (`POST
https://api.runpod.io/graphql`), which answers without an account: every GPU type's id
(its model name), memory, and per-GPU prices per hour for Secure and Community Cloud,
on demand (`securePrice`, `communityPrice`) and interruptible (`secureSpotPrice`,
`communitySpotPrice`; null or 0 when not offered).

stix offers Secure Cloud pods (`machines.py`): a row is the pod type's GPU count × the
per-GPU price, in each data center the snapshot sells it in (RunPod prices a type the same
everywhere); the interruptible price is the spot price, dropped when the API gives none.
CPU pods are priced by flavor through other queries (`cpuFlavors` ... `specifics`), one
per flavor, size and data center; their rows are kept from the catalog in use, with the
provenance they carry. GPU types stix has no shape for are counted and skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from stix.catalog.hardware import accelerator_memory
from stix.catalog.loader import Catalog
from stix.catalog.schema import NONE, OBSERVED, Offer
from stix.catalog.update import CredentialsError, FetchError, FetchResult

URL = "https://api.runpod.io/graphql"
QUERY = ("query GpuTypes { gpuTypes { id displayName memoryInGb securePrice communityPrice "
         "secureSpotPrice communitySpotPrice } }")
Post = Callable[[str], Any]  # a GraphQL query → the decoded answer


def http_post(url: str = URL, key: str = "", timeout: float = 60.0) -> Post:
    """POST the query as JSON (the key as a bearer token when one is set; `gpuTypes`
    needs none); failures as FetchError, a refused key as CredentialsError."""
    import urllib.error
    import urllib.request

    def post(query: str) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "stix-catalog-update"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(url, data=json.dumps({"query": query}).encode(),
                                         headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise CredentialsError(f"runpod: {url}: HTTP {exc.code}: the API key was "
                                       "refused", hint="check RUNPOD_API_KEY") from None
            raise FetchError(f"cannot fetch {url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise FetchError(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}") from None
        except ValueError as exc:
            raise FetchError(f"{url}: the answer is not JSON ({exc})") from None

    return post


def gpu_types(post: Post) -> list[dict[str, Any]]:
    answer = post(QUERY)
    if isinstance(answer, dict) and answer.get("errors"):
        first = answer["errors"][0]
        text = first.get("message") if isinstance(first, dict) else first
        raise FetchError(f"runpod gpuTypes: {text}")
    data = answer.get("data") if isinstance(answer, dict) else None
    found = data.get("gpuTypes") if isinstance(data, dict) else None
    if not isinstance(found, list):
        raise FetchError("runpod gpuTypes: not a gpuTypes answer (no data.gpuTypes list)")
    return [g for g in found if isinstance(g, dict)]


def _price(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def fetch(post: Post, base: Catalog, *, regions: list[str] | None = None) -> FetchResult:
    from stix.clouds.runpod.machines import GPU_BY_ID, POD_TYPES
    from stix.clouds.runpod.snapshot import DATA_CENTERS, ONLY_IN

    result = FetchResult("runpod", f"RunPod GraphQL API gpuTypes ({URL})")
    today = datetime.now(timezone.utc).date().isoformat()
    wanted = set(regions) if regions else None
    answers = {str(g.get("id")): g for g in gpu_types(post)}
    for gpu_id, listed in answers.items():
        if gpu_id not in GPU_BY_ID:
            result.skipped["GPU type stix has no pod shape for"] += 1
        elif _price(listed.get("securePrice")) is None:
            result.skipped["no Secure Cloud price (not sold on Secure Cloud now)"] += 1
    for t in POD_TYPES.values():
        if t.gpu is None:
            continue
        answer = answers.get(t.gpu.gpu_id)
        price = _price(answer.get("securePrice")) if answer else None
        if answer is None or price is None:
            continue
        spot = _price(answer.get("secureSpotPrice"))
        for region in ONLY_IN.get(t.name, tuple(DATA_CENTERS)):
            if wanted is not None and region not in wanted:
                continue
            result.offers.extend(Offer(
                "runpod", t.name, t.vcpus, t.memory_gib, t.gpu.accelerator, float(t.count),
                accelerator_memory(t.gpu.accelerator), region, zone, round(price * t.count, 4),
                None if spot is None else round(spot * t.count, 4), "x86_64", OBSERVED,
                OBSERVED if spot is not None else NONE, today)
                for zone in DATA_CENTERS[region])  # fmt: skip
    kept = [o for o in base.for_cloud("runpod") if o.accelerator is None
            and (wanted is None or o.region in wanted)]
    result.offers.extend(kept)
    result.notes.append("Secure Cloud GPU prices and interruptible (spot) prices observed; "
                        f"{len(kept)} CPU pod rows kept from the catalog in use (the API "
                        "prices CPU pods per flavor, size and data center)")
    return result
