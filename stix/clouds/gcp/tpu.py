"""Cloud TPU VMs as stix knows them: the TPU types it can make, where Google sells them,
their host, price, and the runtime version each boots by default.

A TPU VM is its own host: `tpu-v2-8` in a task (SkyPilot's name: `tpu-` + GCP's
accelerator type) is one TPU VM whose price covers the host; there is no machine type to
pair it with. stix makes single-host slices (one VM per node); a pod slice spans several
hosts that share one TPU resource and one metadata, which stix's per-node bootstrap does
not yet handle, so those are refused by name (`pod_slice_hosts`).

Facts, as Google publishes them (cloud.google.com/tpu/docs/regions-zones, .../tpu/docs/
v2 ... v6e system architecture pages, cloud.google.com/tpu/pricing; as of 2025-06):
zones per generation, vCPUs and memory of each single-host slice's VM, on-demand list
price per chip-hour in us-central1. Spot prices and other regions' factors are stix's
estimates (catalog_data/README.md says how), marked so in the catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stix.clouds.base import MachineType


@dataclass(frozen=True)
class Host:
    """One single-host slice: the TPU type (GCP's accelerator type) and its VM."""

    accelerator_type: str  # "v2-8"
    chips: int
    vcpus: float
    memory_gib: float


@dataclass(frozen=True)
class Generation:
    prefix: str  # the accelerator type's generation part: "v2", "v5litepod"
    chip_hour: float  # USD, on-demand, us-central1
    spot: tuple[float, float]  # spot discount range (estimated)
    hbm_gib_per_chip: float
    hosts: tuple[Host, ...]
    where: dict[str, str]  # region -> zone suffixes
    # The runtime version when the task gives none: SkyPilot's default, except where Google
    # documents another for the generation (v4: tpu-ubuntu2204-base, v5e: the -lite
    # runtime), since SkyPilot's would not boot there.
    runtime: str
    # The name counts TensorCores (2 per chip) rather than chips: v2, v3, v4, v5p.
    counts_cores: bool = True
    chips_per_host: int = 4


GENERATIONS: tuple[Generation, ...] = (
    Generation("v2", 1.125, (0.7, 0.7), 16, (Host("v2-8", 4, 96, 335),),
               {"us-central1": "bcf", "europe-west4": "a", "asia-east1": "c"}, "tpu-vm-base"),
    Generation("v3", 2.00, (0.7, 0.7), 32, (Host("v3-8", 4, 96, 335),),
               {"us-central1": "abf", "europe-west4": "a"}, "tpu-vm-base"),
    Generation("v4", 3.22, (0.6, 0.7), 32, (Host("v4-8", 4, 240, 407),),
               {"us-central2": "b"}, "tpu-ubuntu2204-base"),
    Generation("v5litepod", 1.20, (0.55, 0.65), 16, (
        Host("v5litepod-1", 1, 24, 48), Host("v5litepod-4", 4, 112, 192),
        Host("v5litepod-8", 8, 224, 384)),
        {"us-central1": "a", "us-south1": "a", "us-west1": "c", "us-west4": "a",
         "europe-west4": "b"}, "v2-alpha-tpuv5-lite", counts_cores=False),
    Generation("v5p", 4.20, (0.55, 0.65), 95, (Host("v5p-8", 4, 208, 448),),
               {"us-central1": "a", "us-east5": "a", "europe-west4": "b"}, "v2-alpha-tpuv5"),
    Generation("v6e", 2.70, (0.55, 0.65), 32, (
        Host("v6e-1", 1, 44, 176), Host("v6e-4", 4, 180, 720), Host("v6e-8", 8, 180, 1440)),
        {"us-central1": "b", "us-east1": "d", "us-east5": "ab", "europe-west4": "a",
         "asia-northeast1": "b"}, "v2-alpha-tpuv6e", counts_cores=False),
)  # fmt: skip
# Regions outside us-central1 list TPUs higher (europe-west4's v2-8: $4.95 against $4.50);
# the rest are priced as us-central1.
REGION_FACTOR = {"europe-west4": 1.1, "asia-east1": 1.16, "asia-northeast1": 1.15}
_NAME = re.compile(r"tpu-(v[0-9]+[a-z]*)-([0-9]+)")
BY_TYPE = {h.accelerator_type: (g, h) for g in GENERATIONS for h in g.hosts}


def is_tpu(accelerator: str | None) -> bool:
    return bool(accelerator) and str(accelerator).lower().startswith("tpu-")


def accelerator_type(accelerator: str) -> str:
    """GCP's accelerator type of a stix/SkyPilot TPU name: tpu-v2-8 → v2-8."""
    return accelerator.lower().removeprefix("tpu-")


def host(accelerator: str) -> tuple[Generation, Host] | None:
    """The generation and single-host slice of `accelerator`, if stix makes it."""
    return BY_TYPE.get(accelerator_type(accelerator))


def pod_slice_hosts(accelerator: str) -> int | None:
    """How many hosts a multi-host slice of a known generation spans (None: not one)."""
    match = _NAME.fullmatch(accelerator.lower())
    if match is None:
        return None
    gen = next((g for g in GENERATIONS if g.prefix == match.group(1)), None)
    if gen is None:
        return None
    chips = int(match.group(2)) // (2 if gen.counts_cores else 1)
    if host(accelerator) is not None or chips <= max(h.chips for h in gen.hosts):
        return None
    return max(2, chips // gen.chips_per_host)


def spelled_as(accelerator: str) -> str | None:
    """GCP's own spelling of a TPU type written another way (v5e is `v5litepod`)."""
    match = _NAME.fullmatch(accelerator.lower())
    if match is None or match.group(1) != "v5e":
        return None
    return f"tpu-v5litepod-{match.group(2)}"


def default_runtime(accelerator: str) -> str:
    """SkyPilot's runtime version when the task gives none."""
    found = host(accelerator)
    return found[0].runtime if found else "tpu-vm-base"


def runtime_version(accelerator: str, args: dict[str, object] | None) -> str:
    """The task's runtime version, unless it is none or a TPU Node's (said in its notes)."""
    from stix.task.values import is_tpu_node_version

    given = (args or {}).get("runtime_version")
    if not given or is_tpu_node_version(str(given)):
        return default_runtime(accelerator)
    return str(given)


def check_offer(instance_type: str, vcpus: float, memory_gib: float, accelerator: str | None,
                count: float) -> str:
    """Why a TPU row contradicts the TPU VM it names ("" when it does not)."""
    found = host(accelerator or "")
    if found is None:
        return f"{accelerator} is not a single-host TPU VM type stix makes"
    _, h = found
    if instance_type != "tpu-" + h.accelerator_type or count != 1:
        return f"a TPU VM row is its TPU type once: tpu-{h.accelerator_type} × 1"
    if abs(h.vcpus - vcpus) > 1e-6 or abs(h.memory_gib - memory_gib) > 0.05 * h.memory_gib:
        return (f"tpu-{h.accelerator_type}'s VM has {h.vcpus:g} vCPUs and {h.memory_gib:g} GiB, "
                f"the row says {vcpus:g} and {memory_gib:g}")
    return ""


def machine_types() -> dict[str, MachineType]:
    """The TPU VM types as machine types (`tpu-v2-8` × 1 with its VM), for the type list."""
    return {f"tpu-{h.accelerator_type}": MachineType(
        f"tpu-{h.accelerator_type}", h.vcpus, h.memory_gib, f"tpu-{h.accelerator_type}", 1)
        for g in GENERATIONS for h in g.hosts}  # fmt: skip
