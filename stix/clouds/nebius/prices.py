"""Nebius: the billing calculator over the compute platform list (needs credentials).

Nebius publishes no price file; its API prices a VM spec on request. So: the regions are
those of the account's projects (`iam` tenants → projects; a project ID's three
characters after `project-` code its region), each region's platforms and presets come
from its public-images project (`project-<code>public-images`, compute `PlatformService.
List`), and each preset is priced twice by `billing.v1alpha1.CalculatorService.
EstimateBatch` — on demand, and preemptible — reading `hourly_cost.general.total.cost`.
A preemptible price that is not below on demand is not a preemptible market: it is
dropped (counted), never kept estimated. Every row is observed, dated the day read.

The answers are read in the API's message shape (field names as the proto declares
them), which is what `Api` returns: the recorded fixtures follow it, and `SdkApi` builds
it from the nebius Python SDK's messages (imported only there).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from stix.catalog.hardware import accelerator_memory
from stix.catalog.loader import Catalog
from stix.catalog.schema import NONE, OBSERVED, Offer
from stix.catalog.update import CredentialsError, FetchError, FetchResult
from stix.clouds.nebius.machines import PLATFORM_GPUS, SEP

PUBLIC_IMAGES = "project-{code}public-images"
_PROJECT = re.compile(r"project-([a-z0-9]{3})")
TIMEOUT = 30.0


@runtime_checkable
class Api(Protocol):
    """The three reads the fetch makes, answered in the API's message shape."""

    def projects(self) -> list[dict[str, Any]]:
        """Every project the account sees: `{"metadata": {"id"}, "status": {"region"}}`."""

    def platforms(self, parent_id: str) -> list[dict[str, Any]]:
        """`ListPlatformsResponse.items` of a project."""

    def estimate(self, parent_id: str, platform: str, preset: str,
                 preemptible: bool) -> dict[str, Any]:
        """`EstimateBatchResponse` of one VM of that platform and preset."""


def regions_by_code(projects: list[dict[str, Any]]) -> dict[str, str]:
    """Region code (`e00`) → region (`eu-north1`), from the account's projects."""
    out: dict[str, str] = {}
    for project in projects:
        match = _PROJECT.match(str(_get(project, "metadata", "id") or ""))
        region = _get(project, "status", "region")
        if match and isinstance(region, str) and region:
            out.setdefault(match.group(1), region)
    return out


def hourly(answer: dict[str, Any]) -> Decimal | None:
    """`hourly_cost.general.total.cost` (a decimal string), or None when absent."""
    cost = _get(answer, "hourly_cost", "general", "total", "cost")
    try:
        value = Decimal(str(cost)) if cost is not None else None
    except InvalidOperation:
        return None
    return value if value is not None and value > 0 else None


def _get(value: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def fetch(api: Api, base: Catalog, *, regions: list[str] | None = None) -> FetchResult:
    result = FetchResult("nebius", "Nebius billing calculator (billing.v1alpha1."
                         "CalculatorService.EstimateBatch) over compute PlatformService.List")
    today = datetime.now(timezone.utc).date().isoformat()
    codes = regions_by_code(api.projects())
    if not codes:
        raise FetchError("nebius: the account has no project, so no region to price",
                         hint="create a project in the Nebius console, or update the other "
                              "clouds (clouds, --cloud)")  # fmt: skip
    wanted = set(regions) if regions else None
    for code, region in sorted(codes.items(), key=lambda kv: kv[1]):
        if wanted is not None and region not in wanted:
            continue
        parent = PUBLIC_IMAGES.format(code=code)
        for platform in api.platforms(parent):
            _platform(api, parent, region, platform, today, result)
    result.notes.append("shapes, regions, on-demand and preemptible prices observed; "
                        "Nebius has no zones")
    return result


def _platform(api: Api, parent: str, region: str, platform: dict[str, Any], today: str,
              result: FetchResult) -> None:
    name = str(_get(platform, "metadata", "name") or "")
    gpu = name.startswith("gpu-")
    accelerator = PLATFORM_GPUS.get(name) if gpu else None
    if not name or (gpu and accelerator is None):
        result.skipped["platform stix has no accelerator name for"] += 1
        return
    for preset in _get(platform, "spec", "presets") or []:
        label = str(preset.get("name") or "") if isinstance(preset, dict) else ""
        shape = _get(preset, "resources") or {}
        vcpus, memory = shape.get("vcpu_count"), shape.get("memory_gibibytes")
        count = shape.get("gpu_count") or 0
        if not (label and isinstance(vcpus, (int, float)) and vcpus > 0
                and isinstance(memory, (int, float)) and memory > 0):
            result.skipped["preset without a name, vCPUs or memory"] += 1
            continue
        if gpu != bool(count):
            result.skipped["preset whose GPU count contradicts its platform"] += 1
            continue
        price = hourly(api.estimate(parent, name, label, False))
        if price is None:
            result.skipped["preset the calculator gave no on-demand price"] += 1
            continue
        spot = hourly(api.estimate(parent, name, label, True))
        if spot is not None and spot >= price:
            result.skipped["preemptible price not below on demand (no preemptible market)"] += 1
            spot = None
        result.offers.append(Offer(
            "nebius", f"{name}{SEP}{label}", float(vcpus), float(memory), accelerator,
            float(count), accelerator_memory(accelerator), region, None,
            round(float(price), 6), None if spot is None else round(float(spot), 6),
            "x86_64", OBSERVED, OBSERVED if spot is not None else NONE, today))  # fmt: skip


class SdkApi:
    """`Api` through the nebius Python SDK (gRPC), signed in the SDK's default way: the
    `NEBIUS_IAM_TOKEN` environment variable or the Nebius CLI's default profile."""

    def __init__(self) -> None:
        try:
            from nebius.sdk import SDK
        except ImportError:
            raise CredentialsError(
                "nebius: reading prices needs the nebius Python SDK, which is not installed",
                hint="pip install nebius (and sign in with `nebius profile create`), or "
                     "update the other clouds (clouds, --cloud)") from None  # fmt: skip
        self.sdk = SDK()

    def projects(self) -> list[dict[str, Any]]:
        from nebius.api.nebius.iam.v1 import (
            ListProjectsRequest,
            ListTenantsRequest,
            ProjectServiceClient,
            TenantServiceClient,
        )

        out: list[dict[str, Any]] = []
        tenants = TenantServiceClient(self.sdk).list(ListTenantsRequest(),
                                                     timeout=TIMEOUT).wait()
        for tenant in tenants.items:
            found = ProjectServiceClient(self.sdk).list(
                ListProjectsRequest(parent_id=tenant.metadata.id), timeout=TIMEOUT).wait()
            out.extend({"metadata": {"id": p.metadata.id}, "status": {"region": p.status.region}}
                       for p in found.items)
        return out

    def platforms(self, parent_id: str) -> list[dict[str, Any]]:
        from nebius.api.nebius.compute.v1 import ListPlatformsRequest, PlatformServiceClient

        answer = PlatformServiceClient(self.sdk).list(
            ListPlatformsRequest(parent_id=parent_id, page_size=999), timeout=TIMEOUT).wait()
        return [{"metadata": {"name": p.metadata.name},
                 "spec": {"gpu_memory_gibibytes": p.spec.gpu_memory_gibibytes,
                          "presets": [{"name": s.name, "resources": {
                              "vcpu_count": s.resources.vcpu_count,
                              "memory_gibibytes": s.resources.memory_gibibytes,
                              "gpu_count": s.resources.gpu_count}} for s in p.spec.presets]}}
                for p in answer.items]  # fmt: skip

    def estimate(self, parent_id: str, platform: str, preset: str,
                 preemptible: bool) -> dict[str, Any]:
        from nebius.api.nebius.billing.v1alpha1 import (
            CalculatorServiceClient,
            EstimateBatchRequest,
            ResourceSpec,
        )
        from nebius.api.nebius.common.v1 import ResourceMetadata
        from nebius.api.nebius.compute.v1 import (
            CreateInstanceRequest,
            InstanceSpec,
            PreemptibleSpec,
            ResourcesSpec,
        )

        spec = InstanceSpec(resources=ResourcesSpec(platform=platform, preset=preset),
                            preemptible=PreemptibleSpec(priority=1) if preemptible else None)
        request = EstimateBatchRequest(resource_specs=[ResourceSpec(
            compute_instance_spec=CreateInstanceRequest(
                metadata=ResourceMetadata(parent_id=parent_id), spec=spec))])
        answer = CalculatorServiceClient(self.sdk).estimate_batch(
            request, timeout=TIMEOUT).wait()
        return {"hourly_cost": {"general": {"total": {
            "cost": answer.hourly_cost.general.total.cost}}}}
