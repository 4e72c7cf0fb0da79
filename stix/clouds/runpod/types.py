"""The resource type of RunPod's program: a pod, a dynamic-provider type
(`stix.clouds.dynamic`), what forces its replacement, and what it exposes.

RunPod has no firewall: every public TCP mapping a pod asks for (`ports`) is open to the
internet. SSH is limited by the key's `from=` option when `ssh_cidrs` is set; the task's
ports cannot be limited, and the exposure list says so."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stix.clouds.resource import WORLD, Exposed, ResourceType

if TYPE_CHECKING:
    from stix.clouds.dynamic import DynamicType
    from stix.stack.graph import Graph, Resource

MODULE = "runpod"
PACKAGE = f"pulumi-python:dynamic/{MODULE}"  # = DynamicType.package
POD_INPUTS = ("name", "image", "cloud_type", "data_center_id", "gpu_type_id", "gpu_count",
              "cpu_instance_id", "min_vcpus", "min_memory_gb", "container_disk_gb", "ports",
              "env", "bid_per_gpu")  # RunPod changes none of these on a running pod


def pod_type() -> DynamicType:
    from stix.clouds.dynamic import DynamicType

    return DynamicType(MODULE, "Pod", "stix.clouds.runpod.api:Pod", replace_on=POD_INPUTS,
                       computed=("public_ip", "ssh_port", "ports_map", "status"))


def _pod(resource: Resource, graph: Graph) -> list[Exposed]:
    out = [Exposed("public_ip", f"{resource.name} has a public address (RunPod maps each "
                                "pod port to a public TCP port)")]
    ports = [p for p in str(resource.inputs.get("ports") or "").split(",") if p]
    key = str((resource.inputs.get("env") or {}).get("PUBLIC_KEY") or "")
    for port in ports:
        number = port.partition("/")[0]
        if number == "22":
            if not key.startswith("from="):
                out.append(Exposed("open", f"{resource.name}: tcp 22 open to "
                                           f"{', '.join(sorted(WORLD))}"))
        else:
            out.append(Exposed("open", f"{resource.name}: tcp {number} open to everyone "
                                       "(RunPod has no firewall; ssh_cidrs limits SSH only)"))
    return out


def resource_types() -> tuple[ResourceType, ...]:
    return (pod_type().resource_type(exposure=_pod),)
