"""The Pulumi side of `stix.clouds.dynamic`: the `pulumi.dynamic.ResourceProvider` that
runs a `DynamicType`'s operations, and `declare`, which registers a resource of it in a
running program. Import it through `stix.clouds.dynamic` (same names).

Pulumi serializes the provider object into the state with dill, by reference to this
module's `RestProvider` class, and its dynamic provider host imports this module again
before each call: the program's Python environment must have stix installed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic as dyn

from stix.clouds.dynamic import (
    PROVIDER_KEY,
    DynamicType,
    Operations,
    _unknown,
    diff_inputs,
)


def _inputs(props: Mapping[str, Any], rtype: DynamicType) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY and k not in rtype.computed}


class RestProvider(dyn.ResourceProvider):
    """The Pulumi dynamic provider of one `DynamicType`: each call builds the type's
    Operations and maps the result to what Pulumi expects. The state holds the inputs and
    the computed outputs side by side."""

    serialize_as_secret_always: ClassVar[bool] = True

    def __init__(self, rtype: DynamicType, settings: Mapping[str, Any]) -> None:
        super().__init__()
        self.rtype = rtype
        self.settings = dict(settings)

    def _ops(self) -> Operations:
        return self.rtype.build(self.settings)

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        known = {k: v for k, v in _inputs(news, self.rtype).items() if not _unknown(v)}
        failures = [dyn.CheckFailure(p, why) for p, why in self._ops().check(known)]
        return dyn.CheckResult(news, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        found = diff_inputs(self.rtype, olds, news)
        return dyn.DiffResult(changes=bool(found.changed), replaces=list(found.replaces),
                              stables=[], delete_before_replace=self.rtype.delete_before_replace)

    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        inputs = _inputs(props, self.rtype)
        id_, outs = self._ops().create(inputs)
        return dyn.CreateResult(id_, {**inputs, **outs})

    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        outs = self._ops().read(id_, props)
        if outs is None:
            return dyn.ReadResult("", {})  # gone: the engine drops it from the state
        return dyn.ReadResult(id_, {**_inputs(props, self.rtype), **outs})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        inputs = _inputs(news, self.rtype)
        outs = self._ops().update(id_, olds, inputs)
        return dyn.UpdateResult({**inputs, **outs})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._ops().delete(id_, props)


_RESOURCE_CLASSES: dict[str, type] = {}


def resource_class(rtype: DynamicType) -> type:
    """The `pulumi.dynamic.Resource` subclass whose type token is `rtype.token`."""
    found = _RESOURCE_CLASSES.get(rtype.token)
    if found is None:
        found = type(rtype.name, (dyn.Resource,), {}, module=rtype.module, name=rtype.name)
        _RESOURCE_CLASSES[rtype.token] = found
    return found


def declare(rtype: DynamicType, name: str, inputs: Mapping[str, Any],
            settings: Mapping[str, Any],
            opts: pulumi.ResourceOptions | None = None) -> Any:
    """Register one resource of `rtype` in the running program; its computed outputs are
    attributes of the returned resource (`resource.<output>`, an Output)."""
    props: dict[str, Any] = dict(inputs)
    for attr in rtype.computed:
        props.setdefault(attr, None)
    provider = RestProvider(rtype, settings)
    return resource_class(rtype)(provider, name, props, opts)

