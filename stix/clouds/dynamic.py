"""A base for Pulumi *dynamic* providers over a cloud's REST API, for clouds that have no
maintained Pulumi provider. A cloud package supplies three small things and gets a
provider whose lifecycle, state and plan review are those of a bridged one:

- `DynamicType` per resource type: its type token (`pulumi-python:dynamic/<module>:<name>`),
  the inputs that force replacement (the offline plan diff reads the same tuple, through
  `DynamicType.resource_type()`), the outputs the API computes, and where its
  `Operations` live (`"package.module:Class"`, imported where the provider runs);
- an `Operations` subclass: create / read / update / delete of that type through `RestApi`;
- an `ErrorTable`: the cloud's error codes (and statuses) → stix's failover kinds.

`declare(rtype, name, inputs, settings)` registers one resource in a running Pulumi
program. Pulumi serializes the provider object into the state (`__provider`, kept secret),
and runs it later in its dynamic provider host: `RestProvider` therefore holds plain data
only — the type and `settings` (region, base URL; never a credential). The Operations read
their credential when they are built, in the process that calls the API.

Contract of an operation, as Pulumi needs it:
- `create` is transactional: when it raises, nothing was left behind (undo, then raise);
- `read` answers None for a resource the cloud no longer has (refresh then drops it);
- `delete` of a resource that is already gone is not an error;
- `update` is called only for changes outside `replace_on`.

An API failure raises `CloudError`, whose message carries the cloud's own code and stix's
failover mark (`stix.engine.errors.failover_mark`), which the engine's output keeps and
`stix.engine.errors.classify` reads.

This module imports no Pulumi SDK, so a credential check or a price fetcher can use its
HTTP and error parts cheaply; `RestProvider`, `declare` and `resource_class` (which need
`pulumi`) live in `stix.clouds.dynamic_provider` and are reached through this module too
(`from stix.clouds.dynamic import declare` imports them on first use).
"""

from __future__ import annotations

import importlib
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds import rest
from stix.clouds.base import ErrorKind
from stix.clouds.resource import MockAnswer, ResourceType
from stix.engine.errors import failover_mark
from stix.errors import StixError

PROVIDER_KEY = "__provider"  # where Pulumi keeps the serialized provider in inputs and state
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # Pulumi's wire value of an unknown (preview)


# -- errors -------------------------------------------------------------------------------


class CloudError(StixError):
    """A cloud API call that failed: the cloud's own `code` (or ""), its message, the HTTP
    status (None: no answer) and stix's failover kind (None: not one a failover handles)."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None,
                 kind: ErrorKind | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.code = code
        self.status = status
        self.kind = kind


@dataclass(frozen=True)
class ErrorRule:
    """One line of a cloud's error table: a failure whose code matches `code` (a regular
    expression, searched), or, when the rule has no code, whose HTTP status is `status`,
    is of `kind`. A rule with both needs both. Coded rules are also searched in the
    engine's output (`ErrorTable.patterns`), so write them unanchored."""

    kind: ErrorKind
    code: str = ""
    status: int | None = None

    def matches(self, code: str, status: int | None) -> bool:
        if self.code and not re.search(self.code, code):
            return False
        if self.status is not None and self.status != status:
            return False
        return bool(self.code) or self.status is not None


def common_error(body: Any) -> tuple[str, str]:
    """(code, message) from the error answers REST APIs commonly give:
    `{"error": {"code", "message"}}`, `{"error": "text"}`, `{"code", "message"}`,
    `{"msg"}`, or plain text."""
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            return str(inner.get("code") or ""), str(inner.get("message") or "")
        code = str(body.get("code") or "")
        for key in ("message", "msg", "error", "detail"):
            if isinstance(body.get(key), str) and body[key]:
                return code, body[key]
        return code, ""
    return "", str(body or "")[:500]


@dataclass(frozen=True)
class ErrorTable:
    """A cloud's API failures → stix's failover kinds, first matching rule wins; `parse`
    reads (code, message) from an error answer."""

    rules: tuple[ErrorRule, ...]
    parse: Callable[[Any], tuple[str, str]] = common_error

    def kind(self, code: str, status: int | None) -> ErrorKind | None:
        return next((r.kind for r in self.rules if r.matches(code, status)), None)

    def patterns(self) -> tuple[tuple[ErrorKind, str], ...]:
        """The coded rules as the cloud's `error_patterns` (engine output → kind)."""
        return tuple((r.kind, r.code) for r in self.rules if r.code)

    def error(self, cloud: str, what: str, status: int | None, body: Any,
              fallback: str = "") -> CloudError:
        code, message = self.parse(body)
        message = message or fallback
        kind = self.kind(code, status)
        text = f"{cloud} {what}: " + ": ".join(p for p in (code, message) if p)
        if status is not None:
            text += f" (HTTP {status})"
        if kind is not None:
            text += f" {failover_mark(kind)}"
        return CloudError(text, code=code, status=status, kind=kind)


# -- HTTP ---------------------------------------------------------------------------------


class RestApi:
    """JSON over HTTP(S) with a bearer token (`stix.clouds.rest`), failures mapped by the
    cloud's error table. `base_url` is a parameter so a test can point it at a local
    stand-in."""

    # Statuses worth a retry (rate limits), and the waits before each retry, in seconds.
    RETRY_STATUSES: ClassVar[frozenset[int]] = frozenset({429})

    def __init__(self, cloud: str, base_url: str, token: str, errors: ErrorTable,
                 timeout: float = rest.TIMEOUT,
                 backoff: tuple[float, ...] = (1.0, 2.0, 5.0, 12.0)) -> None:
        self.cloud = cloud
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.errors = errors
        self.timeout = timeout
        self.backoff = backoff

    def call(self, method: str, path: str, body: Any = None, what: str | None = None) -> Any:
        """The decoded answer (None when empty); a failure raises `CloudError`. A rate
        limit (HTTP 429) is retried after each wait in `backoff`."""
        what = what or f"{method} {path}"
        for wait in (*self.backoff, None):
            try:
                _, _, data = rest.call(method, self.base_url + path, self.token, body, what,
                                       timeout=self.timeout)
                return data
            except rest.ApiError as exc:
                if wait is None or exc.status not in self.RETRY_STATUSES:
                    raise self.errors.error(self.cloud, what, exc.status, exc.body,
                                            fallback=str(exc)) from None
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def token_from(env: str, path: str = "", key: str = "api_key") -> str:
    """A credential from the environment variable `env`, else from a `key = value` (or
    `key: value`) line of the file at `path` (`~` expanded); "" when neither has it."""
    found = os.environ.get(env, "").strip()
    if found or not path:
        return found
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as fh:
            for line in fh:
                found_key = re.match(rf"\s*{re.escape(key)}\s*[=:]\s*(.*)", line)
                if found_key:
                    return found_key.group(1).strip().strip("'\"")
    except OSError:
        return ""
    return ""


# -- one resource type --------------------------------------------------------------------


class Operations(ABC):
    """How one resource type is created, read, updated and deleted through its cloud's
    API. Built from the resource type's `settings` in the process that calls the API; a
    subclass reads its credential in `__init__` (never from `settings`)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)

    def check(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(input, reason) for each input the cloud would refuse; [] when all is well."""
        return []

    @abstractmethod
    def create(self, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(id, computed outputs) of a new resource; on failure nothing is left behind."""

    @abstractmethod
    def read(self, id_: str, state: Mapping[str, Any]) -> dict[str, Any] | None:
        """The computed outputs as the cloud reports them now; None when it is gone."""

    def update(self, id_: str, olds: Mapping[str, Any],
               news: Mapping[str, Any]) -> dict[str, Any]:
        """Apply changes outside `replace_on` in place; the computed outputs after."""
        raise CloudError(f"{type(self).__name__} cannot change a resource in place")

    @abstractmethod
    def delete(self, id_: str, state: Mapping[str, Any]) -> None:
        """Delete the resource; one that is already gone is not an error."""


@dataclass(frozen=True)
class DynamicType:
    """One resource type served by a dynamic provider. Plain data: it travels inside the
    serialized provider into Pulumi's state."""

    module: str  # the type token's module (a cloud's package name)
    name: str  # the type token's name ("Instance")
    operations: str  # "package.module:Class", an `Operations` subclass
    replace_on: tuple[str, ...]  # inputs (dotted paths) whose change replaces the resource
    computed: tuple[str, ...] = ()  # outputs the API sets (not inputs)
    delete_before_replace: bool = False  # the cloud refuses two at once (a unique name)

    @property
    def token(self) -> str:
        return f"{self.package}:{self.name}"

    @property
    def package(self) -> str:
        """What the cloud lists in `Cloud.pulumi_packages` (`stix.clouds.types.package_of`)."""
        return f"pulumi-python:dynamic/{self.module}"

    def resource_type(self, exposure: Any = None) -> ResourceType:
        """The record the plan diff, the offline mocks and the exposure list read (no
        Terraform translation: the Terraform engine cannot run a dynamic provider)."""
        return ResourceType(self.token, self.replace_on, None,
                            MockAnswer(_Computed(self.computed)), exposure)

    def build(self, settings: Mapping[str, Any]) -> Operations:
        module, _, attr = self.operations.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        if not (isinstance(cls, type) and issubclass(cls, Operations)):
            raise StixError(f"{self.operations} is not an Operations class")
        return cls(settings)


@dataclass(frozen=True)
class _Computed:
    """What the offline mocks answer for a dynamic type: a marker per computed output
    (a value, so two records of one type compare equal)."""

    attrs: tuple[str, ...]

    def __call__(self, state: dict[str, Any], mark: Callable[[str], str]) -> None:
        for attr in self.attrs:
            state.setdefault(attr, mark(attr))


def _get(value: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_unknown(v) for v in value)
    return False


@dataclass(frozen=True)
class Diff:
    """What changed between a resource's recorded inputs and its new ones."""

    changed: tuple[str, ...]  # top-level inputs that differ (or are unknown yet)
    replaces: tuple[str, ...]  # the `replace_on` paths among them


def diff_inputs(rtype: DynamicType, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
    """Compare the inputs in `olds` (a state: inputs and computed outputs) with `news`.
    A value not known yet (a preview) counts as changed."""
    skip = {PROVIDER_KEY, *rtype.computed}
    old = {k: v for k, v in olds.items() if k not in skip}
    new = {k: v for k, v in news.items() if k not in skip}
    changed = tuple(sorted(k for k in old.keys() | new.keys()
                           if _unknown(new.get(k)) or old.get(k) != new.get(k)))
    replaces = tuple(p for p in rtype.replace_on
                     if p.split(".", 1)[0] in changed
                     and (_unknown(_get(new, p)) or _get(old, p) != _get(new, p)))
    return Diff(changed, replaces)


_PROVIDER_PARTS = ("RestProvider", "declare", "resource_class")

if TYPE_CHECKING:
    from stix.clouds.dynamic_provider import RestProvider as RestProvider
    from stix.clouds.dynamic_provider import declare as declare
    from stix.clouds.dynamic_provider import resource_class as resource_class


def __getattr__(name: str) -> Any:
    """The Pulumi-bound parts, imported on first use (they import `pulumi`)."""
    if name in _PROVIDER_PARTS:
        from stix.clouds import dynamic_provider

        return getattr(dynamic_provider, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
