"""Where Vast's API key is (no network), and `--verify`: one authenticated call."""

from __future__ import annotations

import os

from stix.clouds.base import CredentialStatus

KEY_ENV = "VAST_API_KEY"
KEY_FILES = ("~/.config/vastai/vast_api_key", "~/.vast_api_key")  # the key alone

HINT = (f"create a key at https://cloud.vast.ai/manage-keys/ and export {KEY_ENV}=<key>, "
        f"or write it to {KEY_FILES[0]} (`vastai set api-key <key>` does)")


def api_key() -> str:
    """The key from the environment, else the first key file that holds one."""
    found = os.environ.get(KEY_ENV, "").strip()
    if found:
        return found
    for path in KEY_FILES:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text:
            return text.split()[0]
    return ""


def check(verify: bool = False) -> CredentialStatus:
    if os.environ.get(KEY_ENV, "").strip():
        source = f"${KEY_ENV}"
    else:
        source = next((p for p in KEY_FILES if _nonempty(p)), "")
    if not source:
        return CredentialStatus("vast", False, f"no Vast API key (${KEY_ENV}, "
                                f"{' or '.join(KEY_FILES)})", hint=HINT)
    if not verify:
        return CredentialStatus("vast", True, f"API key from {source} (not verified)",
                                sources=[source])
    return _verify(source)


def _nonempty(path: str) -> bool:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as fh:
            return bool(fh.read().strip())
    except OSError:
        return False


def _verify(source: str) -> CredentialStatus:
    from stix.clouds.dynamic import CloudError
    from stix.clouds.vast.api import API, client

    try:
        client({"base_url": API}).call("GET", "/instances/", what="list instances")
    except CloudError as exc:
        hint = HINT if exc.kind == "credentials" else "Vast's API did not answer; try again"
        return CredentialStatus("vast", False, f"API key from {source}: {exc}", hint=hint,
                                sources=[source])
    return CredentialStatus("vast", True, f"API key from {source} (verified: the instance "
                            "list answered)", sources=[source])
