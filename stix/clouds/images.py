"""Which boot image a node gets: the task's `image_id`, else the catalog's default for the
cloud, region, architecture and whether the node has GPUs (`catalog_data/<cloud>/images.csv`).

References stay references (an SSM parameter, an image family, a marketplace URN): what
a reference means is the cloud program's business.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from stix.errors import StixError
from stix.placement import Placement


class ImageError(StixError):
    """No image can be chosen for a placement."""


@cache
def _rows(path: Path) -> tuple[tuple[str, str, str], ...]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return tuple((r["tag"], r["region"], r["image_ref"]) for r in reader if r.get("tag"))


def catalog_image(cloud: str, region: str, tag: str, directory: Path | None = None) -> str | None:
    from stix.paths import catalog_dir

    path = (directory or catalog_dir()) / cloud / "images.csv"
    if not path.is_file():
        return None
    exact = wildcard = None
    for row_tag, row_region, ref in _rows(path):
        if row_tag != tag:
            continue
        if row_region == region:
            exact = ref
        elif row_region == "*":
            wildcard = ref
    return exact or wildcard


def image_ref(placement: Placement) -> str:
    """The image reference for `placement`'s nodes."""
    given = placement.image_id
    if given and not given.startswith("docker:"):
        return given
    from stix.catalog.hardware import accelerator_stack

    arch = placement.arch or "x86_64"
    tags = [f"ubuntu-22.04-{arch}"]
    if placement.accelerator is not None:
        # The image with the accelerator's own stack (NVIDIA driver, Neuron SDK); a plain
        # image when the catalog has none for it, never another vendor's.
        tags.insert(0, f"{accelerator_stack(placement.accelerator.name)}-ubuntu-22.04-{arch}")
    for tag in tags:
        ref = catalog_image(placement.cloud, placement.region, tag)
        if ref:
            return ref
    raise ImageError(
        f"no image for {placement.cloud} {placement.region} ({arch}) in the catalog's images.csv",
        hint="set resources.image_id in the task",
    )
