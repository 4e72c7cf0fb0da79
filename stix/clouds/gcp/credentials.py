"""GCP credentials, where Google's client libraries and gcloud keep them.

No network without `verify`; verifying needs google-auth and says so when it is absent.
"""

from __future__ import annotations

import configparser
import json
import os
from pathlib import Path

from stix.clouds.base import CredentialStatus

_HINT = ("run `gcloud auth application-default login`, or point GOOGLE_APPLICATION_CREDENTIALS "
         "at a service-account key file")
_PROJECT_ENVS = ("GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT", "GCLOUD_PROJECT")


def _gcloud_dir() -> Path:
    return Path(os.environ.get("CLOUDSDK_CONFIG") or Path.home() / ".config" / "gcloud")


def _json_project(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("project_id") or data.get("quota_project_id")
    return value if isinstance(value, str) else None


def _gcloud_project(config_dir: Path) -> str | None:
    active = config_dir / "active_config"
    try:
        name = active.read_text(encoding="utf-8").strip() or "default"
    except OSError:
        name = "default"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(config_dir / "configurations" / f"config_{name}", encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    return parser.get("core", "project", fallback=None)


def find_sources() -> tuple[list[str], list[str], str | None]:
    """(credential sources, problems, project id) — names and paths only."""
    sources: list[str] = []
    problems: list[str] = []
    project = next((os.environ[e] for e in _PROJECT_ENVS if os.environ.get(e)), None)
    key = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if key:
        path = Path(key).expanduser()
        if path.is_file():
            sources.append(f"GOOGLE_APPLICATION_CREDENTIALS ({path})")
            project = project or _json_project(path)
        else:
            problems.append(f"GOOGLE_APPLICATION_CREDENTIALS points to {path}, which is not a file")
    config_dir = _gcloud_dir()
    adc = config_dir / "application_default_credentials.json"
    if adc.is_file():
        sources.append(f"application default credentials ({adc})")
        project = project or _json_project(adc)
    legacy = config_dir / "legacy_credentials"
    if (config_dir / "credentials.db").is_file() or (legacy.is_dir() and any(legacy.iterdir())):
        sources.append(f"gcloud auth login ({config_dir})")
    project = project or _gcloud_project(config_dir)
    return sources, problems, project


def verify_with_google_auth() -> CredentialStatus:
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError:
        return CredentialStatus("gcp", False, "verifying needs google-auth (with requests), "
                                "which is not installed", hint="pip install google-auth requests")
    try:
        creds, project = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"])
        creds.refresh(google.auth.transport.requests.Request())
    except Exception as exc:  # google-auth raises several unrelated types
        return CredentialStatus("gcp", False, f"google-auth could not get a token: {exc}",
                                hint=_HINT)
    return CredentialStatus("gcp", True, f"token obtained; project {project or 'not set'}",
                            sources=["google.auth.default()"])


def check(verify: bool = False) -> CredentialStatus:
    """Where credentials are, from env vars and files; `verify` asks the cloud."""
    if verify:
        return verify_with_google_auth()
    sources, problems, project = find_sources()
    if not sources:
        return CredentialStatus("gcp", False, "; ".join(problems) or "no GCP credentials found",
                                hint=_HINT)
    notes = list(problems)
    if project is None:
        notes.append("no project set: set GOOGLE_CLOUD_PROJECT or "
                     "`gcloud config set project ID`")
    detail = f"credentials from {sources[0]}; project {project or 'not set'}"
    return CredentialStatus("gcp", True, detail, hint="; ".join(notes) or None,
                            sources=sources)
