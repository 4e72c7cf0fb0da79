"""The facts behind the shipped `catalog_data/runpod/` snapshot: every pod type of
`machines.py` in each Secure Cloud data center SkyPilot's RunPod catalog lists it in.

Regions and zones are SkyPilot's: a region is a country code (`US`, `CA`, `RO`, ...), a
zone one of RunPod's data centers in it (`US-GA-1`, `CA-MTL-1`, `EU-RO-1`); RunPod prices
a pod type the same in every data center. Which data center has a GPU free changes by
the minute (a deploy without one fails with "There are no longer any instances
available", and `up` fails over to the next placement)."""

from __future__ import annotations

from stix.catalog.snapshot import Image, Row, Shape, row
from stix.clouds.runpod.machines import POD_TYPES

DATA_CENTERS: dict[str, tuple[str, ...]] = {
    "CA": ("CA-MTL-1", "CA-MTL-2", "CA-MTL-3"),
    "CZ": ("EU-CZ-1",),
    "IS": ("EUR-IS-1", "EUR-IS-2", "EUR-IS-3"),
    "NL": ("EU-NL-1",),
    "RO": ("EU-RO-1",),
    "SE": ("EU-SE-1",),
    "US": ("US-CA-1", "US-CA-2", "US-DE-1", "US-GA-1", "US-GA-2", "US-IL-1", "US-KS-1",
           "US-KS-2", "US-NC-1", "US-TX-1", "US-TX-2", "US-TX-3", "US-TX-4", "US-WA-1"),
}
# Types SkyPilot's catalog lists in fewer regions than the rest.
ONLY_IN: dict[str, tuple[str, ...]] = {"8x_RTXA6000_SECURE": ("CA", "CZ", "IS", "NL", "RO", "SE")}

# The container image a pod runs unless the task names one (`image_id: docker:...`):
# RunPod's own images start sshd with the key in $PUBLIC_KEY.
GPU_IMAGE = "runpod/pytorch:2.1.0-py3.10-cuda11.8.0-devel-ubuntu22.04"
CPU_IMAGE = "runpod/base:1.0.2-ubuntu2204"
IMAGES: tuple[Image, ...] = (
    ("gpu-ubuntu-22.04-x86_64", "*", "ubuntu-22.04", GPU_IMAGE,
     "RunPod's PyTorch image (CUDA 11.8, PyTorch 2.1, sshd from $PUBLIC_KEY); default GPU "
     "pod image"),
    ("ubuntu-22.04-x86_64", "*", "ubuntu-22.04", CPU_IMAGE,
     "RunPod's base image (Ubuntu 22.04, sshd from $PUBLIC_KEY; SkyPilot's RunPod "
     "default); default CPU pod image"),
)


def rows() -> list[Row]:
    out: list[Row] = []
    for t in POD_TYPES.values():
        acc = t.gpu.accelerator if t.gpu else ""
        shape = Shape(t.name, t.vcpus, t.memory_gib, t.price, acc, t.count)
        for region in ONLY_IN.get(t.name, tuple(DATA_CENTERS)):
            out.extend(row(shape, region, zone, t.price, t.spot)
                       for zone in DATA_CENTERS[region])
    return out
