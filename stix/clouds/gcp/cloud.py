"""GCP as stix knows it: Compute Engine VMs (GPUs attached to N1 or built into A2/A3/A4/G2),
GCS buckets, GKE node pools."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.base import (
    Capabilities,
    Charge,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
    NodeState,
    Retired,
    Store,
    StoreTool,
)
from stix.clouds.gcp.options import GcpOptions
from stix.clouds.resource import Lookup, ResourceType

if TYPE_CHECKING:
    from stix.catalog.schema import Offer
    from stix.clouds.tagged import Deleted, Scan, TaggedResource
    from stix.placement import Placement
    from stix.remote.transport import NodeAddress

_ARM_FAMILIES = ("t2a-", "c4a-", "a4x-")
# Shared-core machine types (a fraction of a core, bursting).
_SHARED_CORE = frozenset({"e2-micro", "e2-small", "e2-medium", "f1-micro", "g1-small"})


class Gcs(Store):
    def url(self, bucket: str, prefix: str, account: str) -> str:
        return f"gs://{bucket}/{prefix}" if prefix else f"gs://{bucket}"


class GcpCloud(Cloud):
    name = "gcp"
    credential_paths = ("~/.config/gcloud", "$CLOUDSDK_CONFIG",
                        "$GOOGLE_APPLICATION_CREDENTIALS")
    skypilot_config: ClassVar[dict[str, str]] = {
        "managed_instance_group": "instances are created on their own, not in a group",
        "enable_gvnic": "instances get GCP's default network interface",
        "enable_gpu_direct": "instances get GCP's default network interfaces",
        "placement_policy": "instances are placed without a placement policy",
    }
    home_regions = ("us-central1", "us-east1", "us-west1")
    capabilities = Capabilities(stop_start=True, stop_spot=True, terraform=True,
                                managed_kubernetes="gke", autostop=("stop", "down"))
    options_model: ClassVar[type[InfraOptions]] = GcpOptions
    pulumi_packages = ("gcp",)
    sdk_distributions = ("pulumi", "pulumi-gcp")
    terraform_provider = ("google", "hashicorp/google")
    terraform_provider_keys = ("region", "project", "zone")
    user_data_limit = 256 * 1024  # one metadata value
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = (
        ("capacity", r"ZONE_RESOURCE_POOL_EXHAUSTED|RESOURCE_POOL_EXHAUSTED|ResourceExhausted|"
                     r"does not have enough resources available|"
                     # Cloud TPU API (TPU VMs): no capacity in the zone for the type.
                     r"There is no more capacity in the zone|Insufficient (?:reserved )?capacity|"
                     r"CloudTpu received an invalid AcceleratorType"),
        ("spot", r"Preemptible.*quota"),
        ("quota", r"QUOTA_EXCEEDED|Quota '.*' exceeded|"
                  # Cloud TPU API: per-generation chip/core quotas.
                  r"Quota limit '\w*TPU\w*' has been exceeded|You have reached \w+ quota"),
        ("credentials", r"could not find default credentials|invalid_grant|Unauthenticated"),
    )
    store = Gcs("gcs", {"MOUNT": StoreTool("gcsfuse", ("fuse3", "gnupg")),
                        "COPY": StoreTool("gcloud", ("gnupg",))},
                template_dir="gcp")
    autostop_template = "gcp/autostop-action.sh.j2"

    def image_problem(self, ref: str) -> str | None:
        if re.fullmatch(r"(?:https://www\.googleapis\.com/compute/v1/)?projects/[^/]+/global/"
                        r"images/(?:family/)?[a-z][-a-z0-9]*", ref) or re.fullmatch(
                            r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?", ref):
            return None
        return (f"{ref!r} is not a GCP image (projects/P/global/images/NAME, .../family/F, "
                "or an image name of the project)")



    def build_bucket(self, spec: Any) -> dict[str, Any]:
        from stix.clouds.gcp.buckets import build

        return build(spec)

    def resource_types(self) -> tuple[ResourceType, ...]:
        from stix.clouds.gcp.types import TYPES

        return TYPES

    def lookups(self) -> tuple[Lookup, ...]:
        from stix.clouds.gcp.types import LOOKUPS

        return LOOKUPS

    def stack_config_keys(self, placement: Placement) -> dict[str, Any]:
        out: dict[str, Any] = {"gcp:region": placement.region}
        if placement.zone:
            out["gcp:zone"] = placement.zone
        project = placement.extra.set_fields().get("project")
        if project:
            out["gcp:project"] = project
        return out

    def host_key_source(self, placement: Placement, outputs: dict[str, Any]) -> str:
        from stix.clouds.common import options
        from stix.clouds.gcp.hostkeys import source

        return source(placement, options(placement, GcpOptions).project)

    def host_keys(self, region: str, node: NodeAddress) -> list[str] | None:
        from stix.clouds.gcp.hostkeys import console_host_keys

        return console_host_keys(region, node)

    def node_states(self, placement: Placement,
                    outputs: dict[str, Any]) -> dict[str, NodeState] | None:
        from stix.clouds.common import options
        from stix.clouds.gcp.nodes import node_states

        return node_states(placement, options(placement, GcpOptions).project)

    def plan_note(self, placement: Placement) -> str | None:
        """A TPU placement is a TPU VM: say what it boots and that it keeps GCP's disk."""
        from stix.clouds.gcp import tpu

        acc = placement.accelerator
        if acc is None or not tpu.is_tpu(acc.name):
            return None
        version = tpu.runtime_version(acc.name, placement.extra.set_fields().get(
            "accelerator_args"))
        return (f"{acc.name}: {placement.num_nodes} TPU VM(s), runtime version {version}, "
                "GCP's default boot disk (stix:disk_size and the image are not used)")

    def autostop_problem(self, placement: Placement, down: bool) -> str | None:
        from stix.clouds.gcp import tpu
        from stix.clouds.gcp.program import self_deleting

        if placement.accelerator and tpu.is_tpu(placement.accelerator.name):
            return ("a TPU VM has no stop action stix can run from inside it; "
                    "`stix down` deletes it")
        if down and not self_deleting(placement):
            return ("a GCP VM deletes itself with its own service account, which the stack "
                    "grants only when the task asks for autodown")
        return None

    def infer_arch(self, instance_type: str) -> str:
        return "arm64" if instance_type.startswith(_ARM_FAMILIES) else "x86_64"

    def machine_types(self) -> dict[str, MachineType]:
        from stix.clouds.gcp import tpu
        from stix.clouds.gcp.machines import TYPES

        return {**TYPES, **tpu.machine_types()}

    def check_offer(self, instance_type: str, vcpus: float, memory_gib: float,
                    accelerator: str | None, count: float) -> str:
        from stix.clouds.gcp import pairing, tpu

        if tpu.is_tpu(accelerator):
            return tpu.check_offer(instance_type, vcpus, memory_gib, accelerator, count)
        return pairing.check_offer(self.machine_types(), instance_type, vcpus, memory_gib,
                                   accelerator, count)

    def is_shared_core(self, instance_type: str) -> bool:
        return instance_type in _SHARED_CORE

    def default_host(self, accelerator: str, count: float) -> tuple[float, float] | None:
        from stix.clouds.gcp import pairing

        return pairing.default_host(accelerator, count)

    def accelerator_note(self, name: str) -> str | None:
        from stix.clouds.gcp import tpu

        if not tpu.is_tpu(name):
            return None
        hosts = tpu.pod_slice_hosts(name)
        made = ", ".join(sorted("tpu-" + t for t in tpu.BY_TYPE))
        if hosts:
            return (f"{name} is a TPU pod slice ({hosts} hosts sharing one TPU): stix makes "
                    f"single-host TPU VMs only ({made}); num_nodes of those are separate "
                    "TPU VMs")
        alias = tpu.spelled_as(name)
        if alias:
            return f"{name} is written {alias} (GCP's name for that TPU type)"
        return f"{name} is not a Cloud TPU type stix makes; it makes {made}"

    # K80s were attached to N1 hosts, so no machine type name is retired with them.
    retired = (Retired("K80", r"(?!)", "Google Cloud ended K80 GPUs on 1 May 2024", ("T4",)),)
    snapshot = "stix.clouds.gcp.snapshot"
    price_source = "the Cloud Billing Catalog API (needs GOOGLE_API_KEY; Spot SKUs included)"
    type_list_source = "stix.clouds.gcp.machines"

    def fetch_prices(self, opener: Any, base: Any, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        from stix.clouds.gcp.prices import fetch

        return fetch(opener, base, regions=regions)

    def from_skypilot(self, rows: list[Any], folder: Path, skipped: Counter[str],
                      notes: list[str]) -> list[Offer]:
        from stix.clouds.gcp.skypilot import convert

        return convert(rows, skipped)

    def build_node_pool(self, placement: Placement, cluster: str,
                        labels: dict[str, str]) -> Any:
        """A GKE node pool for `placement` in the existing cluster `cluster`."""
        from stix.clouds.gcp.gke import node_pool

        return node_pool(placement, cluster, labels)

    def disk_price_gb_month(self, tier: str, region: str) -> float | None:
        from stix.clouds.gcp.costs import disk_price_gb_month

        return disk_price_gb_month(tier)

    def node_charges(self, placement: Placement) -> list[Charge]:
        from stix.clouds.common import tier
        from stix.clouds.gcp.costs import node_charges

        disk = self.disk_hourly(tier(placement), placement.disk_size, placement.region)
        return node_charges(placement, disk)

    def not_counted(self, placement: Placement) -> list[str]:
        from stix.clouds.gcp.costs import not_counted

        return [*super().not_counted(placement), *not_counted(placement)]

    def tagged_resources(self, regions: list[str] | None) -> Scan:
        from stix.clouds.gcp.orphans import scan

        return scan(regions)

    def delete_tagged(self, resources: list[TaggedResource]) -> list[Deleted]:
        from stix.clouds.gcp.orphans import delete

        return delete(resources)
