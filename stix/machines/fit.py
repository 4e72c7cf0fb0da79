"""What a task asks of an existing host."""

from __future__ import annotations

from stix.errors import StixError
from stix.task import AcceleratorReq, Resources


def wanted_accelerator(resources: Resources) -> AcceleratorReq | None:
    acc = resources.accelerators
    if acc is None:
        return None
    if len(acc.options) > 1:
        raise StixError(f"accelerators: give one accelerator for existing machines, "
                        f"not alternatives ({', '.join(str(o) for o in acc.options)})")
    return acc.options[0]


def container_image(resources: Resources) -> str | None:
    """The `docker:` image the task runs in on the hosts; a machine image cannot apply."""
    image = resources.image_id
    return image if isinstance(image, str) and image.startswith("docker:") else None
