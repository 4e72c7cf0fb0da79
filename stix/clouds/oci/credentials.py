"""OCI credentials: an API signing key named by the OCI config file (`~/.oci/config`, or
`OCI_CONFIG_FILE`; profile `OCI_CLI_PROFILE`, default DEFAULT), or the OCI CLI's
environment variables (`OCI_CLI_USER`, `OCI_CLI_TENANCY`, `OCI_CLI_FINGERPRINT`,
`OCI_CLI_KEY_FILE`, `OCI_CLI_REGION`), which win over the file field by field.

No network without `verify`; verifying signs one Identity call with the key (no SDK needed).
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path

from stix.clouds.base import CredentialStatus
from stix.errors import StixError

HINT = ("create an API signing key (docs.oracle.com/iaas/Content/API/Concepts/"
        "apisigningkey.htm) and write ~/.oci/config with a [DEFAULT] profile holding user, "
        "fingerprint, key_file, tenancy and region (`oci setup config` does this), or set "
        "OCI_CLI_USER, OCI_CLI_TENANCY, OCI_CLI_FINGERPRINT, OCI_CLI_KEY_FILE and "
        "OCI_CLI_REGION")
REQUIRED = ("user", "fingerprint", "key_file", "tenancy", "region")
_ENV = {"user": "OCI_CLI_USER", "fingerprint": "OCI_CLI_FINGERPRINT",
        "key_file": "OCI_CLI_KEY_FILE", "tenancy": "OCI_CLI_TENANCY",
        "region": "OCI_CLI_REGION"}  # fmt: skip


@dataclass
class Profile:
    """One OCI profile as stix reads it: its fields, where they came from, what is wrong."""

    name: str
    fields: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    passphrase: str | None = None  # the key's, when the config file gives one


def config_file() -> Path:
    return Path(os.path.expanduser(os.environ.get("OCI_CONFIG_FILE") or "~/.oci/config"))


def profile_name() -> str:
    return os.environ.get("OCI_CLI_PROFILE") or "DEFAULT"


def read_profile() -> Profile:
    """The profile's fields from the config file, then the environment (no network)."""
    profile = Profile(profile_name())
    path = config_file()
    if path.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError) as exc:
            profile.problems.append(f"{path}: cannot be read ({type(exc).__name__})")
        else:
            if parser.has_section(profile.name) or profile.name == "DEFAULT":
                section = parser[profile.name]
                found = {k: section[k].strip() for k in REQUIRED if section.get(k, "").strip()}
                profile.passphrase = section.get("pass_phrase") or None
                if found:
                    profile.fields.update(found)
                    profile.sources.append(f"{path} [{profile.name}]")
            else:
                profile.problems.append(f"{path} has no [{profile.name}] profile")
    from_env = {k: os.environ[v].strip() for k, v in _ENV.items() if os.environ.get(v, "").strip()}
    if from_env:
        profile.fields.update(from_env)
        profile.sources.append("env " + ", ".join(_ENV[k] for k in sorted(from_env)))
    key = profile.fields.get("key_file")
    if key and not Path(os.path.expanduser(key)).is_file():
        profile.problems.append(f"key_file {key} does not exist")
    return profile


def tenancy() -> str | None:
    """The tenancy OCID (its root compartment) from the config file or environment."""
    return read_profile().fields.get("tenancy")


def verify_profile(profile: Profile, base: str | None = None) -> CredentialStatus:
    """Ask OCI's Identity service for the profile's own user (GetUser), signed with its key."""
    from stix.clouds.oci import api

    try:
        signer = api.signer_from_config()
        url = (f"{base or 'https://identity.' + profile.fields['region'] + '.oraclecloud.com'}"
               f"/{api.API_VERSION}/users/{profile.fields['user']}")
        user, _ = api.get(signer, url, "OCI GetUser")
    except StixError as exc:
        return CredentialStatus("oci", False, f"OCI rejected the credentials: {exc}",
                                hint=HINT, sources=profile.sources)
    name = user.get("name") if isinstance(user, dict) else None
    return CredentialStatus("oci", True, f"signed in as {name or profile.fields['user']} "
                            f"(tenancy {profile.fields['tenancy']})", sources=profile.sources)


def check(verify: bool = False) -> CredentialStatus:
    """Where credentials are, from the config file and env vars; `verify` asks OCI."""
    profile = read_profile()
    missing = [k for k in REQUIRED if k not in profile.fields]
    if not profile.sources:
        detail = "; ".join(profile.problems) or f"no OCI config at {config_file()} and no " \
                                                "OCI_CLI_* variables"
        return CredentialStatus("oci", False, detail, hint=HINT)
    if missing or profile.problems:
        said = [f"profile {profile.name} lacks {', '.join(missing)}"] if missing else []
        return CredentialStatus("oci", False, "; ".join(said + profile.problems), hint=HINT,
                                sources=profile.sources)
    if verify:
        return verify_profile(profile)
    return CredentialStatus("oci", True, f"API key for tenancy {profile.fields['tenancy']} "
                            f"(profile {profile.name}, region {profile.fields['region']})",
                            sources=profile.sources)
