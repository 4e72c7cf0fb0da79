"""stix: run AI and batch tasks on any cloud; every cluster is an infrastructure-as-code stack.

The public surface is `stix.api`; its names are re-exported here lazily so that
`import stix` (and `stix --help`) stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    import importlib

    if name in ("api", "exceptions", "jobs", "serve"):
        return importlib.import_module(f"stix.{name}")
    api = importlib.import_module("stix.api")
    if name in api.__all__:
        return getattr(api, name)
    if name[:1].isupper():  # a cloud object class, as SkyPilot scripts use (`sky.AWS()`)
        from stix.sdk import cloud_class

        found = cloud_class(name)
        if found is not None:
            globals()[name] = found
            return found
    raise AttributeError(f"module 'stix' has no attribute {name!r}")


def __dir__() -> list[str]:
    import importlib

    api = importlib.import_module("stix.api")

    return sorted([*globals(), *api.__all__])
