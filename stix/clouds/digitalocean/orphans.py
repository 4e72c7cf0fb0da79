"""What stix tagged on DigitalOcean (`stix orphans`): Droplets and Cloud Firewalls carrying
`stix-cluster:<name>`, the cluster tags themselves, and the VPCs a stack made (a VPC takes
no tags: the program describes it as `stix cluster <name>`), read and deleted through the
REST API with the user's token. SSH keys carry neither a tag nor a description and are
not found here. A cluster name holding characters a tag cannot is found under its
tag-safe form (`.` → `_`)."""

from __future__ import annotations

from typing import Any

from stix.clouds.tagged import CLUSTER_TAG, Deleted, Scan, ScanError, TaggedResource

CLOUD = "digitalocean"
API = "https://api.digitalocean.com/v2"
ORDER = ("droplet", "firewall", "vpc", "tag")  # dependents first
VPC_DESCRIPTION = "stix cluster "
MAX_PAGES = 50


def _token() -> str:
    from stix.clouds.digitalocean.credentials import find_token

    token, _ = find_token()
    if not token:
        raise ScanError("scanning DigitalOcean needs an API token, and none is set",
                        hint="export DIGITALOCEAN_TOKEN=<token>")
    return token


def _list(api: str, token: str, what: str) -> list[dict[str, Any]]:
    """Every item of a paged list (`/droplets`, `/firewalls`, `/tags`, `/vpcs`)."""
    from stix.clouds.rest import ApiError, call

    url: str | None = f"{api}/{what}?per_page=200"
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if not url:
            break
        try:
            _, _, body = call("GET", url, token, what=f"DigitalOcean GET /v2/{what}")
        except ApiError as exc:
            raise ScanError(exc.message) from None
        body = body if isinstance(body, dict) else {}
        items += [i for i in body.get(what) or [] if isinstance(i, dict)]
        nxt = ((body.get("links") or {}).get("pages") or {}).get("next")
        url = nxt if isinstance(nxt, str) and nxt else None
    return items


def _cluster(tags: Any) -> str | None:
    for text in tags or []:
        key, _, value = str(text).partition(":")
        if key == CLUSTER_TAG and value:
            return value
    return None


def parse(kind: str, item: dict[str, Any]) -> TaggedResource | None:
    """One listed item as a tagged resource, with the id Pulumi's state records for it."""
    if kind == "droplet":
        cluster = _cluster(item.get("tags"))
        region = (item.get("region") or {}).get("slug", "")
        running = item.get("status") == "active"
        return None if cluster is None else TaggedResource(
            CLOUD, str(region), kind, str(item.get("id")), cluster, name=str(item.get("name", "")),
            machine=item.get("size_slug") if running else None,
            detail=str(item.get("status", "")))  # fmt: skip
    if kind == "firewall":
        cluster = _cluster(item.get("tags"))
        return None if cluster is None else TaggedResource(
            CLOUD, "global", kind, str(item.get("id")), cluster, name=str(item.get("name", "")))
    if kind == "tag":
        cluster = _cluster([item.get("name")])
        return None if cluster is None else TaggedResource(
            CLOUD, "global", kind, str(item["name"]), cluster, name=str(item["name"]))
    description = str(item.get("description") or "")
    if not description.startswith(VPC_DESCRIPTION):
        return None
    return TaggedResource(CLOUD, str(item.get("region", "")), "vpc", str(item.get("id")),
                          description[len(VPC_DESCRIPTION):], name=str(item.get("name", "")))


def scan(regions: list[str] | None, api: str = API) -> Scan:
    token = _token()
    found = Scan(regions=sorted(regions) if regions else [])
    for kind, what in (("droplet", "droplets"), ("firewall", "firewalls"), ("tag", "tags"),
                       ("vpc", "vpcs")):
        try:
            items = _list(api, token, what)
        except ScanError as exc:
            found.problems.append(f"digitalocean {what}: not scanned: {exc.message}")
            continue
        for item in items:
            r = parse(kind, item)
            if r is not None and (not regions or r.region in regions or r.region == "global"):
                found.resources.append(r)
    return found


def delete(resources: list[TaggedResource], api: str = API) -> list[Deleted]:
    from urllib.parse import quote

    from stix.clouds.rest import ApiError, call

    token = _token()
    out = []
    for r in sorted(resources, key=lambda r: ORDER.index(r.kind) if r.kind in ORDER else 0):
        try:
            call("DELETE", f"{api}/{r.kind}s/{quote(r.id, safe='')}", token,
                 what=f"DigitalOcean DELETE /v2/{r.kind}s/{r.id}")
            out.append(Deleted(r))
        except ApiError as exc:
            out.append(Deleted(r) if exc.status == 404 else Deleted(r, exc.message))
    return out
