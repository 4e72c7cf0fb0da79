"""RunPod's Pulumi program: one pod per node (a resource of stix's dynamic provider,
`api.py`), running the task's container image (`image_id: docker:...`) or RunPod's own
image with sshd, with the stack's public key in `$PUBLIC_KEY` (RunPod's images write it to
root's authorized_keys) and public TCP mappings for SSH and the task's ports.

A pod runs a container, not a VM: no cloud-init runs, so the node phase sets the node up
over SSH as on existing machines, as root. RunPod pods of one account share no private
network (Instant Clusters aside), so a cluster is one node: the optimizer leaves RunPod
out of multi-node tasks and this program refuses them too."""

from __future__ import annotations

from typing import Any

from stix.clouds import common as c
from stix.clouds.base import UserData
from stix.clouds.runpod.api import API, SSH_PORT
from stix.clouds.runpod.machines import POD_TYPES, SECURE, PodType
from stix.clouds.runpod.options import RunPodOptions
from stix.placement import Placement

SSH_USER = "root"  # RunPod's images log in as root


def settings() -> dict[str, Any]:
    """What the provider keeps in the state besides the type: where the API is."""
    return {"base_url": API}


def pod_type(p: Placement) -> PodType:
    found = POD_TYPES.get(p.instance_type)
    if found is None:
        raise c.ProgramError(f"placement {p.cluster}: {p.instance_type!r} is not a RunPod pod "
                             "type stix knows", hint="`stix show-gpus --cloud runpod` lists them")
    return found


def container_image(p: Placement) -> str:
    """The image the pod runs: the task's `docker:` image, else the catalog's default."""
    from stix.clouds.images import image_ref

    given = p.image_id or ""
    return given.removeprefix("docker:") if given.startswith("docker:") else image_ref(p)


def port_list(p: Placement) -> str:
    """`22/tcp` and every task port as `<port>/tcp` (RunPod maps each to a public port;
    ranges are expanded, as RunPod takes single ports)."""
    ports = [SSH_PORT]
    for r in c.port_ranges(p):
        ports.extend(x for x in range(r.low, r.high + 1) if x != SSH_PORT)
    return ",".join(f"{x}/tcp" for x in ports)


def authorized_key(p: Placement, public_key: str) -> str:
    """The key line RunPod writes to authorized_keys: limited to `ssh_cidrs` by sshd's
    `from=` option when they are set (RunPod has no firewall to do it)."""
    cidrs = getattr(p.extra, "ssh_cidrs", None)
    key = public_key.strip()
    return f'from="{",".join(sorted(cidrs))}" {key}' if cidrs else key


def pod_inputs(p: Placement, public_key: str) -> dict[str, Any]:
    t = pod_type(p)
    inputs: dict[str, Any] = {
        "name": c.node_name(p, 0), "image": container_image(p), "cloud_type": SECURE,
        "data_center_id": p.zone, "container_disk_gb": int(p.disk_size),
        "ports": port_list(p), "env": {"PUBLIC_KEY": authorized_key(p, public_key)},
        "gpu_type_id": None, "gpu_count": 0, "cpu_instance_id": None, "min_vcpus": 0,
        "min_memory_gb": 0, "bid_per_gpu": None,
    }  # fmt: skip
    if t.gpu is None:
        inputs["cpu_instance_id"] = t.name
    else:
        inputs.update({"gpu_type_id": t.gpu.gpu_id, "gpu_count": t.count,
                       "min_vcpus": int(t.vcpus), "min_memory_gb": int(t.memory_gib)})
    if p.use_spot:
        if t.gpu is None or t.spot is None:
            raise c.ProgramError(f"placement {p.cluster}: RunPod has no interruptible "
                                 f"{p.instance_type} pod", hint="drop use_spot")
        # The bid is the catalog's interruptible price, per GPU as RunPod takes it.
        inputs["bid_per_gpu"] = round(p.hourly_price / t.count, 4)
    return inputs


def build(p: Placement, user_data_for_rank: UserData, public_key: str) -> dict[str, Any]:
    from stix.clouds.dynamic import declare
    from stix.clouds.runpod.types import pod_type as dynamic_pod

    c.options(p, RunPodOptions)
    if p.num_nodes > 1:
        raise c.ProgramError(f"placement {p.cluster}: RunPod pods share no private network, "
                             f"so stix runs one node per RunPod cluster, not {p.num_nodes}",
                             hint="set num_nodes: 1, or choose another cloud")
    node = c.node_name(p, 0)
    pod = declare(dynamic_pod(), node, pod_inputs(p, public_key), settings())
    nodes = [{"name": node, "public_ip": pod.public_ip, "private_ip": None,
              "ssh_port": pod.ssh_port, "ports": pod.ports_map}]
    return c.outputs(nodes, SSH_USER, region=p.region, zone=p.zone)
