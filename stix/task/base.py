"""Shared pieces of the task schema: the strict base model and small field types."""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StrictModel(BaseModel):
    """User-facing config: unknown keys are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, populate_by_name=True)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _scalar_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _stringify_values(value: Any) -> Any:
    # YAML turns `PORT: 8000` into an int; environment values are strings.
    if isinstance(value, dict):
        return {k: _scalar_to_str(v) for k, v in value.items()}
    return value


def _check_env_names(value: Any) -> Any:
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str) or not ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
    return value


def _mapping_only(value: Any) -> Any:
    # SkyPilot's schema takes only a mapping for envs; say how to write it.
    if isinstance(value, list):
        raise ValueError("must be a mapping of NAME: value, not a list (write `NAME: value` "
                         "lines under it)")
    return value


def _names_to_map(value: Any) -> Any:
    """SkyPilot's list form of `secrets` names secrets whose values come from elsewhere
    (its secret store; for stix `--secret NAME`): the same as `NAME: null`."""
    if not isinstance(value, list):
        return value
    out: dict[str, None] = {}
    for i, name in enumerate(value):
        if not isinstance(name, str):
            raise ValueError(f"a list of secrets holds names only; item {i + 1} is "
                             f"{type(name).__name__} {name!r} (for values write a mapping: "
                             "`secrets: {NAME: value}`)")
        if name in out:
            raise ValueError(f"secret {name!r} is listed twice")
        out[name] = None
    return out


# Validators run last-listed first: shape, then values as strings, then the names.
EnvMap = Annotated[
    dict[str, str | None], BeforeValidator(_check_env_names), BeforeValidator(_stringify_values),
    BeforeValidator(_mapping_only),
]
# The schema says both forms, so editors take SkyPilot's list of names too.
_SECRETS_SCHEMA = {"anyOf": [
    {"type": "object", "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
    {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
]}
SecretMap = Annotated[
    dict[str, str | None], BeforeValidator(_check_env_names), BeforeValidator(_stringify_values),
    BeforeValidator(_names_to_map), WithJsonSchema(_SECRETS_SCHEMA),
]
