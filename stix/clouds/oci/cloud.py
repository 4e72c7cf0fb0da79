"""OCI as stix knows it: compute instances (flexible VM shapes, GPU VMs and bare metal)
in a VCN, preemptible capacity as spot. Prices are per region (no zone column): OCI
names availability domains per tenancy, so the stack picks one by number."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.base import (
    Capabilities,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
    NodeState,
)
from stix.clouds.oci.options import OciOptions
from stix.clouds.resource import Lookup, ResourceType

if TYPE_CHECKING:
    from stix.placement import Placement

_IMAGE = re.compile(r"ocid1\.image\.oc\d+\.[a-z0-9-]*\.[a-z0-9]+|platform:[^:\s][^:]*:[0-9.]+"
                    r"(?::gpu)?")


class OciCloud(Cloud):
    name = "oci"
    credential_paths = ("~/.oci", "$OCI_CONFIG_FILE", "$OCI_CLI_KEY_FILE")
    # Preemptible instances cannot be stopped, only terminated; stix has no node-side
    # autostop action for OCI yet (`ignores` says so to a task asking for one).
    home_regions = ("us-ashburn-1", "us-phoenix-1", "us-chicago-1", "us-sanjose-1")
    capabilities = Capabilities(zoned_prices=False, stop_start=True)
    options_model: ClassVar[type[InfraOptions]] = OciOptions
    pulumi_packages = ("oci",)
    sdk_distributions = ("pulumi", "pulumi-oci")
    # metadata (SSH keys + base64 user_data) may hold 32,000 bytes in all: raw user-data
    # up to 23 KiB stays under it once base64-encoded beside the key.
    user_data_limit = 23 * 1024
    # OCI's documented API errors (status, code, message) as the provider reports them.
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = (
        ("capacity", r"Out of host capacity|InternalError.*[Cc]apacity|"
                     r"Out of capacity for shape"),
        ("quota", r"LimitExceeded|QuotaExceeded|[Ss]ervice limit"),
        ("credentials", r"NotAuthenticated|NotAuthorizedOrNotFound|"
                        r"did not find a proper configuration for (key|user|tenancy)|"
                        r"can not create client, bad configuration"),
    )

    ignores: ClassVar[dict[str, str]] = {
        "autostop": "an idle node still shuts itself down, but OCI keeps billing an instance "
                    "shut down from inside (only a stop through its API ends compute "
                    "billing) and stix has no OCI node action for that yet; `stix stop` or "
                    "`stix down` ends the bill",
    }

    def image_problem(self, ref: str) -> str | None:
        if _IMAGE.fullmatch(ref):
            return None
        return (f"{ref!r} is not an OCI image (an image OCID ocid1.image.oc1.<region>..., or "
                "platform:<OS>:<version>[:gpu] for the newest platform image)")



    def resource_types(self) -> tuple[ResourceType, ...]:
        from stix.clouds.oci.types import TYPES

        return TYPES

    def lookups(self) -> tuple[Lookup, ...]:
        from stix.clouds.oci.types import LOOKUPS

        return LOOKUPS

    def stack_config_keys(self, placement: Placement) -> dict[str, Any]:
        return {"oci:region": placement.region}

    def node_states(self, placement: Placement,
                    outputs: dict[str, Any]) -> dict[str, NodeState] | None:
        from stix.clouds.oci.nodes import node_states

        return node_states(placement)

    def autostop_problem(self, placement: Placement, down: bool) -> str | None:
        return "stix has no node-side autostop action for OCI yet"

    def infer_arch(self, instance_type: str) -> str:
        return "arm64" if instance_type.startswith(("VM.Standard.A1.", "VM.Standard.A2.",
                                                    "BM.Standard.A1.")) else "x86_64"

    def machine_types(self) -> dict[str, MachineType]:
        from stix.clouds.oci.machines import TYPES

        return TYPES

    def check_offer(self, instance_type: str, vcpus: float, memory_gib: float,
                    accelerator: str | None, count: float) -> str:
        from stix.clouds.oci.machines import flex_problem

        return flex_problem(instance_type) or super().check_offer(
            instance_type, vcpus, memory_gib, accelerator, count)

    def is_shared_core(self, instance_type: str) -> bool:
        # Burstable instances are a shape_config option stix does not set; E2.1.Micro is
        # the always-free fraction of a core.
        return instance_type == "VM.Standard.E2.1.Micro"

    snapshot = "stix.clouds.oci.snapshot"
    price_source = ("the OCI price list (apexapps.oracle.com cetools products API, no "
                    "credentials; preemptible is half of on-demand)")
    type_list_source = "stix.clouds.oci.machines"

    def fetch_prices(self, opener: Any, base: Any, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        from stix.clouds.oci.prices import fetch

        return fetch(opener, base, regions=regions)

    def not_counted(self, placement: Placement) -> list[str]:
        from stix.clouds.oci.machines import billed_when_stopped

        out = super().not_counted(placement)
        if billed_when_stopped(placement.instance_type):
            out.append(f"{placement.instance_type} while stopped: OCI keeps billing stopped "
                       "GPU instances (all but VM.GPU.A10) in full; "
                       "`stix down` ends that")
        return out

    def disk_price_gb_month(self, tier: str, region: str) -> float | None:
        from stix.clouds.oci.program import VPUS

        # Block Volume storage 0.0255 $/GB-month plus 0.0017 $/GB-month per 1 VPU/GB.
        return 0.0255 + 0.0017 * VPUS[tier]
