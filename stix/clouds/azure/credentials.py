"""Azure credentials: a service principal or managed identity from the environment, or
`az login`'s profile.

No network without `verify`; verifying needs azure-identity and says so when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from stix.clouds.base import CredentialStatus

_HINT = ("run `az login`, or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET "
         "(and AZURE_SUBSCRIPTION_ID)")
_SECRET_ENVS = (
    "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE",
)


def _config_dir() -> Path:
    return Path(os.environ.get("AZURE_CONFIG_DIR") or Path.home() / ".azure")


def _profile_subscription(path: Path) -> tuple[str | None, int, str | None]:
    """(default subscription id, number of subscriptions, problem) from azureProfile.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))  # az writes a BOM
    except (OSError, ValueError) as exc:
        return None, 0, f"{path}: cannot be read ({type(exc).__name__})"
    subs = data.get("subscriptions") if isinstance(data, dict) else None
    if not isinstance(subs, list):
        return None, 0, None
    default = next((s.get("id") for s in subs if isinstance(s, dict) and s.get("isDefault")),
                   None)
    return (default if isinstance(default, str) else None), len(subs), None


def find_sources() -> tuple[list[str], list[str], str | None]:
    """(credential sources, problems, subscription id) — names and paths only."""
    env = os.environ
    sources: list[str] = []
    problems: list[str] = []
    subscription = env.get("AZURE_SUBSCRIPTION_ID") or None
    if env.get("AZURE_CLIENT_ID") and env.get("AZURE_TENANT_ID"):
        secret = next((e for e in _SECRET_ENVS if env.get(e)), None)
        if secret:
            sources.append(f"service principal (env AZURE_CLIENT_ID, {secret})")
        else:
            problems.append("AZURE_CLIENT_ID is set but none of " + ", ".join(_SECRET_ENVS))
    if env.get("IDENTITY_ENDPOINT") or env.get("MSI_ENDPOINT"):
        sources.append("managed identity endpoint")
    profile = _config_dir() / "azureProfile.json"
    if profile.is_file():
        default, count, problem = _profile_subscription(profile)
        if problem:
            problems.append(problem)
        elif count:
            sources.append(f"az login ({profile}, {count} subscriptions)")
            subscription = subscription or default
    return sources, problems, subscription


def verify_with_azure_identity() -> CredentialStatus:
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        return CredentialStatus("azure", False, "verifying needs azure-identity, which is not "
                                "installed", hint="pip install azure-identity")
    try:
        DefaultAzureCredential().get_token("https://management.azure.com/.default")
    except Exception as exc:  # azure-identity raises its own and transport errors
        return CredentialStatus("azure", False, f"azure-identity could not get a token: {exc}",
                                hint=_HINT)
    return CredentialStatus("azure", True, "token obtained for Azure Resource Manager",
                            sources=["DefaultAzureCredential"])


def check(verify: bool = False) -> CredentialStatus:
    """Where credentials are, from env vars and files; `verify` asks the cloud."""
    if verify:
        return verify_with_azure_identity()
    sources, problems, subscription = find_sources()
    if not sources:
        return CredentialStatus("azure", False,
                                "; ".join(problems) or "no Azure credentials found",
                                hint=_HINT)  # fmt: skip
    notes = list(problems)
    if subscription is None:
        notes.append("no subscription chosen: set AZURE_SUBSCRIPTION_ID")
    detail = f"credentials from {sources[0]}; subscription {subscription or 'not set'}"
    return CredentialStatus("azure", True, detail, hint="; ".join(notes) or None,
                            sources=sources)
