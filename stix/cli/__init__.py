"""The `stix` command (`app`): thin wrappers that parse, call `stix.api`, and render."""

from stix.cli.app import app, main

__all__ = ["app", "main"]
