"""Every resource type the Kubernetes program emits (the node pools of managed clusters
are their clouds' types): what forces replacement and what the mocks answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stix.clouds.kubernetes import exposure
from stix.clouds.resource import MockAnswer, ResourceType


def _pod_status(state: dict[str, Any], mark: Callable[[str], str]) -> None:
    state["status"] = {"podIP": mark("status.podIP"), "hostIP": mark("status.hostIP")}


def _service_ip(state: dict[str, Any], mark: Callable[[str], str]) -> None:
    state.setdefault("spec", {})["clusterIP"] = mark("spec.clusterIP")


TYPES = (
    ResourceType("kubernetes:core/v1:Namespace", ("metadata.name",)),
    ResourceType("kubernetes:core/v1:Pod", ("metadata.name", "metadata.namespace", "spec"),
                 mock=MockAnswer(_pod_status)),
    ResourceType("kubernetes:core/v1:Service",
                 ("metadata.name", "metadata.namespace", "spec.clusterIP"),
                 mock=MockAnswer(_service_ip), exposure=exposure.service),
)
