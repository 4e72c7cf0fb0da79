"""Nebius credentials: an IAM token in the environment or the Nebius CLI's profiles
(`~/.nebius/config.yaml`); a service account's credentials file is named per stack
(`extra.credentials_file`).

No network without `verify`; verifying runs `nebius iam whoami` (the CLI signs in the way
its profile says), since Nebius's API is gRPC and stix carries no client for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from stix.clouds.base import CredentialStatus

TOKEN_ENV = "NEBIUS_IAM_TOKEN"
HINT = ("install the Nebius CLI and run `nebius profile create` (it signs you in and writes "
        "~/.nebius/config.yaml with your project as parent-id), or export "
        f"{TOKEN_ENV}=$(nebius iam get-access-token); a service account's credentials file "
        "goes in the stack as extra.credentials_file")


def config_path() -> Path:
    return Path.home() / ".nebius" / "config.yaml"


def read_profiles(path: Path) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """(the default profile's name, profile name → its settings) of a CLI config."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None, {}
    if not isinstance(data, dict):
        return None, {}
    profiles = data.get("profiles")
    found = {str(k): v for k, v in profiles.items() if isinstance(v, dict)} if isinstance(
        profiles, dict) else {}
    default = data.get("default")
    return (str(default) if default else None), found


def find() -> tuple[str | None, str | None]:
    """(where the credentials are, the project they point at) — no network."""
    if os.environ.get(TOKEN_ENV, "").strip():
        return f"env {TOKEN_ENV}", None
    path = config_path()
    if path.is_file():
        default, profiles = read_profiles(path)
        name = default or next(iter(profiles), None)
        if name is not None and name in profiles:
            project = profiles[name].get("parent-id")
            return f"Nebius CLI profile {name!r} ({path})", str(project) if project else None
    return None, None


def verify(source: str) -> CredentialStatus:
    cli = shutil.which("nebius")
    if cli is None:
        return CredentialStatus("nebius", False, f"credentials from {source}; the Nebius CLI "
                                "(which --verify asks) is not installed", hint=HINT,
                                sources=[source])
    try:
        done = subprocess.run([cli, "iam", "whoami", "--format", "json"], capture_output=True,
                              text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CredentialStatus("nebius", False, f"nebius iam whoami failed: {exc}", hint=HINT,
                                sources=[source])
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return CredentialStatus("nebius", False, f"credentials from {source} were refused: "
                                f"{why[0]}", hint=HINT, sources=[source])
    return CredentialStatus("nebius", True, f"credentials from {source} accepted "
                            "(nebius iam whoami)", sources=[source])


def check(verify_them: bool = False) -> CredentialStatus:
    source, project = find()
    if source is None:
        return CredentialStatus("nebius", False, f"no Nebius credentials found ({TOKEN_ENV} "
                                f"unset, no {config_path()})", hint=HINT)
    if verify_them:
        return verify(source)
    detail = f"credentials from {source}"
    if project:
        detail += f", project {project}"
    return CredentialStatus("nebius", True, detail, sources=[source])
