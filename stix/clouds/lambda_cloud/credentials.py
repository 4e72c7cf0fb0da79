"""Lambda credentials: an API key in `$LAMBDA_API_KEY` or SkyPilot's
`~/.lambda_cloud/lambda_keys` (`api_key = ...`). `verify` asks the API
(`GET /instance-types`), the cheapest authenticated call."""

from __future__ import annotations

import os

from stix.clouds.base import CredentialStatus
from stix.clouds.lambda_cloud.api import KEY_ENV, KEY_FILE, api_key

HINT = (f"create an API key in the Lambda Cloud console (API keys), then export "
        f"{KEY_ENV}=<key> or write 'api_key = <key>' in {KEY_FILE}")


def check(verify: bool = False, base_url: str | None = None) -> CredentialStatus:
    key = api_key()
    if not key:
        return CredentialStatus("lambda", False, "no Lambda API key found", hint=HINT)
    source = f"${KEY_ENV}" if os.environ.get(KEY_ENV, "").strip() else KEY_FILE
    if not verify:
        return CredentialStatus("lambda", True, f"API key from {source} (not verified)",
                                sources=[source])
    from stix.clouds.dynamic import CloudError
    from stix.clouds.lambda_cloud.api import client

    try:
        client({"base_url": base_url} if base_url else {}).call(
            "GET", "/instance-types", what="list instance types")
    except CloudError as exc:
        return CredentialStatus("lambda", False, str(exc), hint=HINT, sources=[source])
    return CredentialStatus("lambda", True, f"API key from {source} (verified)",
                            sources=[source])
