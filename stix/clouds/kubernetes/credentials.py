"""Kubernetes credentials (kubeconfig contexts, or a pod's service account) and the pod
offers sized to each requirement.

No network without `verify`; verifying uses the kubernetes client or `kubectl`, whichever
is installed, and says so when neither is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stix.catalog.schema import Offer
from stix.clouds.base import CredentialStatus

CLOUD = "kubernetes"
_HINT = "point KUBECONFIG at a kubeconfig file (or create ~/.kube/config)"
_SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def kubeconfig_paths() -> list[Path]:
    value = os.environ.get("KUBECONFIG")
    if value:
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _load(path: Path) -> dict[str, Any] | str:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return f"{path}: cannot be read ({type(exc).__name__})"
    return data if isinstance(data, dict) else f"{path}: not a kubeconfig mapping"


def find_contexts() -> tuple[list[str], str | None, list[str], list[str]]:
    """(context names, current context, sources, problems) from the kubeconfig files."""
    contexts: list[str] = []
    current: str | None = None
    sources: list[str] = []
    problems: list[str] = []
    for path in kubeconfig_paths():
        if not path.is_file():
            continue
        data = _load(path)
        if isinstance(data, str):
            problems.append(data)
            continue
        names = [c["name"] for c in data.get("contexts") or []
                 if isinstance(c, dict) and isinstance(c.get("name"), str)]  # fmt: skip
        if names:
            sources.append(f"kubeconfig {path}")
            contexts.extend(n for n in names if n not in contexts)
        if current is None and isinstance(data.get("current-context"), str):
            current = data["current-context"] or None
    if os.environ.get("KUBERNETES_SERVICE_HOST") and _SA_TOKEN.is_file():
        sources.append("in-cluster service account")
    return contexts, current, sources, problems


def _verify() -> CredentialStatus:
    try:
        from kubernetes import client, config
    except ImportError:
        client = config = None
    if client is not None and config is not None:
        try:
            config.load_kube_config()
            version = client.VersionApi().get_code()
        except Exception as exc:  # the client raises config, transport and API errors
            return CredentialStatus(CLOUD, False, f"cluster not reachable: {exc}",
                                    hint=_HINT)
        return CredentialStatus(CLOUD, True, f"API server {version.git_version}",
                                sources=["kubernetes client"])
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return CredentialStatus(CLOUD, False, "verifying needs the kubernetes Python "
                                "client or kubectl; neither is installed",
                                hint="pip install kubernetes")  # fmt: skip
    proc = subprocess.run([kubectl, "version", "-o", "json", "--request-timeout=10s"],
                          capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["kubectl failed"])[-1]
        return CredentialStatus(CLOUD, False, f"cluster not reachable: {last}", hint=_HINT)
    return CredentialStatus(CLOUD, True, "API server answered kubectl version",
                            sources=[kubectl])


def pod_offers(wants: Sequence[Any]) -> list[Offer]:
    """A pod sized to each requirement, in its pinned context (or the current one)."""
    _, current, _, _ = find_contexts()
    offers = []
    for want in wants:
        if want.cloud not in (None, CLOUD):
            continue
        acc = want.accelerator
        offers.append(Offer(
            cloud=CLOUD, instance_type="pod",
            vcpus=want.cpus.value if want.cpus else 2.0,
            memory_gib=want.memory.value if want.memory else 8.0,
            accelerator=acc.name if acc else None,
            accelerator_count=acc.count if acc else 0.0,
            accelerator_memory_gib=None,
            region=want.region or current or "default", zone=None,
            price=0.0, spot_price=None,
        ))
    return offers


def check(verify: bool = False) -> CredentialStatus:
    """Kubeconfig contexts (or a pod's service account); `verify` asks the API server."""
    if verify:
        return _verify()
    contexts, current, sources, problems = find_contexts()
    if not sources:
        return CredentialStatus(CLOUD, False, "; ".join(problems) or "no kubeconfig context found",
                                hint=_HINT)  # fmt: skip
    detail = (f"{len(contexts)} context(s), current {current or 'not set'}" if contexts
              else "running inside a cluster")  # fmt: skip
    return CredentialStatus(CLOUD, True, detail, sources=sources,
                            hint="; ".join(problems) or None)
