"""Kubernetes infra options (`stix:extra` of a Kubernetes stack), including the node pool
added to a managed cluster (EKS, GKE, AKS)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from stix.clouds.base import InfraOptions, check_cidrs


class KubernetesOptions(InfraOptions):
    ssh_cidrs: list[str] | None = Field(None, description="CIDRs allowed to reach the "
                                        "task's ports (the LoadBalancer's source ranges)")
    context: str | None = Field(None, description="kubeconfig context (default: the region)")
    namespace: str | None = Field(None, description="namespace (default: the cluster name)")
    k8s_image: str | None = Field(None, description="container image of the node pods")
    ports_service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] | None = Field(
        None, description="how the task's ports are exposed (default LoadBalancer)")
    managed: str | None = Field(None, description="add a node pool to this managed "
                                "Kubernetes service's cluster (eks, gke, aks)")
    cluster_name: str | None = Field(None, description="the managed cluster to add the "
                                     "pool to")
    subnet_ids: list[str] | None = Field(None, description="EKS: subnets of the node group")
    node_role_arn: str | None = Field(None, description="EKS: an existing node role")
    project: str | None = Field(None, description="GKE: the cluster's project")
    resource_group: str | None = Field(None, description="AKS: the cluster's resource group")

    @field_validator("ssh_cidrs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("ssh_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str] | None) -> list[str] | None:
        return check_cidrs(value)
