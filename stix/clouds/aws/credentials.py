"""AWS credentials, from the places the AWS SDKs look.

The check reads environment variables and the shared config files only (no network);
`verify` asks STS GetCallerIdentity through boto3, imported only then. boto3 honours
AWS_ENDPOINT_URL(_STS), which is how tests point it at a local emulator.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from stix.clouds.base import CredentialStatus

_PROFILE_KEYS = {
    "aws_access_key_id": "access key",
    "credential_process": "credential_process",
    "sso_session": "SSO",
    "sso_start_url": "SSO",
    "role_arn": "assumed role",
    "web_identity_token_file": "web identity",
}
_HINT = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws configure` "
         "(on EC2 an instance role is seen only with --verify)")


def _read_ini(path: Path) -> configparser.ConfigParser | str:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        return f"{path}: cannot be parsed ({type(exc).__name__})"
    return parser


def _profile_sources(profile: str) -> tuple[list[str], list[str]]:
    """Sources for `profile` in the shared credentials and config files, and problems."""
    sources: list[str] = []
    problems: list[str] = []
    home = Path.home()
    creds = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials")
    config = Path(os.environ.get("AWS_CONFIG_FILE") or home / ".aws" / "config")
    config_section = profile if profile == "default" else f"profile {profile}"
    sections = [(creds, profile), (config, config_section)]
    for path, section in sections:
        if not path.expanduser().is_file():
            continue
        parser = _read_ini(path.expanduser())
        if isinstance(parser, str):
            problems.append(parser)
            continue
        if parser.has_section(section):
            kinds = sorted({kind for key, kind in _PROFILE_KEYS.items()
                            if parser.has_option(section, key)})  # fmt: skip
            if kinds:
                sources.append(f"{path} [{section}] ({', '.join(kinds)})")
    return sources, problems


def find_sources() -> tuple[list[str], list[str]]:
    """Where credentials would come from (names and files, never values), and problems."""
    env = os.environ
    sources: list[str] = []
    problems: list[str] = []
    has_id, has_secret = bool(env.get("AWS_ACCESS_KEY_ID")), bool(env.get("AWS_SECRET_ACCESS_KEY"))
    if has_id and has_secret:
        sources.append("env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    elif has_id or has_secret:
        problems.append("only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set")
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("AWS_ROLE_ARN"):
        sources.append("env AWS_WEB_IDENTITY_TOKEN_FILE (web identity)")
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        sources.append("container credentials endpoint")
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    found, bad = _profile_sources(profile)
    sources.extend(found)
    problems.extend(bad)
    if not found and profile != "default":
        problems.append(f"profile {profile!r} (AWS_PROFILE) is not in the shared config files")
    return sources, problems


def verify_with_sts() -> CredentialStatus:
    """Ask STS who we are."""
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError:
        return CredentialStatus("aws", False, "verifying needs boto3, which is not installed",
                                hint="pip install boto3")
    session = boto3.session.Session()
    client = session.client(
        "sts", region_name=session.region_name or "us-east-1",
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}),
    )
    try:
        ident = client.get_caller_identity()
    except NoCredentialsError:
        return CredentialStatus("aws", False, "boto3 found no credentials", hint=_HINT)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        return CredentialStatus("aws", False, f"STS refused the credentials: "
                                f"{err.get('Code', '?')}: {err.get('Message', '')}".rstrip(": "),
                                hint=_HINT)  # fmt: skip
    except BotoCoreError as exc:
        return CredentialStatus("aws", False, f"cannot reach STS: {exc}")
    return CredentialStatus("aws", True, f"account {ident.get('Account')} as {ident.get('Arn')}",
                            sources=["STS GetCallerIdentity"])  # fmt: skip


def check(verify: bool = False) -> CredentialStatus:
    """Where credentials are, from env vars and files; `verify` asks the cloud."""
    if verify:
        return verify_with_sts()
    sources, problems = find_sources()
    if sources:
        return CredentialStatus("aws", True, f"credentials from {sources[0]}", sources=sources,
                                hint="; ".join(problems) or None)  # fmt: skip
    detail = "; ".join(problems) or "no AWS credentials found"
    return CredentialStatus("aws", False, detail, hint=_HINT)
