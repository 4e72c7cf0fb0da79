"""GCP's rules for which machine types carry which GPUs.

GCP prices a GPU apart from the VM it is attached to, so a GCP offering is a pair:
- bundled families (A2, A3, A4, G2) come with a fixed GPU model and count, named by
  the machine type (`a2-highgpu-2g` is two A100 40GB);
- the older GPUs (T4, P4, V100, P100, K80) attach to N1 machines, up to a vCPU and
  memory limit per GPU count (https://cloud.google.com/compute/docs/gpus).
Both the SkyPilot importer and the billing-catalog fetcher build rows with these rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stix.clouds.base import MachineType, check_shape

# G2: the vCPU count of the machine type decides how many L4s it has.
_G2_L4 = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}

# family-kind → accelerator; the count is the "<N>g" suffix of the machine type.
_BUNDLED = {
    ("a2", "highgpu"): "A100", ("a2", "megagpu"): "A100", ("a2", "ultragpu"): "A100-80GB",
    ("a3", "highgpu"): "H100", ("a3", "edgegpu"): "H100", ("a3", "megagpu"): "H100-MEGA",
    ("a3", "ultragpu"): "H200", ("a4", "highgpu"): "B200",
}  # fmt: skip
_GPU_SUFFIX = re.compile(r"^(\d+)g$")

# GPU → count → (max vCPUs, max memory GiB) of the N1 host.
N1_LIMITS: dict[str, dict[int, tuple[int, int]]] = {
    "T4": {1: (48, 312), 2: (48, 312), 4: (96, 624)},
    "P4": {1: (24, 156), 2: (48, 312), 4: (96, 624)},
    "V100": {1: (12, 78), 2: (24, 156), 4: (48, 312), 8: (96, 624)},
    "P100": {1: (16, 104), 2: (32, 208), 4: (96, 624)},
    "K80": {1: (8, 52), 2: (16, 104), 4: (32, 208), 8: (64, 208)},
}

# Smallest host worth pairing, in vCPUs per GPU: a GPU on a 1-vCPU host starves. The
# figures follow the AWS machines built around the same GPUs (g4dn: 4, p3: 8).
_MIN_VCPUS_PER_GPU = {"T4": 4, "P4": 4, "V100": 8, "P100": 8, "K80": 4}


@dataclass(frozen=True)
class Bundled:
    accelerator: str
    count: int


def bundled_accelerator(machine_type: str) -> Bundled | None:
    """The GPUs that come with `machine_type` (A2/A3/A4/G2), or None for other families."""
    parts = machine_type.split("-")
    if len(parts) != 3:
        return None
    family, kind, size = parts
    if family == "g2" and kind == "standard" and size.isdigit():
        count = _G2_L4.get(int(size))
        return Bundled("L4", count) if count else None
    name = _BUNDLED.get((family, kind))
    match = _GPU_SUFFIX.match(size)
    if name is None or match is None:
        return None
    return Bundled(name, int(match.group(1)))


def is_bundled_family(machine_type: str) -> bool:
    """A2/A3/A4/G2 machine types: never sold without their GPUs."""
    return machine_type.split("-", 1)[0] in ("a2", "a3", "a4", "g2")


def attaches_to_n1(accelerator: str) -> bool:
    return accelerator in N1_LIMITS


def n1_host_fits(accelerator: str, count: float, vcpus: float, memory_gib: float) -> bool:
    """Whether an N1 machine of this size is a valid (and sensible) host for the GPUs."""
    limits = N1_LIMITS.get(accelerator, {})
    if not float(count).is_integer() or int(count) not in limits:
        return False
    max_cpus, max_mem = limits[int(count)]
    low = _MIN_VCPUS_PER_GPU.get(accelerator, 4) * count
    return low <= vcpus <= max_cpus and memory_gib <= max_mem


def is_n1(machine_type: str) -> bool:
    return machine_type.startswith("n1-")


# SkyPilot's host for an attached GPU when the task names neither cpus nor memory: an N1
# machine with at least this many vCPUs (by GPU and count) and 4 GiB per vCPU of those.
_HOST_VCPUS: dict[str, dict[int, int]] = {
    "K80": {1: 4, 2: 8, 4: 16, 8: 32, 16: 64},
    "V100": {1: 8, 2: 16, 4: 32, 8: 64},
    "T4": {1: 4, 2: 8, 4: 48},
    "P100": {1: 8, 2: 16, 4: 32, 8: 64},
}
_HOST_VCPUS_OTHER = {1: 8, 2: 16, 4: 32, 8: 64, 16: 128}  # P4 and any other attached GPU
HOST_GIB_PER_VCPU = 4


def default_host(accelerator: str, count: float) -> tuple[float, float] | None:
    """(vCPUs, GiB) at least, for the N1 host of `count` attached `accelerator`s."""
    if not attaches_to_n1(accelerator) or not float(count).is_integer():
        return None
    vcpus = _HOST_VCPUS.get(accelerator, _HOST_VCPUS_OTHER).get(int(count))
    if vcpus is None:
        return None
    return float(vcpus), float(vcpus * HOST_GIB_PER_VCPU)


def check_offer(types: dict[str, MachineType], machine_type: str, vcpus: float,
                memory_gib: float, accelerator: str | None, count: float) -> str:
    """Why a GCP row contradicts the published machine type or GPU pairing ("" if not)."""
    if accelerator is not None and is_n1(machine_type):
        why = check_shape(types.get(machine_type), vcpus, memory_gib, None, 0)
        if why:
            return why
        if not attaches_to_n1(accelerator):
            return f"{accelerator} does not attach to N1 machines"
        limits = N1_LIMITS[accelerator]
        if not float(count).is_integer() or int(count) not in limits:
            return f"{accelerator} attaches in counts of {', '.join(map(str, limits))}"
        max_cpus, max_mem = limits[int(count)]
        if vcpus > max_cpus or memory_gib > max_mem:
            return (f"{accelerator}:{count:g} allows at most {max_cpus} vCPUs and {max_mem} GB "
                    f"on its N1 host")
        return ""
    return check_shape(types.get(machine_type), vcpus, memory_gib, accelerator, count)
