"""OCI (pulumi-oci): compute instances in a stack-owned VCN, or in an existing subnet.

Declares: provider (region), and unless `extra.subnet_id` names a subnet, a VCN, an
internet gateway, a route table sending 0.0.0.0/0 to it, a security list (SSH and the
task's ports from `extra.ssh_cidrs`; everything inside the VCN when the cluster has
several nodes, so they reach each other on their private addresses) and a regional
public subnet. Then one instance per node in availability domain `extra.availability_domain`
(1 by default; looked up by number, since OCI prefixes domain names per tenancy): a
flexible shape gets its OCPUs and memory, the boot volume the task's size and a VPU level
for its disk tier, the metadata the SSH key and cloud-init user-data (with a first-boot
script opening the image's host firewall to the task's ports and the cluster's network,
which Oracle's images otherwise close to all but SSH), spot becomes
preemptible capacity (terminated on preemption), and `state` is the power state (STOPPED
under `stix stop`). Everything goes in `extra.compartment_id`, or else in the tenancy's
root compartment as the OCI config names it; freeform tags carry the labels.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from stix.clouds import common as c
from stix.clouds.images import image_ref
from stix.clouds.oci import machines
from stix.clouds.oci.options import OciOptions
from stix.placement import Placement

PLATFORM = "platform:"
# What a compartment-less offline plan shows when no OCI config names a tenancy: OCI
# refuses it, so a stack planned so cannot be applied by mistake.
UNSET_COMPARTMENT = "<compartment: set extra.compartment_id or tenancy in ~/.oci/config>"
# disk tier → boot volume VPUs per GB (10 Balanced, 20 Higher Performance, 30+ Ultra High
# Performance; boot volumes have no Lower Cost level).
VPUS = {"low": 10, "medium": 10, "high": 20, "ultra": 30}
TCP = "6"
# Inside a subnet stix did not make, the cluster's network is some private range.
PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def compartment(p: Placement) -> str:
    from stix.clouds.oci.credentials import tenancy

    return c.options(p, OciOptions).compartment_id or tenancy() or UNSET_COMPARTMENT


def user_data(text: str) -> str:
    from stix.remote.cloudinit import user_data_payload

    return base64.b64encode(user_data_payload(text, "oci")).decode("ascii")


def host_firewall(p: Placement, inside: list[str]) -> str | None:
    """The shell that opens OCI's host firewall to the task's ports and, on a multi-node
    cluster, to the cluster's network: Oracle's platform images reject every inbound
    connection but SSH in iptables, whatever the security list allows. Rules go first in
    INPUT (ahead of the image's REJECT) and are saved so they survive a reboot; the image's
    own rules (only root may reach the boot volume's iSCSI endpoint) stay. None: nothing
    to open."""
    rules = [f"-p tcp -m state --state NEW --dport {r.low}:{r.high} -j ACCEPT"
             for r in c.port_ranges(p)]
    if p.num_nodes > 1:
        rules += [f"-s {cidr} -j ACCEPT" for cidr in inside]
    if not rules:
        return None
    lines = ["#!/bin/bash", "# stix: open the host firewall of an OCI platform image",
             "command -v iptables >/dev/null || exit 0"]
    lines += [f"iptables -I INPUT 1 {rule}" for rule in reversed(rules)]
    lines.append("command -v netfilter-persistent >/dev/null && netfilter-persistent save || true")
    return "\n".join(lines) + "\n"


_BOUNDARY = "==stix-oci-user-data=="


def with_script(cloud_config: str, script: str | None) -> str:
    """Cloud-init user-data of the cloud-config and, when given, a shell part run once at
    first boot (a MIME multipart, as cloud-init reads it; a fixed boundary keeps stacks
    reproducible)."""
    if script is None:
        return cloud_config
    parts = [("text/cloud-config", "stix.cfg", cloud_config),
             ("text/x-shellscript", "oci-host-firewall.sh", script)]
    out = [f'Content-Type: multipart/mixed; boundary="{_BOUNDARY}"', "MIME-Version: 1.0", ""]
    for kind, name, body in parts:
        out += [f"--{_BOUNDARY}", f'Content-Type: {kind}; charset="utf-8"',
                "MIME-Version: 1.0", f'Content-Disposition: attachment; filename="{name}"',
                "", body.rstrip("\n")]
    out += [f"--{_BOUNDARY}--", ""]
    return "\n".join(out)


def image_query(ref: str, arch: str) -> dict[str, Any]:
    """The image list query for a `platform:<OS>:<version>[:gpu]` reference: the newest
    platform image of that OS and version whose name says it is the plain (or GPU) build."""
    parts = ref[len(PLATFORM):].split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "gpu"):
        raise c.ProgramError(f"OCI image {ref!r} is not platform:<OS>:<version>[:gpu]")
    os_name, version = parts[0], parts[1]
    prefix = "-".join(os_name.split()) + "-" + version.replace(".", r"\.") + "-"
    build = "Gen2-GPU-" if len(parts) == 3 else "aarch64-" if arch == "arm64" else ""
    return {"operating_system": os_name, "operating_system_version": version,
            "sort_by": "TIMECREATED", "sort_order": "DESC",
            "filters": [{"name": "display_name", "values": [f"^{prefix}{build}\\d{{4}}\\."],
                         "regex": True}]}  # fmt: skip


def _newest(result: Any) -> str:
    """The newest image's OCID. The offline mocks answer no list (`images` is None): the
    lookup's own id then stands for its answer, keeping the reference in the graph."""
    if result.images is None:
        return str(result.id)
    if not result.images:
        raise c.ProgramError("OCI lists no platform image matching the boot image query",
                             hint="set resources.image_id to an image OCID")
    return str(result.images[0].id)


def _image(p: Placement, shape: str, where: str, opts: Any) -> Any:
    import pulumi
    import pulumi_oci as oci

    ref = image_ref(p)
    if not ref.startswith(PLATFORM):
        return ref
    found = oci.core.get_images_output(
        compartment_id=where, shape=shape, **image_query(ref, p.arch or "x86_64"),
        opts=pulumi.InvokeOutputOptions(provider=opts.provider))
    return found.apply(_newest)


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:  # fmt: skip
    import pulumi
    import pulumi_oci as oci

    p = placement
    o = c.options(p, OciOptions)
    tags = c.labels(p)
    where = compartment(p)
    provider = oci.Provider(c.name(p, "oci"), region=p.region)
    opts = pulumi.ResourceOptions(provider=provider)
    subnet_id = _network(p, where, tags, opts)
    inside = [o.vpc_cidr] if o.vpc_cidr else PRIVATE if o.subnet_id else [c.DEFAULT_VPC_CIDR]
    script = host_firewall(p, inside)
    domain = oci.identity.get_availability_domain_output(
        compartment_id=where, ad_number=o.availability_domain or 1,
        opts=pulumi.InvokeOutputOptions(provider=provider)).name

    shape, _, _ = machines.split(p.instance_type)
    size = machines.ocpus(p.instance_type)
    image = _image(p, shape, where, opts)
    preemptible = None
    if p.use_spot:
        preemptible = {"preemption_action": {"type": "TERMINATE",
                                             "preserve_boot_volume": False}}
    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        inst = oci.core.Instance(
            node, display_name=node, compartment_id=where, availability_domain=domain,
            shape=shape,
            shape_config={"ocpus": size[0], "memory_in_gbs": size[1]} if size else None,
            source_details={"source_type": "image", "source_id": image,
                            "boot_volume_size_in_gbs": str(p.disk_size),
                            "boot_volume_vpus_per_gb": str(VPUS[c.tier(p)])},
            create_vnic_details={"subnet_id": subnet_id, "display_name": node,
                                 "assign_public_ip": "false" if c.is_private(p) else "true",
                                 "freeform_tags": tags},
            metadata={"ssh_authorized_keys": public_key,
                      "user_data": user_data(with_script(user_data_for_rank(rank), script))},
            preemptible_instance_config=preemptible,
            state="STOPPED" if p.power == "stopped" else "RUNNING",
            freeform_tags={**tags, "stix-node-rank": str(rank)}, opts=opts,
        )  # fmt: skip
        nodes.append({"name": node, "private_ip": inst.private_ip,
                      "public_ip": None if c.is_private(p) else inst.public_ip})
    return c.outputs(nodes, p.ssh_user, region=p.region)


def _network(p: Placement, where: str, tags: dict[str, str], opts: Any) -> Any:
    """The subnet the nodes go in: `extra.subnet_id`, or a stack-owned public one."""
    import pulumi_oci as oci

    o = c.options(p, OciOptions)
    if o.subnet_id:
        return o.subnet_id
    if c.is_private(p):
        raise c.ProgramError(
            f"placement {p.cluster}: private OCI nodes need an existing subnet (with a NAT "
            "gateway, reached over a VPN or bastion)", hint="set extra.subnet_id")
    vcn_cidr = o.vpc_cidr or c.DEFAULT_VPC_CIDR
    vcn = oci.core.Vcn(c.name(p, "vcn"), compartment_id=where, cidr_blocks=[vcn_cidr],
                       display_name=c.name(p, "vcn"), freeform_tags=tags, opts=opts)
    gateway = oci.core.InternetGateway(
        c.name(p, "igw"), compartment_id=where, vcn_id=vcn.id, enabled=True,
        display_name=c.name(p, "igw"), freeform_tags=tags, opts=opts)
    routes = oci.core.RouteTable(
        c.name(p, "rt"), compartment_id=where, vcn_id=vcn.id, display_name=c.name(p, "rt"),
        route_rules=[{"network_entity_id": gateway.id, "destination": "0.0.0.0/0",
                      "destination_type": "CIDR_BLOCK"}],
        freeform_tags=tags, opts=opts)  # fmt: skip
    rules = oci.core.SecurityList(
        c.name(p, "sl"), compartment_id=where, vcn_id=vcn.id, display_name=c.name(p, "sl"),
        ingress_security_rules=ingress(p, vcn_cidr),
        egress_security_rules=[{"protocol": "all", "destination": "0.0.0.0/0",
                                "destination_type": "CIDR_BLOCK", "description": "egress"}],
        freeform_tags=tags, opts=opts)  # fmt: skip
    subnet = oci.core.Subnet(
        c.name(p, "subnet"), compartment_id=where, vcn_id=vcn.id,
        cidr_block=o.subnet_cidr or c.DEFAULT_SUBNET_CIDR, display_name=c.name(p, "subnet"),
        route_table_id=routes.id, security_list_ids=[rules.id],
        prohibit_public_ip_on_vnic=False, freeform_tags=tags, opts=opts)  # fmt: skip
    return subnet.id


def ingress(p: Placement, vcn_cidr: str) -> list[dict[str, Any]]:
    """TCP to SSH and the task's ports from each allowed CIDR; all of the VCN to a
    multi-node cluster's nodes."""
    ranges = [c.PortRange(22, 22), *c.port_ranges(p)]
    rules: list[dict[str, Any]] = [
        {"protocol": TCP, "source": cidr, "source_type": "CIDR_BLOCK",
         "tcp_options": {"min": r.low, "max": r.high}, "description": f"tcp {r.text}"}
        for cidr in c.ssh_cidrs(p) for r in ranges
    ]  # fmt: skip
    if p.num_nodes > 1:
        rules.append({"protocol": "all", "source": vcn_cidr, "source_type": "CIDR_BLOCK",
                      "description": "between the cluster's nodes"})
    return rules
