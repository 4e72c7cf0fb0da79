"""Helpers for testing Pulumi dynamic providers (`stix.clouds.dynamic`) the way Pulumi
runs them: the provider object goes through Pulumi's own serializer (dill) and is revived
in a clean state, as the dynamic provider host does before each call. No Pulumi engine
runs here; what this proves is that the provider survives the trip and what each of its
calls asks the cloud's API (pair it with `http_support`'s stand-in)."""

from __future__ import annotations

import base64
from typing import Any

import dill
from pulumi.dynamic.dynamic import serialize_provider

from stix.clouds.dynamic import PROVIDER_KEY, RestProvider


def revived(provider: RestProvider) -> RestProvider:
    """The provider as Pulumi's dynamic provider host would load it from the state."""
    blob = serialize_provider(provider)
    found = dill.loads(base64.b64decode(blob))
    assert isinstance(found, RestProvider)
    return found


def state_of(provider: RestProvider, props: dict[str, Any]) -> dict[str, Any]:
    """Props as the engine hands them to the provider (the serialized provider included)."""
    return {**props, PROVIDER_KEY: serialize_provider(provider)}
