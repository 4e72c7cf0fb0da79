"""Kubernetes as stix knows it: an existing cluster reached by kubeconfig context, one pod
per node; or a node pool added to a managed cluster (EKS, GKE, AKS: the pool is declared by
the cloud that runs that service) with the pods pinned to it.

A task's `infra: k8s/<context>` pins the context, which the optimizer reads as the region.
Pods are sized to the request and priced at $0/h (the cluster is already paid for).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.base import (
    Capabilities,
    Charge,
    Cloud,
    InfraOptions,
    UserData,
)
from stix.clouds.kubernetes.options import KubernetesOptions
from stix.clouds.resource import ResourceType

if TYPE_CHECKING:
    from stix.catalog.schema import Offer
    from stix.clouds.tagged import Deleted, Scan, TaggedResource
    from stix.placement import Placement

MANAGED_PROGRAM = "kubernetes-managed"


class KubernetesCloud(Cloud):
    name = "kubernetes"
    credential_paths = ("~/.kube", "$KUBECONFIG")
    # Setup and run inside pods (over kubectl exec) are not built yet: node_access None.
    skypilot_config: ClassVar[dict[str, str]] = {
        "pod_config": "pods use stix's pod spec",
        "custom_metadata": "no extra labels or annotations are set on the pods",
        "provision_timeout": "stix waits for the pods as long as it always does",
        "dws": "pods are scheduled without Dynamic Workload Scheduler",
        "kueue": "pods are scheduled without a Kueue queue",
        "remote_identity": "pods run as the namespace's default service account",
    }
    capabilities = Capabilities(uses_catalog=False, zoned_prices=False, spot=False,
                                node_access=None, container_images=True)
    options_model: ClassVar[type[InfraOptions]] = KubernetesOptions
    pulumi_packages = ("kubernetes",)
    sdk_distributions = ("pulumi", "pulumi-kubernetes")

    ignores: ClassVar[dict[str, str]] = {
        "disk_size": "pods use their node's disk; none is sized for them",
        "disk_tier": "pods use their node's disk; none is sized for them",
    }

    def image_problem(self, ref: str) -> str | None:
        return None if ref.strip() and not any(c.isspace() for c in ref) else (
            f"{ref!r} is not a container image reference")


    def label_problem(self, key: str, value: str) -> str | None:
        return None  # a loaded label is a Kubernetes label by definition

    def offers_for(self, wants: Sequence[Any]) -> list[Offer]:
        from stix.clouds.kubernetes.credentials import pod_offers

        return pod_offers(wants)

    def location(self, placement: Placement) -> str:
        return f"{self.name}/{self.context(placement)}"

    def no_node_phase(self, outputs: dict[str, Any]) -> str:
        ns = outputs.get("namespace") or "default"
        return (f"pods are up: kubectl -n {ns} get pods; stix does not run setup and run "
                "inside pods (over kubectl exec) yet")

    def context(self, placement: Placement) -> str:
        options = placement.extra
        assert isinstance(options, KubernetesOptions)
        return options.context or placement.region

    def managed_cloud(self, placement: Placement) -> Cloud | None:
        """The cloud whose managed service gets the node pool (None: plain pods)."""
        from stix.clouds import registry
        from stix.clouds.common import ProgramError

        options = placement.extra
        assert isinstance(options, KubernetesOptions)
        if options.managed is None:
            return None
        services = {c.capabilities.managed_kubernetes: c for c in registry.all_clouds()
                    if c.capabilities.managed_kubernetes}
        if options.managed not in services:
            raise ProgramError(f"placement {placement.cluster}: extra.managed must be one of "
                               f"{', '.join(sorted(services))}, not {options.managed!r}")
        return services[options.managed]

    def program_name(self, placement: Placement) -> str:
        return self.name if self.managed_cloud(placement) is None else MANAGED_PROGRAM

    def build(self, placement: Placement, user_data: UserData,
              public_key: str) -> dict[str, Any]:
        managed = self.managed_cloud(placement)
        if managed is None:
            from stix.clouds.kubernetes.program import build

            return build(placement, user_data, public_key)
        from stix.clouds.kubernetes.managed import build_managed

        return build_managed(placement, managed)

    def resource_types(self) -> tuple[ResourceType, ...]:
        from stix.clouds.kubernetes.types import TYPES

        return TYPES

    def stack_config_keys(self, placement: Placement) -> dict[str, Any]:
        return {"kubernetes:context": self.context(placement)}

    def catalog_cloud(self, placement: Placement) -> str | None:
        managed = self.managed_cloud(placement)
        return managed.name if managed is not None else None

    def node_charges(self, placement: Placement) -> list[Charge]:
        """Pods use their node's disk and the cluster's network: nothing per pod."""
        return []

    def not_counted(self, placement: Placement) -> list[str]:
        out = super().not_counted(placement)
        managed = self.managed_cloud(placement)
        if managed is None:
            out.append("the Kubernetes cluster itself (pods are priced at $0/h)")
        else:
            out.append(f"the node pool's disks and the {managed.capabilities.managed_kubernetes}"
                       " cluster itself")
        options = placement.extra
        assert isinstance(options, KubernetesOptions)
        if placement.ports and (options.ports_service_type or "LoadBalancer") == "LoadBalancer":
            out.append("the LoadBalancer Service of the task's ports (billed by the cluster's "
                       "cloud)")
        return out

    def tagged_resources(self, regions: list[str] | None) -> Scan:
        from stix.clouds.kubernetes.orphans import scan

        return scan(regions)

    def delete_tagged(self, resources: list[TaggedResource]) -> list[Deleted]:
        from stix.clouds.kubernetes.orphans import delete

        return delete(resources)
