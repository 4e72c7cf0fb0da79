"""GCP: Compute Engine instances in a stack-owned (or existing) VPC network.

Declares: provider (project from `extra.project` or the environment; region and zone),
network + subnetwork unless `extra.network`/`subnet_id` name existing ones, firewall rules
(SSH and the task's ports from `extra.ssh_cidrs` to the cluster's network tag; everything
between the cluster's nodes), the GCS buckets that die with the cluster (`persistent:
false`), a service account that can use exactly the task's GCS buckets (under autodown one
per node, each allowed to delete only its own instance), and one instance
per node: N1 hosts get guest accelerators, A2/A3/A4/G2 carry their GPUs built in; spot is
the SPOT provisioning model; a Cloud TPU placement gets one TPU VM per node instead
(`_tpu_vms`, facts in `tpu.py`);
GPU hosts stop for host maintenance (TERMINATE) since they cannot live-migrate. Each
instance's `desired_status` is its power state (TERMINATED: stopped by `stix stop`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from stix.clouds import common as c
from stix.clouds.gcp import tpu
from stix.clouds.gcp.options import GcpOptions
from stix.clouds.images import image_ref
from stix.placement import Placement

DISK = {"low": "pd-standard", "medium": "pd-balanced", "high": "pd-ssd", "ultra": "pd-extreme"}

# stix accelerator name -> GCP accelerator type (N1 guest accelerators)
ACCELERATOR_TYPES = {
    "T4": "nvidia-tesla-t4", "P4": "nvidia-tesla-p4", "V100": "nvidia-tesla-v100",
    "P100": "nvidia-tesla-p100", "K80": "nvidia-tesla-k80",
}  # fmt: skip
BUNDLED_FAMILIES = ("a2-", "a3-", "a4-", "g2-")


def guest_accelerators(p: Placement) -> list[dict[str, Any]]:
    """N1-style attached GPUs; empty for CPU machines and families with GPUs built in."""
    if p.accelerator is None or p.instance_type.startswith(BUNDLED_FAMILIES):
        return []
    kind = ACCELERATOR_TYPES.get(p.accelerator.name)
    if kind is None:
        raise c.ProgramError(f"placement {p.cluster}: {p.accelerator.name} cannot be attached "
                             f"to {p.instance_type} on GCP")
    return [{"type": kind, "count": int(p.accelerator.count)}]


_GCP_LABEL_BAD = re.compile(r"[^a-z0-9_-]")


def gcp_labels(placement: Placement) -> dict[str, str]:
    """GCP label rules: lowercase letters, digits, '_' and '-', at most 63 characters."""
    out = {}
    for key, value in c.labels(placement).items():
        k = _GCP_LABEL_BAD.sub("_", key.lower())[:63]
        if not k or not k[0].isalpha():
            k = ("l" + k)[:63]
        out[k] = _GCP_LABEL_BAD.sub("_", value.lower())[:63]
    return out


def _zone(p: Placement) -> str:
    if not p.zone:
        raise c.ProgramError(f"placement {p.cluster}: GCP instances need a zone")
    return p.zone


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:  # fmt: skip
    import pulumi
    import pulumi_gcp as gcp

    p = placement
    zone = _zone(p)
    labels = gcp_labels(p)
    tag = f"stix-{p.cluster}"
    provider = gcp.Provider(c.name(p, "gcp"), project=c.options(p, GcpOptions).project,
                            region=p.region, zone=zone)  # fmt: skip
    opts = pulumi.ResourceOptions(provider=provider)
    network, subnetwork = _network(p, opts)
    _firewalls(p, network, tag, opts)
    accounts = _accounts(p, labels, opts)
    if p.accelerator is not None and tpu.is_tpu(p.accelerator.name):
        nodes = _tpu_vms(p, zone, network, subnetwork, labels, tag, accounts,
                         user_data_for_rank, public_key, opts)
        return c.outputs(nodes, p.ssh_user, region=p.region, zone=zone)

    disk_type = DISK[c.tier(p)]
    gpus = guest_accelerators(p)
    scheduling: dict[str, Any] = {"on_host_maintenance": "TERMINATE" if p.accelerator
                                  else "MIGRATE", "automatic_restart": not p.use_spot}  # fmt: skip
    if p.use_spot:
        scheduling.update(provisioning_model="SPOT", preemptible=True,
                          instance_termination_action="DELETE")
    access = [] if c.is_private(p) else [{"network_tier": "PREMIUM"}]
    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        inst = gcp.compute.Instance(
            node, name=node, machine_type=p.instance_type, zone=zone,
            boot_disk={"auto_delete": True, "initialize_params": {
                "image": image_ref(p), "size": p.disk_size, "type": disk_type,
                "labels": labels}},
            network_interfaces=[{"subnetwork": subnetwork, "access_configs": access}],
            guest_accelerators=gpus or None, scheduling=scheduling,
            metadata={"user-data": user_data_for_rank(rank), "enable-oslogin": "FALSE",
                      "block-project-ssh-keys": "TRUE"},
            service_account=({"email": accounts[rank].email, "scopes": ["cloud-platform"]}
                             if accounts[rank] is not None else None),
            labels={**labels, "stix-node-rank": str(rank)}, tags=[tag],
            allow_stopping_for_update=True, opts=opts,
            desired_status="TERMINATED" if p.power == "stopped" else "RUNNING",
        )  # fmt: skip
        if self_deleting(p):
            _may_delete_itself(p, node, zone, inst, accounts[rank], opts)
        nic = inst.network_interfaces.apply(lambda n: n[0])
        nodes.append({
            "name": node,
            "private_ip": nic.apply(lambda n: n.network_ip),
            "public_ip": None if c.is_private(p) else nic.apply(
                lambda n: n.access_configs[0].nat_ip if n.access_configs else None),
        })  # fmt: skip
    return c.outputs(nodes, p.ssh_user, region=p.region, zone=zone)


def _tpu_vms(p: Placement, zone: str, network: Any, subnetwork: Any, labels: dict[str, str],
             tag: str, accounts: list[Any], user_data_for_rank: Callable[[int], str],
             public_key: str, opts: Any) -> list[dict[str, Any]]:
    """One single-host TPU VM per node. A TPU VM is its own host: no machine type, no
    boot disk settings (the runtime version is its image); spot is the TPU API's spot
    flag; it cannot be stopped from the stack. The SSH key is given twice, in cloud-init's
    user-data (as for instances; the TPU runtime images are Ubuntu with cloud-init) and in
    `ssh-keys`, which the guest agent of those images honours too."""
    import pulumi_gcp as gcp

    assert p.accelerator is not None
    if p.power == "stopped":
        raise c.ProgramError(f"placement {p.cluster}: a TPU VM cannot be kept stopped by stix",
                             hint=f"`stix down {p.cluster}` deletes it")
    if p.autostop_minutes is not None:
        # Its idle action (a shutdown from inside, or deleting itself through the Compute
        # API) does not stop or delete a TPU VM: billing would go on.
        raise c.ProgramError(f"placement {p.cluster}: a TPU VM cannot stop or delete itself "
                             "when idle (resources.autostop)",
                             hint="drop resources.autostop; `stix down` deletes the TPU VM")
    kind = tpu.accelerator_type(p.accelerator.name)
    version = tpu.runtime_version(p.accelerator.name, p.extra.set_fields().get(
        "accelerator_args"))
    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        vm = gcp.tpu.V2Vm(
            node, name=node, zone=zone, accelerator_type=kind, runtime_version=version,
            network_config={"network": network, "subnetwork": subnetwork,
                            "enable_external_ips": not c.is_private(p)},
            scheduling_config={"spot": True} if p.use_spot else None,
            metadata={"user-data": user_data_for_rank(rank), "enable-oslogin": "FALSE",
                      "block-project-ssh-keys": "TRUE",
                      "ssh-keys": f"{p.ssh_user}:{public_key.strip()}"},
            service_account=({"email": accounts[rank].email, "scopes": [
                "https://www.googleapis.com/auth/cloud-platform"]}
                if accounts[rank] is not None else None),
            labels={**labels, "stix-node-rank": str(rank)}, tags=[tag], opts=opts,
        )  # fmt: skip
        host = vm.network_endpoints.apply(lambda eps: eps[0])
        nodes.append({
            "name": node,
            "private_ip": host.apply(lambda e: e.ip_address),
            "public_ip": None if c.is_private(p) else host.apply(
                lambda e: e.access_configs[0].external_ip if e.access_configs else None),
        })  # fmt: skip
    return nodes


def _network(p: Placement, opts: Any) -> tuple[Any, Any]:
    import pulumi_gcp as gcp

    o = c.options(p, GcpOptions)
    network, subnet = o.network, o.subnet_id
    if network or subnet:
        if not (network and subnet):
            raise c.ProgramError(f"placement {p.cluster}: extra.network and extra.subnet_id "
                                 "go together on GCP")
        return network, subnet
    if c.is_private(p):
        raise c.ProgramError(
            f"placement {p.cluster}: private nodes need an existing subnetwork with Cloud NAT",
            hint="set extra.network and extra.subnet_id in the stack config",
        )
    net = gcp.compute.Network(c.name(p, "net"), name=c.name(p, "net"),
                              auto_create_subnetworks=False, opts=opts)
    sub = gcp.compute.Subnetwork(
        c.name(p, "subnet"), name=c.name(p, "subnet"), network=net.id, region=p.region,
        ip_cidr_range=o.subnet_cidr or c.DEFAULT_SUBNET_CIDR, opts=opts,
    )  # fmt: skip
    return net.id, sub.id


def _firewalls(p: Placement, network: Any, tag: str, opts: Any) -> None:
    import pulumi_gcp as gcp

    ports = ["22"] + [r.text for r in c.port_ranges(p)]
    gcp.compute.Firewall(
        c.name(p, "allow-in"), name=c.name(p, "allow-in"), network=network,
        direction="INGRESS", allows=[{"protocol": "tcp", "ports": ports}],
        source_ranges=c.ssh_cidrs(p), target_tags=[tag], opts=opts,
    )  # fmt: skip
    if p.num_nodes > 1:
        gcp.compute.Firewall(
            c.name(p, "allow-internal"), name=c.name(p, "allow-internal"), network=network,
            direction="INGRESS", allows=[{"protocol": "all"}], source_tags=[tag],
            target_tags=[tag], opts=opts,
        )  # fmt: skip


def _buckets(p: Placement, labels: dict[str, str], opts: Any) -> list[Any]:
    """The task's GCS buckets (names), creating those that die with the cluster."""
    from stix.clouds.gcp.buckets import bucket as new_bucket

    out: list[Any] = []
    for i, b in enumerate(b for b in p.buckets if b.store == "gcs"):
        if b.create and not b.persistent:  # the cluster's own: emptied and deleted with it
            out.append(new_bucket(c.name(p, f"bucket-{i}"), b.name, location=p.region,
                                  force_destroy=True, labels=labels, opts=opts).name)
        else:  # an existing bucket, or one with its own stack (stix.buckets)
            out.append(b.name)
    return out


def self_deleting(p: Placement) -> bool:
    """Autodown deletes the VM through the API with the VM's own identity."""
    return p.autostop_minutes is not None and p.autostop_down


def _accounts(p: Placement, labels: dict[str, str], opts: Any) -> list[Any]:
    """The service account of each node (None: the default, without scopes): one that may
    use exactly the task's buckets, and under autodown one per node, so that each may
    delete only its own VM (granted on the instance once it exists)."""
    import pulumi
    import pulumi_gcp as gcp

    buckets = _buckets(p, labels, opts)
    if self_deleting(p):
        tag = hashlib.sha256(p.cluster.encode()).hexdigest()[:8]
        accounts = [gcp.serviceaccount.Account(
            c.name(p, f"sa-{rank}"), account_id=f"stix-{tag}-{rank}",
            display_name=f"stix cluster {p.cluster} node {rank}", opts=opts)
            for rank in range(p.num_nodes)]
    elif buckets:
        shared = gcp.serviceaccount.Account(
            c.name(p, "sa"), account_id=f"stix-{p.cluster}"[:30].rstrip("-"),
            display_name=f"stix cluster {p.cluster}", opts=opts)
        accounts = [shared] * p.num_nodes
    else:
        return [None] * p.num_nodes
    for account in dict.fromkeys(accounts):
        member = pulumi.Output.concat("serviceAccount:", account.email)
        suffix = "" if len(set(accounts)) == 1 else f"-{accounts.index(account)}"
        for i, bucket in enumerate(buckets):
            gcp.storage.BucketIAMMember(c.name(p, f"bucket-{i}-access{suffix}"), bucket=bucket,
                                        role="roles/storage.objectAdmin", member=member,
                                        opts=opts)
    return accounts


def _may_delete_itself(p: Placement, node: str, zone: str, inst: Any, account: Any,
                       opts: Any) -> None:
    import pulumi
    import pulumi_gcp as gcp

    gcp.compute.InstanceIAMMember(
        f"{node}-self", instance_name=inst.name, zone=zone, role="roles/compute.instanceAdmin.v1",
        member=pulumi.Output.concat("serviceAccount:", account.email), opts=opts)
