"""The Kubernetes objects stix labelled (`stix orphans`): namespaces, services and pods
carrying `stix-cluster`, one kubeconfig context at a time, read with `kubectl get -o json`
(the API's own JSON; kubectl is what this cloud's credential check falls back to, and it
brings every auth plugin a kubeconfig may name). Objects a controller made for another
(`ownerReferences`) go with their owner and are left out. Pods are priced at $0/h here as
everywhere in stix: the cluster is paid for already.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from stix.clouds.tagged import CLUSTER_TAG, Deleted, Scan, ScanError, TaggedResource, stack_of

CLOUD = "kubernetes"
KINDS = "namespaces,services,pods"
ORDER = ("pod", "service", "namespace")
TIMEOUT = 60


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise ScanError("scanning Kubernetes needs kubectl, which is not on PATH",
                        hint="install kubectl (https://kubernetes.io/docs/tasks/tools/)")
    return found


def parse(context: str, item: dict[str, Any]) -> TaggedResource | None:
    """One item of `kubectl get -o json` as a tagged resource; ids as Pulumi's Kubernetes
    provider records them (`namespace/name`, or `name` for a namespace)."""
    meta = item.get("metadata") or {}
    stack = stack_of(meta.get("labels") or {})
    if stack is None or meta.get("ownerReferences"):
        return None
    kind = str(item.get("kind", "")).lower()
    name = meta.get("name", "")
    ns = meta.get("namespace")
    rid = f"{ns}/{name}" if ns else name
    phase = (item.get("status") or {}).get("phase")
    return TaggedResource(CLOUD, context, kind, rid, stack, name=name,
                          hourly_price=0.0 if kind == "pod" else None,
                          aliases=(meta["uid"],) if meta.get("uid") else (),
                          detail=str(phase).lower() if phase else "",
                          handle={"namespace": ns or ""})


def contexts(regions: list[str] | None) -> list[str]:
    from stix.clouds.kubernetes.credentials import find_contexts

    names, current, _, _ = find_contexts()
    if regions:
        return sorted(set(regions))
    return names or ([current] if current else [])


def scan(regions: list[str] | None) -> Scan:
    kubectl = _kubectl()
    wanted = contexts(regions)
    found = Scan(regions=wanted)
    for context in wanted:
        proc = subprocess.run([kubectl, "--context", context, "get", KINDS, "--all-namespaces",
                               "-l", CLUSTER_TAG, "-o", "json", "--request-timeout=20s"],
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["kubectl failed"])[-1]
            found.problems.append(f"kubernetes {context}: not scanned: {last}")
            continue
        try:
            items = json.loads(proc.stdout or "{}").get("items") or []
        except ValueError as exc:
            found.problems.append(f"kubernetes {context}: kubectl gave no JSON ({exc})")
            continue
        found.resources.extend(r for r in (parse(context, i) for i in items) if r)
    return found


def delete(resources: list[TaggedResource]) -> list[Deleted]:
    kubectl = _kubectl()
    out = []
    for r in sorted(resources, key=lambda r: ORDER.index(r.kind) if r.kind in ORDER else 0):
        argv = [kubectl, "--context", r.region, "delete", r.kind, r.name, "--ignore-not-found",
                "--wait=false", "--request-timeout=30s"]
        if r.handle.get("namespace"):
            argv += ["-n", r.handle["namespace"]]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        last = (proc.stderr.strip().splitlines() or ["kubectl failed"])[-1]
        out.append(Deleted(r) if proc.returncode == 0 else Deleted(r, last))
    return out
