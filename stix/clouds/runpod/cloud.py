"""RunPod as stix knows it: Secure Cloud GPU and CPU pods, one container per node, reached
over SSH through the public TCP port RunPod maps to the pod's port 22.

What it cannot do, said where it matters:
- one node per cluster: pods share no private network (RunPod's Instant Clusters are a
  separate product), so the optimizer leaves RunPod out of multi-node tasks;
- no `stix stop`: RunPod can stop a pod (its volume kept and billed, its container disk
  wiped, its GPU not held, its SSH port remapped on resume), which is not the stop stix
  offers elsewhere; `stix down` terminates the pod; no autostop on the node either;
- no firewall: the task's ports are open to everyone (said in the plan); `ssh_cidrs` limits
  SSH through sshd's `from=` on the key;
- no tags: a pod's name (`<cluster>-0`) is all it carries;
- no Terraform translation (the Terraform engine cannot run a Pulumi dynamic provider);
- interruptible (spot) pods for the GPU types RunPod prices so, bid at that price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.base import (
    HOURS_PER_MONTH,
    Capabilities,
    Charge,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
)
from stix.clouds.runpod.options import RunPodOptions

# RunPod's storage page (docs.runpod.io/pods/storage): a pod's container disk is $0.10 per
# GB-month while it runs (and is wiped when a pod stops).
CONTAINER_DISK_GB_MONTH = 0.10

if TYPE_CHECKING:
    from stix.placement import Placement


class RunPodCloud(Cloud):
    name = "runpod"
    credential_paths = ("~/.runpod",)
    home_regions = ("US", "CA")
    capabilities = Capabilities(spot=True, stop_start=False, container_images=True,
                                multi_node=False, port_firewall=False)
    options_model: ClassVar[type[InfraOptions]] = RunPodOptions
    pulumi_packages = ("pulumi-python:dynamic/runpod",)
    sdk_distributions = ("pulumi",)
    # RunPod's error codes and messages as the engine prints them; the provider also marks
    # each error it classifies ([stix failover: KIND]).
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = (
        ("capacity", r"SUPPLY_CONSTRAINT|no longer any instances available"),
        ("quota", r"INSUFFICIENT_BALANCE|over your current spending limit"),
        ("credentials", r"runpod [^\n]*(?:Unauthori[sz]ed|Forbidden|HTTP 40[13])"),
    )
    ignores: ClassVar[dict[str, str]] = {
        "disk_tier": "a RunPod pod's container disk has one tier",
    }

    def image_problem(self, ref: str) -> str | None:
        image = ref.removeprefix("docker:")
        if image.strip() and not any(ch.isspace() for ch in image):
            return None
        return f"{ref!r} is not a container image reference (RunPod pods run one)"




    # -- prices and pod types ------------------------------------------------------------

    snapshot = "stix.clouds.runpod.snapshot"
    price_source = "the RunPod GraphQL API's gpuTypes query (no account needed)"
    type_list_source = "stix.clouds.runpod.machines"

    def fetch_prices(self, opener: Any, base: Any, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        """GraphQL is a POST, which the generic GET opener cannot send: the fetch posts
        itself (with the API key when one is set; gpuTypes answers without one)."""
        from stix.clouds.runpod.api import api_key
        from stix.clouds.runpod.prices import fetch, http_post

        return fetch(http_post(key=api_key()), base, regions=regions)

    def machine_types(self) -> dict[str, MachineType]:
        from stix.clouds.runpod.machines import TYPES

        return TYPES

    def node_charges(self, placement: Placement) -> list[Charge]:
        """The pod's container disk (its size is the task's disk_size); the pod's price
        covers its GPUs, vCPUs, memory and public address, and transfer is free."""
        hourly = CONTAINER_DISK_GB_MONTH * placement.disk_size / HOURS_PER_MONTH
        return [Charge(f"container disk {placement.disk_size} GB", "disk", hourly, 0.0)]
