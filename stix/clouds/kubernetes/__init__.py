"""Kubernetes: pods in a cluster, or pinned to a managed node pool (`cloud.KubernetesCloud`)."""
