"""IaC engines behind one interface: `pulumi` (default) and `terraform`/`tofu`."""

from __future__ import annotations

from stix.config import Config
from stix.engine.base import Engine
from stix.errors import UsageError

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
