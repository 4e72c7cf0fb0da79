"""The GCP resources stix tagged (`stix orphans`): instances, disks and addresses from the
Compute Engine aggregated lists (filtered on the label server-side) and Cloud Storage
buckets (whose labels are read from the listing), over the REST APIs with a token from
Application Default Credentials; and their deletion, instances first.

Networks, subnetworks and firewalls take no labels on GCP, so a scan cannot tell stix's
from others': they are not listed. The base URLs are parameters so the calls can be
exercised against an HTTP server on loopback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from stix.clouds import rest
from stix.clouds.tagged import (
    CLUSTER_TAG,
    Deleted,
    Scan,
    ScanError,
    TaggedResource,
    join,
    stack_of,
)

CLOUD = "gcp"
COMPUTE = "https://compute.googleapis.com/compute/v1"
STORAGE = "https://storage.googleapis.com/storage/v1"
_HINT = ("run `gcloud auth application-default login`, or point GOOGLE_APPLICATION_CREDENTIALS "
         "at a service-account key file")
ORDER = ("instance", "address", "disk", "bucket")
KINDS = (("instances", "instance"), ("disks", "disk"), ("addresses", "address"))


def label_filter() -> str:
    """The Compute API filter for "carries the cluster label" (`:*` tests a key exists)."""
    return f"labels.{CLUSTER_TAG}:*"


def token() -> str:
    """An access token for Compute and Storage from Application Default Credentials."""
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError:
        raise ScanError("scanning GCP needs google-auth, which is not installed",
                        hint="pip install google-auth requests") from None
    try:
        creds, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        creds.refresh(google.auth.transport.requests.Request())
    except Exception as exc:  # google-auth raises many kinds; all mean "no usable token"
        raise ScanError(f"gcp: no usable credentials: {exc}", hint=_HINT) from None
    return str(creds.token)


def project() -> str:
    from stix.clouds.gcp.credentials import find_sources

    found = find_sources()[2]
    if not found:
        raise ScanError("gcp: no project to scan",
                        hint="set GOOGLE_CLOUD_PROJECT or `gcloud config set project ID`")
    return found


def _last(url: str | None) -> str:
    return (url or "").rstrip("/").rsplit("/", 1)[-1]


def _region_of(scope: str) -> str:
    """`zones/us-central1-a` → us-central1; `regions/us-central1` → us-central1."""
    kind, _, where = scope.partition("/")
    return where.rsplit("-", 1)[0] if kind == "zones" else where


def _pages(url: str, bearer: str, what: str) -> Iterator[dict[str, Any]]:
    token_ = ""
    while True:
        page_url = url + (("&" if "?" in url else "?") + urlencode({"pageToken": token_})
                          if token_ else "")
        _, _, page = rest.call("GET", page_url, bearer, what=what)
        page = page or {}
        yield page
        token_ = page.get("nextPageToken") or ""
        if not token_:
            return


def parse(kind: str, scope: str, item: dict[str, Any], project_id: str) -> TaggedResource | None:
    """One item of an aggregated list (the API's JSON) as a tagged resource."""
    stack = stack_of(item.get("labels") or {})
    if stack is None:
        return None
    name = item.get("name", "")
    where = scope.partition("/")[2]
    link = item.get("selfLink", "")
    aliases = tuple(a for a in (link, str(item.get("id") or "")) if a)
    common: dict[str, Any] = {"name": name, "aliases": aliases, "handle": {"link": link}}
    region = _region_of(scope)
    if kind == "instance":
        status = item.get("status", "")
        sched = item.get("scheduling") or {}
        gpus = [f"{g.get('acceleratorCount', 1)}x {_last(g.get('acceleratorType'))}"
                for g in item.get("guestAccelerators") or []]
        machine = _last(item.get("machineType"))
        return TaggedResource(
            CLOUD, region, kind, f"projects/{project_id}/zones/{where}/instances/{name}", stack,
            zone=where, machine=machine if status == "RUNNING" else None,
            spot=sched.get("provisioningModel") == "SPOT" or bool(sched.get("preemptible")),
            detail=join(f"{machine} {status}".strip(),
                        f"with {', '.join(gpus)} (priced without them)" if gpus else None),
            **common)
    if kind == "disk":
        users = [_last(u) for u in item.get("users") or []]
        return TaggedResource(
            CLOUD, region, kind, f"projects/{project_id}/zones/{where}/disks/{name}", stack,
            zone=where, detail=join(f"{item.get('sizeGb', '?')} GB {_last(item.get('type'))}"
                                    .strip(),
                                    f"used by {', '.join(users)}" if users else "not attached"),
            **common)
    return TaggedResource(
        CLOUD, region, kind, f"projects/{project_id}/regions/{where}/addresses/{name}", stack,
        detail=join(item.get("address"), (item.get("status") or "").lower()), **common)


def _compute(base: str, bearer: str, project_id: str, regions: list[str] | None,
             found: Scan) -> None:
    query = urlencode({"filter": label_filter(), "returnPartialSuccess": "true"})
    for plural, kind in KINDS:
        url = f"{base}/projects/{quote(project_id)}/aggregated/{plural}?{query}"
        try:
            for page in _pages(url, bearer, f"list {plural}"):
                for scope, block in (page.get("items") or {}).items():
                    for item in block.get(plural) or []:
                        made = parse(kind, scope, item, project_id)
                        if made and (regions is None or made.region in regions):
                            found.resources.append(made)
                for unreachable in page.get("unreachables") or []:
                    found.problems.append(f"gcp: {plural} in {unreachable} could not be listed")
        except rest.ApiError as exc:
            if exc.status in (401, 403) and not found.resources:
                raise ScanError(f"gcp refused the scan: {exc.message}", hint=_HINT) from None
            found.problems.append(f"gcp: {plural} could not be listed: {exc.message}")


def _buckets(storage: str, bearer: str, project_id: str, regions: list[str] | None,
             found: Scan) -> None:
    query = urlencode({"project": project_id, "maxResults": "1000",
                       "fields": "items(name,location,labels,selfLink),nextPageToken"})
    try:
        for page in _pages(f"{storage}/b?{query}", bearer, "list buckets"):
            for item in page.get("items") or []:
                stack = stack_of(item.get("labels") or {})
                region = str(item.get("location", "")).lower()
                if stack is None or (regions is not None and region not in regions):
                    continue
                name = item["name"]
                _, _, objects = rest.call("GET", f"{storage}/b/{quote(name)}/o?maxResults=1",
                                          bearer, what=f"list objects of {name}")
                found.resources.append(TaggedResource(
                    CLOUD, region, "bucket", name, stack, name=name,
                    detail="holds objects (deleting it deletes them)"
                    if (objects or {}).get("items") else "empty",
                    handle={"link": f"{storage}/b/{quote(name)}"}))
    except rest.ApiError as exc:
        found.problems.append(f"gcp: buckets could not be listed: {exc.message}")


def scan_project(bearer: str, project_id: str, regions: list[str] | None, *,
                 compute: str = COMPUTE, storage: str = STORAGE) -> Scan:
    found = Scan(regions=sorted(regions) if regions else ["all"])
    _compute(compute, bearer, project_id, regions, found)
    _buckets(storage, bearer, project_id, regions, found)
    return found


def scan(regions: list[str] | None) -> Scan:
    return scan_project(token(), project(), regions)


# -- deleting -----------------------------------------------------------------------------------


def _wait(operation: dict[str, Any] | None, bearer: str, timeout: float, poll: float) -> None:
    """Until a Compute operation is DONE; its error, if any, is raised."""
    deadline = time.monotonic() + timeout
    while operation and operation.get("status") != "DONE":
        if time.monotonic() > deadline:
            raise ScanError(f"still {operation.get('status', 'running')} after {timeout:.0f}s")
        time.sleep(poll)
        _, _, operation = rest.call("GET", operation["selfLink"], bearer, what="operation")
    errors = ((operation or {}).get("error") or {}).get("errors") or []
    if errors:
        raise ScanError("; ".join(e.get("message", "?") for e in errors))


def _empty_bucket(link: str, bearer: str) -> None:
    url = f"{link}/o?versions=true&fields=items(name,generation),nextPageToken"
    for page in _pages(url, bearer, "list objects"):
        for obj in page.get("items") or []:
            try:
                rest.call("DELETE", f"{link}/o/{quote(obj['name'], safe='')}"
                                    f"?generation={obj['generation']}", bearer,
                          what=f"delete object {obj['name']}")
            except rest.ApiError as exc:
                if exc.status != 404:  # gone already is fine; the bucket's delete decides
                    raise


def delete_all(resources: list[TaggedResource], bearer: str, *, timeout: float = 900.0,
               poll: float = 5.0) -> list[Deleted]:
    out = []
    ordered = sorted(resources, key=lambda r: ORDER.index(r.kind) if r.kind in ORDER else 99)
    for r in ordered:
        link = r.handle.get("link", "")
        try:
            if r.kind == "bucket":
                _empty_bucket(link, bearer)
                rest.call("DELETE", link, bearer, what=f"delete bucket {r.id}")
            else:
                _, _, operation = rest.call("DELETE", link, bearer, what=f"delete {r.id}")
                _wait(operation, bearer, timeout, poll)
            out.append(Deleted(r))
        except rest.ApiError as exc:
            out.append(Deleted(r) if exc.status == 404 else Deleted(r, exc.message))
        except ScanError as exc:
            out.append(Deleted(r, exc.message))
    return out


def delete(resources: list[TaggedResource]) -> list[Deleted]:
    return delete_all(resources, token())
