"""DigitalOcean: the sizes API (`GET /v2/sizes`, needs an API token), page by page.

Each size comes with its shape (vCPUs, memory in MiB, bundled disk), its GPUs
(`gpu_info`: count, model, total VRAM), its list price (`price_hourly`) and the regions
selling it now; a size is priced the same in every region. DigitalOcean has no spot
market: no row has a spot price. Sizes sold only under contract or as separate spot sizes
(slugs ending in `-spot` or `-contracted`) and sizes `available: false` or in no region
are skipped and counted. Every price written is observed, dated the day it was read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import IO, Any

from stix.catalog.hardware import accelerator_memory
from stix.catalog.loader import Catalog
from stix.catalog.schema import NONE, OBSERVED, Offer
from stix.catalog.update import CredentialsError, FetchError, FetchResult, Opener, read_json

API = "https://api.digitalocean.com/v2"
PER_PAGE = 200
MAX_PAGES = 100  # a loop guard: the whole list is a few pages


def resolve_token() -> str:
    """The API token (environment or doctl's config); else a clear error."""
    from stix.clouds.digitalocean.credentials import find_token

    token, _ = find_token()
    if not token:
        raise CredentialsError(
            "digitalocean: the sizes API needs an API token, and none is set",
            hint="export DIGITALOCEAN_TOKEN=<token> (or `doctl auth init`), or update the "
                 "other clouds (clouds, --cloud)")  # fmt: skip
    return token


def bearer_opener(token: str, timeout: float = 60.0) -> Opener:
    """GET with the token in the Authorization header (the API takes it nowhere else)."""
    import urllib.error
    import urllib.request

    def open_url(url: str) -> IO[bytes]:
        request = urllib.request.Request(url, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json",
            "User-Agent": "stix-catalog-update"})
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise CredentialsError(f"digitalocean: {url}: HTTP {exc.code}: the API token "
                                       "was refused", hint="check DIGITALOCEAN_TOKEN") from None
            raise FetchError(f"cannot fetch {url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise FetchError(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}") from None

    return open_url


def sizes(opener: Opener, api: str = API) -> Iterator[dict[str, Any]]:
    """Every size, following `links.pages.next`."""
    url: str | None = f"{api}/sizes?per_page={PER_PAGE}"
    seen: set[str] = set()
    while url:
        if url in seen or len(seen) >= MAX_PAGES:
            raise FetchError(f"{url}: the size list pages loop; giving up")
        seen.add(url)
        page = read_json(opener, url)
        if not isinstance(page, dict) or not isinstance(page.get("sizes"), list):
            raise FetchError(f"{url}: not a sizes answer (no sizes list)")
        yield from (s for s in page["sizes"] if isinstance(s, dict))
        links = page.get("links")
        pages = links.get("pages") if isinstance(links, dict) else None
        nxt = pages.get("next") if isinstance(pages, dict) else None
        url = nxt if isinstance(nxt, str) and nxt else None


def _gpus(size: dict[str, Any]) -> tuple[str | None, float] | None:
    """(accelerator, count) of a size; None when it has GPUs stix cannot name."""
    from stix.clouds.digitalocean.machines import GPU_MODELS, TYPES

    info = size.get("gpu_info")
    if not isinstance(info, dict) or not info.get("count"):
        return None, 0
    name = GPU_MODELS.get(str(info.get("model", "")).lower())
    if name is None:
        known = TYPES.get(str(size.get("slug")))
        if known is None or known.accelerator is None:
            return None
        name = known.accelerator
    return name, float(info["count"])


def fetch(opener: Opener, base: Catalog, *, regions: list[str] | None = None,
          api: str = API) -> FetchResult:  # fmt: skip
    result = FetchResult("digitalocean", f"DigitalOcean sizes API ({api}/sizes)")
    today = datetime.now(timezone.utc).date().isoformat()
    wanted = set(regions) if regions else None
    for size in sizes(opener, api):
        slug = str(size.get("slug") or "")
        price, vcpus, memory = size.get("price_hourly"), size.get("vcpus"), size.get("memory")
        if slug.endswith(("-spot", "-contracted")):
            result.skipped["spot or contract size (stix offers DigitalOcean's on-demand "
                           "sizes only)"] += 1
            continue
        if size.get("available") is False or not size.get("regions"):
            result.skipped["size not available in any region"] += 1
            continue
        if not (isinstance(price, (int, float)) and price > 0 and isinstance(vcpus, int)
                and isinstance(memory, (int, float))):
            result.skipped["no hourly price, vCPUs or memory"] += 1
            continue
        gpus = _gpus(size)
        if gpus is None:
            result.skipped["GPU model stix has no name for"] += 1
            continue
        accelerator, count = gpus
        for region in sorted(str(r) for r in size["regions"]):
            if wanted is not None and region not in wanted:
                continue
            result.offers.append(Offer(
                "digitalocean", slug, float(vcpus), round(memory / 1024, 3), accelerator,
                count, accelerator_memory(accelerator), region, None, round(float(price), 6),
                None, "x86_64", OBSERVED, NONE, today))  # fmt: skip
    result.notes.append("shapes, GPUs, regions and on-demand prices observed; DigitalOcean "
                        "has no spot market")
    return result
