"""Task labels: the rule every cloud stix supports accepts, and the keys stix keeps for itself.

Labels become AWS and Azure tags, GCP labels and Kubernetes labels. The strictest of those
rules (GCP labels, Kubernetes label names and values) holds for all of them, so a task that
loads is accepted by every cloud, unchanged, and no label can carry quoting or template
syntax (`${...}`, `%{...}`, newlines) into a Terraform file, a tag or a selector:

- key: 1-63 characters, lower-case letters, digits, `-` and `_`, starting with a letter
  and ending with a letter or digit;
- value: empty, or 1-63 such characters starting and ending with a letter or digit.

Reserved keys (`stix-cluster`, `managed-by`, `stix-node-rank`, anything starting with
`stix-`) are stix's own: the programs select and clean up resources by them, so a task
cannot set them.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

MAX_LENGTH = 63
_KEY = re.compile(r"[a-z](?:[a-z0-9_-]*[a-z0-9])?")
_VALUE = re.compile(r"(?:[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?)?")
RESERVED_KEYS = frozenset({"stix-cluster", "managed-by", "stix-node-rank"})
RESERVED_PREFIX = "stix-"
RULE = "lower-case letters, digits, '-' and '_', at most 63"


def is_reserved(key: str) -> bool:
    return key in RESERVED_KEYS or key.startswith(RESERVED_PREFIX)


def check_key(key: str) -> str:
    """`key` when every cloud takes it as a label key and stix does not reserve it."""
    if is_reserved(key):
        raise ValueError(f"label key {key!r} is reserved for stix (it tags and selects the "
                         "cluster's resources)")
    if len(key) > MAX_LENGTH or not _KEY.fullmatch(key):
        raise ValueError(f"label key {_shown(key)} is not accepted by every cloud: {RULE} "
                         "characters, starting with a letter and ending with a letter or digit")
    return key


def check_value(value: str) -> str:
    """`value` when every cloud takes it as a label value."""
    if len(value) > MAX_LENGTH or not _VALUE.fullmatch(value):
        raise ValueError(f"label value {_shown(value)} is not accepted by every cloud: empty, "
                         f"or {RULE} characters starting and ending with a letter or digit")
    return value


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _scalar_to_str(value: object) -> object:
    # YAML reads `cost-center: 42` as an int; a label value is text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _stringify(value: object) -> object:
    if isinstance(value, dict):
        return {k: _scalar_to_str(v) for k, v in value.items()}
    return value


LabelKey = Annotated[str, AfterValidator(check_key)]
LabelValue = Annotated[str, AfterValidator(check_value)]
LabelMap = Annotated[dict[LabelKey, LabelValue], BeforeValidator(_stringify)]
