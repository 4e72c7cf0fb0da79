"""RunPod credentials: an API key from `$RUNPOD_API_KEY` or `~/.runpod/config.toml`
(what `runpod config` writes: `api_key = "..."` under `[default]`).

No network without `verify`; verifying asks the GraphQL API who the key belongs to
(`myself { id }`)."""

from __future__ import annotations

import os
from pathlib import Path

from stix.clouds.base import CredentialStatus
from stix.clouds.runpod.api import API, KEY_ENV, KEY_FILE

_HINT = ("create an API key (RunPod console → Settings → API Keys, read/write) and "
         f"export {KEY_ENV}=<key>, or run `pip install runpod && runpod config` "
         f"(writes {KEY_FILE})")


def find_key() -> tuple[str | None, str | None]:
    """(key, where it came from): the environment first, then runpod's config file."""
    from stix.clouds.dynamic import token_from

    value = os.environ.get(KEY_ENV, "").strip()
    if value:
        return value, f"env {KEY_ENV}"
    path = Path(KEY_FILE).expanduser()
    if path.is_file():
        found = token_from("", str(path))
        if found:
            return found, f"config {path}"
    return None, None


def verify(key: str, source: str, api: str = API) -> CredentialStatus:
    from stix.clouds.rest import ApiError, call

    try:
        _, _, body = call("POST", f"{api}/graphql", key, {"query": "query { myself { id } }"},
                          what="RunPod GraphQL myself")
    except ApiError as exc:
        return CredentialStatus("runpod", False, f"the key from {source} was refused: "
                                f"{exc.message}", hint=_HINT, sources=[source])
    errors = body.get("errors") if isinstance(body, dict) else None
    me = ((body.get("data") or {}).get("myself") or {}) if isinstance(body, dict) else {}
    if errors or not me:
        why = errors[0].get("message") if errors and isinstance(errors[0], dict) else "no user"
        return CredentialStatus("runpod", False, f"the key from {source} was refused: {why}",
                                hint=_HINT, sources=[source])
    return CredentialStatus("runpod", True, f"key from {source} accepted (user {me.get('id')})",
                            sources=[source])


def check(verify_key: bool = False) -> CredentialStatus:
    """Where the key is; `verify_key` asks the API."""
    key, source = find_key()
    if key is None or source is None:
        return CredentialStatus("runpod", False, f"no RunPod API key found ({KEY_ENV} unset, "
                                f"no api_key in {KEY_FILE})", hint=_HINT)
    if verify_key:
        return verify(key, source)
    return CredentialStatus("runpod", True, f"API key from {source}", sources=[source])
