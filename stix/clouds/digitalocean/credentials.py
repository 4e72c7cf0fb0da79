"""DigitalOcean credentials: an API token from the environment (what the Pulumi and
Terraform providers read) or doctl's config file.

No network without `verify`; verifying asks `GET /v2/account` with the token.
"""

from __future__ import annotations

import os
from pathlib import Path

from stix.clouds.base import CredentialStatus

API = "https://api.digitalocean.com/v2"
ENV_VARS = ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")
_HINT = ("create a token (Control Panel → API → Tokens, read and write scopes) and "
         "export DIGITALOCEAN_TOKEN=<token>; with doctl: "
         "export DIGITALOCEAN_TOKEN=$(doctl auth token)")


def doctl_configs() -> list[Path]:
    """Where doctl keeps its config (`doctl auth init` writes the access-token there)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [base / "doctl" / "config.yaml",
            Path.home() / "Library" / "Application Support" / "doctl" / "config.yaml"]


def doctl_token(path: Path) -> str | None:
    """The default context's access-token of a doctl config (None when it has none)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    token = data.get("access-token") if isinstance(data, dict) else None
    return token.strip() if isinstance(token, str) and token.strip() else None


def find_token() -> tuple[str | None, str | None]:
    """(token, where it came from): the environment first, then doctl's config."""
    for name in ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value, f"env {name}"
    for path in doctl_configs():
        if path.is_file():
            token = doctl_token(path)
            if token:
                return token, f"doctl config {path}"
    return None, None


def verify(token: str, source: str, api: str = API) -> CredentialStatus:
    from stix.clouds.rest import ApiError, call

    try:
        _, _, body = call("GET", f"{api}/account", token, what="DigitalOcean GET /v2/account")
    except ApiError as exc:
        return CredentialStatus("digitalocean", False, f"the token from {source} was refused: "
                                f"{exc.message}", hint=_HINT, sources=[source])
    account = body.get("account", {}) if isinstance(body, dict) else {}
    limit = account.get("droplet_limit")
    detail = f"token from {source} accepted (account {account.get('status', 'unknown')}"
    detail += f", droplet limit {limit})" if limit is not None else ")"
    return CredentialStatus("digitalocean", True, detail, sources=[source])


def check(verify_token: bool = False) -> CredentialStatus:
    """Where the token is, from env vars and doctl's file; `verify_token` asks the API."""
    token, source = find_token()
    if token is None or source is None:
        return CredentialStatus("digitalocean", False, "no DigitalOcean API token found "
                                f"({', '.join(ENV_VARS)} unset, no doctl access-token)",
                                hint=_HINT)
    if verify_token:
        return verify(token, source)
    if source.startswith("doctl"):
        # The engines' DigitalOcean provider reads only the environment.
        return CredentialStatus("digitalocean", False, f"a token is in the {source}, but the "
                                "engine's DigitalOcean provider reads only "
                                f"{' or '.join(ENV_VARS)}",
                                hint="export DIGITALOCEAN_TOKEN=$(doctl auth token)",
                                sources=[source])
    return CredentialStatus("digitalocean", True, f"API token from {source}", sources=[source])
