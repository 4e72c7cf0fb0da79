"""Where the Pulumi engine keeps state and secrets, with safe embedded defaults.

Default: a file backend under ~/.stix/state and the passphrase secrets provider with a
generated passphrase kept 0600 under ~/.stix — no account needed. Teams point
`backend_url` at s3://, gs://, azblob:// or Pulumi Cloud, and `secrets_provider` at a KMS.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from stix.paths import stix_home
from stix.user_config import Config


@dataclass(frozen=True)
class EngineSettings:
    backend_url: str
    secrets_provider: str
    passphrase_file: Path | None
    pulumi_root: Path | None  # a stix-installed CLI (stix install-pulumi), else PATH

    def env(self) -> dict[str, str]:
        env = {"PULUMI_BACKEND_URL": self.backend_url, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        if self.passphrase_file is not None:
            env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(self.passphrase_file)
        env.update(python_runtime())
        return env


def python_runtime() -> dict[str, str]:
    """Where Pulumi's Python plugins find stix: a dynamic provider's host
    (`stix.clouds.dynamic`) runs in the virtualenv this process runs in, since it imports
    stix to revive the provider (PULUMI_RUNTIME_VIRTUALENV is what that host reads). None
    outside a virtualenv, or when the user set it."""
    if sys.prefix == sys.base_prefix or os.environ.get("PULUMI_RUNTIME_VIRTUALENV"):
        return {}
    return {"PULUMI_RUNTIME_VIRTUALENV": sys.prefix}


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def ensure_passphrase(path: Path) -> Path:
    """Create the passphrase file once (0600); never overwrite an existing one, since
    every stack's secrets are encrypted with it."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return path
    _private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")
    return path


def pulumi_root() -> Path | None:
    """`~/.stix/pulumi` when `stix install-pulumi` put a CLI there."""
    root = stix_home() / "pulumi"
    return root if (root / "bin" / "pulumi").exists() else None


def find_pulumi() -> str | None:
    root = pulumi_root()
    if root is not None:
        return str(root / "bin" / "pulumi")
    return shutil.which("pulumi")


def resolve(config: Config) -> EngineSettings:
    home = stix_home()
    backend = config.backend_url
    if not backend:
        backend = (_private_dir(home / "state")).as_uri()
    passphrase = None
    if config.secrets_provider == "passphrase" and not os.environ.get("PULUMI_CONFIG_PASSPHRASE"):
        passphrase = ensure_passphrase(home / "passphrase")
    return EngineSettings(backend, config.secrets_provider, passphrase, pulumi_root())
