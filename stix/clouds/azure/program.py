"""Azure (azure-native): VMs in a stack-owned resource group and virtual network.

Declares: provider (location), resource group (or `extra.resource_group`), virtual
network, network security group (SSH and the task's ports from `extra.ssh_cidrs`; Azure's
default rules already allow traffic inside the virtual network), subnet, and per node a
public IP (unless `extra.private`), a NIC and a VM (Spot priority with a Delete eviction
policy when spot; cloud-init as base64 custom data; SSH key only, no password; boot
diagnostics in managed storage, whose serial log holds the host keys stix pins). Buckets
that die with the cluster (`persistent: false`) become a storage account and a blob
container here; persistent ones have stacks of their own. Each node's managed identity may
use exactly the task's containers (Storage Blob Data Contributor on each) and, when the
task sets autostop, deallocate or delete its own VM (Virtual Machine Contributor on it).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from stix.clouds import common as c
from stix.clouds.azure.cloud import AzureCloud
from stix.clouds.azure.options import AzureOptions
from stix.clouds.images import image_ref
from stix.placement import Placement

DISK = {"low": "Standard_LRS", "medium": "StandardSSD_LRS", "high": "Premium_LRS",
        "ultra": "Premium_LRS"}  # fmt: skip

# Azure's built-in "Storage Blob Data Contributor" role
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"  # Virtual Machine Contributor


def image_reference(p: Placement) -> dict[str, str]:
    """A marketplace URN `publisher:offer:sku:version`, or a full image resource id."""
    ref = image_ref(p)
    if ref.startswith("/"):
        return {"id": ref}
    parts = ref.split(":")
    if len(parts) != 4:
        raise c.ProgramError(f"placement {p.cluster}: Azure image {ref!r} is neither a "
                             "publisher:offer:sku:version URN nor an image resource id")
    return dict(zip(("publisher", "offer", "sku", "version"), parts, strict=True))


def custom_data(text: str) -> str:
    from stix.remote.cloudinit import user_data_payload

    return base64.b64encode(user_data_payload(text, "azure")).decode("ascii")


def _security_rules(p: Placement) -> list[dict[str, Any]]:
    cidrs = c.ssh_cidrs(p)
    ports = ["22"] + [r.text for r in c.port_ranges(p)]
    return [{
        "name": "stix-allow-in", "priority": 1000, "direction": "Inbound", "access": "Allow",
        "protocol": "Tcp", "source_address_prefixes": cidrs, "source_port_range": "*",
        "destination_address_prefix": "*", "destination_port_ranges": ports,
    }]  # fmt: skip


def build(placement: Placement, user_data_for_rank: Callable[[int], str],
          public_key: str) -> dict[str, Any]:  # fmt: skip
    import pulumi
    import pulumi_azure_native as az

    p = placement
    tags = c.labels(p)
    loc = p.region
    provider = az.Provider(c.name(p, "azure"), location=loc)
    opts = pulumi.ResourceOptions(provider=provider)
    o = c.options(p, AzureOptions)
    rg: Any = o.resource_group
    if not rg:
        rg = az.resources.ResourceGroup(c.name(p, "rg"), resource_group_name=f"stix-{p.cluster}",
                                        location=loc, tags=tags, opts=opts).name
    vnet = az.network.VirtualNetwork(
        c.name(p, "vnet"), virtual_network_name=c.name(p, "vnet"), resource_group_name=rg,
        location=loc, tags=tags, opts=opts,
        address_space={"address_prefixes": [o.vpc_cidr or c.DEFAULT_VPC_CIDR]},
    )  # fmt: skip
    nsg = az.network.NetworkSecurityGroup(
        c.name(p, "nsg"), network_security_group_name=c.name(p, "nsg"), resource_group_name=rg,
        location=loc, security_rules=_security_rules(p), tags=tags, opts=opts,
    )  # fmt: skip
    subnet = az.network.Subnet(
        c.name(p, "subnet"), subnet_name=c.name(p, "subnet"), resource_group_name=rg,
        virtual_network_name=vnet.name, network_security_group={"id": nsg.id},
        address_prefix=o.subnet_cidr or c.DEFAULT_SUBNET_CIDR, opts=opts,
    )  # fmt: skip
    containers = _buckets(p, rg, tags, opts)

    os_disk = {"create_option": "FromImage", "disk_size_gb": p.disk_size, "delete_option": "Delete",
               "managed_disk": {"storage_account_type": DISK[c.tier(p)]}}  # fmt: skip
    spot: dict[str, Any] = {}
    if p.use_spot:
        spot = {"priority": "Spot", "eviction_policy": "Delete",
                "billing_profile": {"max_price": -1}}
    nodes = []
    for rank in range(p.num_nodes):
        node = c.node_name(p, rank)
        ip_config: dict[str, Any] = {"name": "ipconfig", "subnet": {"id": subnet.id},
                                     "private_ip_allocation_method": "Dynamic"}  # fmt: skip
        public_ip = None
        if not c.is_private(p):
            pip = az.network.PublicIPAddress(
                f"{node}-ip", public_ip_address_name=f"{node}-ip", resource_group_name=rg,
                location=loc, public_ip_allocation_method="Static", sku={"name": "Standard"},
                tags=tags, opts=opts,
            )  # fmt: skip
            ip_config["public_ip_address"] = {"id": pip.id}
            public_ip = pip.ip_address
        nic = az.network.NetworkInterface(
            f"{node}-nic", network_interface_name=f"{node}-nic", resource_group_name=rg,
            location=loc, ip_configurations=[ip_config], tags=tags, opts=opts,
        )  # fmt: skip
        vm = az.compute.VirtualMachine(
            node, vm_name=node, resource_group_name=rg, location=loc,
            hardware_profile={"vm_size": p.instance_type},
            storage_profile={"image_reference": image_reference(p), "os_disk": os_disk},
            os_profile={
                "computer_name": node, "admin_username": p.ssh_user,
                "custom_data": custom_data(user_data_for_rank(rank)),
                "linux_configuration": {"disable_password_authentication": True, "ssh": {
                    "public_keys": [{"path": f"/home/{p.ssh_user}/.ssh/authorized_keys",
                                     "key_data": public_key}]}},
            },
            network_profile={"network_interfaces": [
                {"id": nic.id, "primary": True, "delete_option": "Delete"}]},
            # The serial log (managed storage) is where stix reads the host keys from.
            diagnostics_profile={"boot_diagnostics": {"enabled": True}},
            zones=[p.zone] if p.zone else None,
            identity={"type": "SystemAssigned"} if containers or acts_on_itself(p) else None,
            tags={**tags, "stix-node-rank": str(rank), **_power_tag(p)}, opts=opts, **spot,
        )  # fmt: skip
        _container_access(p, node, vm, containers, opts)
        if acts_on_itself(p):
            _may_power_itself(p, node, vm, opts)
        private_ip = nic.ip_configurations.apply(
            lambda cfgs: cfgs[0].private_ip_address if cfgs else None)
        nodes.append({"name": node, "private_ip": private_ip, "public_ip": public_ip})
    return c.outputs(nodes, p.ssh_user, region=loc, resource_group=rg)


def _power_tag(p: Placement) -> dict[str, str]:
    """azure-native has no declarative power state: `stix stop` deallocates through the
    Azure API (stix/clouds/azure/power.py) and the stack records it in a tag, so the plan
    and the pull request still show the stop as a change."""
    return {"stix-power": "stopped"} if p.power == "stopped" else {}


def _buckets(p: Placement, rg: Any, tags: dict[str, str], opts: Any) -> list[Any]:
    """The containers the nodes use, as resource ids: ones that die with the cluster
    (`persistent: false`: a storage account and container in this stack) and ones with a
    stack of their own (known by name)."""
    import pulumi
    import pulumi_azure_native as az

    from stix.buckets import kept, stack_name
    from stix.clouds.azure import buckets as blob

    store = AzureCloud.store
    assert store is not None
    accounts: dict[str, Any] = {}
    scopes: list[Any] = []
    client = None
    for i, b in enumerate(x for x in p.buckets if x.store == store.name and x.create):
        name = store.account(p.cluster, b)
        if kept(b):
            if client is None:
                client = az.authorization.get_client_config_output(
                    opts=pulumi.InvokeOutputOptions(provider=opts.provider))
            rg_name = blob.resource_group_of(stack_name(b.name))
            scopes.append(blob.container_id(client.subscription_id, rg_name, name, b.name))
            continue
        if name not in accounts:
            accounts[name] = blob.account(c.name(p, f"storage-{name}"), name, rg=rg,
                                          location=p.region, tags=tags, opts=opts)
        scopes.append(blob.container(c.name(p, f"bucket-{i}"), b.name,
                                     account_name=accounts[name].name, rg=rg, opts=opts).id)
    return scopes


def acts_on_itself(p: Placement) -> bool:
    """An OS shutdown leaves an Azure VM allocated (and billed): autostop deallocates (or
    autodown deletes) the VM through the Azure API with the VM's own identity."""
    return p.autostop_minutes is not None


def _may_power_itself(p: Placement, node: str, vm: Any, opts: Any) -> None:
    """Virtual Machine Contributor on this VM alone: it may deallocate or delete itself,
    nothing else."""
    import uuid

    import pulumi
    import pulumi_azure_native as az

    client = az.authorization.get_client_config_output(
        opts=pulumi.InvokeOutputOptions(provider=opts.provider))
    role = pulumi.Output.concat("/subscriptions/", client.subscription_id,
                                "/providers/Microsoft.Authorization/roleDefinitions/",
                                VM_CONTRIBUTOR)  # fmt: skip
    az.authorization.RoleAssignment(
        f"{node}-self", principal_id=vm.identity.apply(lambda i: i.principal_id if i else None),
        principal_type="ServicePrincipal", role_definition_id=role, scope=vm.id,
        role_assignment_name=str(uuid.uuid5(uuid.NAMESPACE_URL, f"stix:{p.cluster}:{node}:self")),
        opts=opts,
    )  # fmt: skip


def _container_access(p: Placement, node: str, vm: Any, scopes: list[Any],
                      opts: Any) -> None:  # fmt: skip
    """The node's managed identity may read and write exactly the task's containers."""
    import uuid

    import pulumi
    import pulumi_azure_native as az

    if not scopes:
        return
    client = az.authorization.get_client_config_output(
        opts=pulumi.InvokeOutputOptions(provider=opts.provider))
    role = pulumi.Output.concat("/subscriptions/", client.subscription_id,
                                "/providers/Microsoft.Authorization/roleDefinitions/",
                                BLOB_DATA_CONTRIBUTOR)  # fmt: skip
    principal = vm.identity.apply(lambda i: i.principal_id if i else None)
    for i, scope in enumerate(scopes):
        az.authorization.RoleAssignment(
            f"{node}-bucket-{i}-access", principal_id=principal, principal_type="ServicePrincipal",
            role_definition_id=role, scope=scope,
            role_assignment_name=str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                f"stix:{p.cluster}:{node}:{i}")),
            opts=opts,
        )  # fmt: skip
