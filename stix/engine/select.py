"""Which engine runs a stack (by name or the user config), and which engine CLIs exist here."""

from __future__ import annotations

from stix.engine.base import Engine
from stix.errors import UsageError
from stix.user_config import Config

ENGINES = ("pulumi", "terraform")


def get_engine(name: str | None, config: Config) -> Engine:
    """The engine `name` (default: the config's), configured for this user."""
    name = name or config.engine
    if name == "pulumi":
        from stix.engine.pulumi_engine import PulumiEngine
        from stix.engine.settings import resolve

        return PulumiEngine(resolve(config))
    if name in ("terraform", "tofu"):
        from stix.engine.terraform.engine import TerraformEngine

        return TerraformEngine(config)
    raise UsageError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")


def engine_report() -> list[dict[str, object]]:
    """Which engine CLIs are installed here (no network), for `stix check`."""
    from stix.engine.pulumi_engine import INSTALL_HINT
    from stix.engine.settings import find_pulumi
    from stix.engine.terraform.engine import find_binary, find_mirror

    config = load_config_quietly()
    pulumi = find_pulumi()
    terraform = find_binary(config)
    mirror = find_mirror(config)
    return [
        {"engine": "pulumi", "ok": pulumi is not None, "detail": pulumi or "not installed",
         "hint": None if pulumi else INSTALL_HINT},
        {"engine": "terraform", "ok": terraform is not None,
         "detail": (terraform or "neither terraform nor tofu is installed")
         + (f"; provider mirror {mirror}" if terraform and mirror else ""),
         "hint": None if terraform else (
             "install Terraform or OpenTofu to use engine='terraform' (--engine terraform)")},
    ]


def load_config_quietly() -> Config:
    from stix.user_config import load_config

    try:
        return load_config()
    except Exception:
        return Config()
