"""Task labels: the rule a task's labels must follow, the stricter rule every cloud stix
supports accepts, and the keys stix keeps for itself.

Labels become AWS and Azure tags, GCP labels and Kubernetes labels. A task loads when its
labels are Kubernetes label names and values (`kueue.x-k8s.io/queue-name: user-queue`):
no label can then carry quoting or template syntax (`${...}`, `%{...}`, spaces, newlines)
into a Terraform file, a tag or a selector. Labels that are also *portable* go to every
cloud unchanged:

- key: 1-63 characters, lower-case letters, digits, `-` and `_`, starting with a letter
  and ending with a letter or digit;
- value: empty, or 1-63 such characters starting and ending with a letter or digit.

A label that is not portable (a prefixed key, upper case, dots) rules out the clouds whose
rule refuses it (`Provider.label_problem`): the optimizer leaves them out, and a task that
pins one is refused with the label named.

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
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PREFIX = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
_QUALIFIED_KEY = re.compile(rf"(?:(?P<prefix>{_PREFIX})/)?(?P<name>{_NAME})")
_QUALIFIED_VALUE = re.compile(rf"(?:{_NAME})?")
MAX_PREFIX = 253
RESERVED_KEYS = frozenset({"stix-cluster", "managed-by", "stix-node-rank"})
RESERVED_PREFIX = "stix-"
RULE = "lower-case letters, digits, '-' and '_', at most 63"


def is_reserved(key: str) -> bool:
    return key in RESERVED_KEYS or key.startswith(RESERVED_PREFIX)


def check_key(key: str) -> str:
    """`key` when it is a Kubernetes label name stix does not reserve."""
    if is_reserved(key):
        raise ValueError(f"label key {key!r} is reserved for stix (it tags and selects the "
                         "cluster's resources)")
    found = _QUALIFIED_KEY.fullmatch(key)
    if found is None or len(found["name"]) > MAX_LENGTH or len(found["prefix"] or "") > MAX_PREFIX:
        raise ValueError(f"label key {_shown(key)} is not a label name: an optional DNS "
                         f"prefix and '/', then at most {MAX_LENGTH} letters, digits, '-', '_' "
                         "and '.', starting and ending with a letter or digit")
    return key


def check_value(value: str) -> str:
    """`value` when it is a Kubernetes label value."""
    if len(value) > MAX_LENGTH or not _QUALIFIED_VALUE.fullmatch(value):
        raise ValueError(f"label value {_shown(value)} is not a label value: empty, or at "
                         f"most {MAX_LENGTH} letters, digits, '-', '_' and '.', starting and "
                         "ending with a letter or digit")
    return value


def portable_problem(key: str, value: str) -> str | None:
    """Why the label is not one every cloud takes unchanged (None: it is)."""
    if len(key) > MAX_LENGTH or not _KEY.fullmatch(key):
        return (f"label key {_shown(key)}: this cloud takes {RULE} characters, starting "
                "with a letter and ending with a letter or digit")
    if len(value) > MAX_LENGTH or not _VALUE.fullmatch(value):
        return (f"label value {_shown(value)}: this cloud takes empty, or {RULE} characters "
                "starting and ending with a letter or digit")
    return None


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
