"""Resource graph → Terraform JSON (`main.tf.json`) for the bridged providers.

References in the graph (`{"$ref": key, "attr": a}`, also inside strings as `$concat`)
become `${type.name.attr}` interpolations. Terraform reads every JSON string as a template
— map keys too (a tag key `${file("...")}` would be evaluated) — so literal `${` and `%{`
in values and in keys (a shell `${VAR}` in user-data, a hostile label) are escaped and
Terraform passes them through unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from stix.engine.terraform import types
from stix.engine.terraform.types import TfType
from stix.errors import StixError
from stix.stack.graph import Graph, Resource

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z])(?=[a-z])")
_TF_NAME = re.compile(r"[^A-Za-z0-9_-]")


class TranslationError(StixError):
    """The graph holds something this back end cannot express."""


def snake(name: str) -> str:
    return _CAMEL.sub(lambda m: "_" + (m.group(1) or m.group(2)), name).lower()


def _escape(text: str) -> str:
    return text.replace("${", "$${").replace("%{", "%%{")


class _Names:
    """Graph keys → Terraform addresses (`aws_instance.demo-0`), unique and valid."""

    def __init__(self, graph: Graph) -> None:
        self.resources: dict[str, tuple[str, str]] = {}
        taken: set[tuple[str, str]] = set()
        for key, res in sorted(graph.resources.items()):
            if _is_provider(res):
                continue
            tf_type = _tf_type(res.type).name
            self.resources[key] = (tf_type, _unique(res.name, tf_type, taken))
        self.data: dict[str, tuple[str, str]] = {}
        for key, ds in sorted(graph.data.items()):
            source = types.data_source(ds.type)
            if source is None:
                raise TranslationError(f"no Terraform data source for lookup {ds.type}")
            self.data[key] = (source, _unique("d_" + key.rsplit("::", 1)[-1], source, taken))

    def ref(self, value: dict[str, str]) -> str:
        attr = snake(value["attr"])
        if "$ref" in value:
            if value["$ref"] not in self.resources:
                raise TranslationError(f"reference to unknown resource {value['$ref']}")
            tf_type, name = self.resources[value["$ref"]]
            return f"{tf_type}.{name}.{attr}"
        tf_type, name = self.data[value["$data"]]
        return f"data.{tf_type}.{name}.{attr}"


def _unique(name: str, tf_type: str, taken: set[tuple[str, str]]) -> str:
    base = _TF_NAME.sub("_", name)
    if not base or not (base[0].isalpha() or base[0] == "_"):
        base = "r_" + base
    candidate, n = base, 2
    while (tf_type, candidate) in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add((tf_type, candidate))
    return candidate


def _is_provider(res: Resource) -> bool:
    return res.type.startswith("pulumi:providers:")


def _tf_type(token: str) -> TfType:
    found = types.resource(token)
    if found is None:
        raise TranslationError(
            f"the Terraform back end has no mapping for {token}; use the pulumi engine for "
            "this stack"
        )
    return found


def _value(value: Any, names: _Names, keep_keys: bool = False, verbatim: bool = False) -> Any:
    """Translate one input; `keep_keys` leaves this mapping's keys as written (a map
    field), `verbatim` leaves every nested key as written (outputs)."""
    if isinstance(value, dict):
        if ("$ref" in value or "$data" in value) and "attr" in value:
            return "${" + names.ref(value) + "}"
        if "$concat" in value:
            return "".join(
                "${" + names.ref(p) + "}" if isinstance(p, dict) else _escape(str(p))
                for p in value["$concat"]
            )
        return {_escape(k if keep_keys or verbatim else snake(k)):
                _value(v, names, verbatim=verbatim) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v, names, verbatim=verbatim) for v in value]
    if isinstance(value, str):
        return _escape(value)
    return value


def _body(res: Resource, spec: TfType, names: _Names) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for key, value in sorted(res.inputs.items()):
        if key in spec.drop:
            continue
        out = _value(value, names, keep_keys=key in spec.maps)
        if key in spec.full_items and isinstance(out, list):
            out = [{**spec.full_items[key], **item} for item in out]
        body[spec.renames.get(key, snake(key))] = out
    base_name = spec.autoname.removesuffix("_prefix") if spec.autoname else ""
    if spec.autoname and spec.autoname not in body and base_name not in body:
        prefix = spec.autoname.endswith("_prefix")
        body[spec.autoname] = f"{res.name}-" if prefix else res.name
    implied = _refs_in(res.inputs)
    explicit = sorted(d for d in res.dependencies if d not in implied and d in names.resources)
    if explicit:
        body["depends_on"] = [".".join(names.resources[d]) for d in explicit]
    return body


def _refs_in(value: Any) -> set[str]:
    from stix.stack.graph import references

    return references(value)


def _provider_blocks(
    graph: Graph, overrides: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    providers: dict[str, Any] = {}
    required: dict[str, Any] = {}
    for res in graph.resources.values():
        if not _is_provider(res):
            continue
        package = res.type.removeprefix("pulumi:providers:")
        tf = types.provider(package)
        if tf is None:
            raise TranslationError(f"the Terraform back end does not support provider {package}")
        block: dict[str, Any] = {k: res.inputs[k] for k in tf.keys if k in res.inputs}
        block.update(overrides.get(tf.name, {}))
        providers[tf.name] = block
        required[tf.name] = {"source": tf.source, "version": ">= 5.0"}
    return providers, required


def to_terraform(graph: Graph, provider_overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Terraform JSON document for `graph`; `provider_overrides` merge into provider
    blocks (endpoints for an emulator, assume-role settings, ...)."""
    names = _Names(graph)
    providers, required = _provider_blocks(graph, provider_overrides or {})
    resources: dict[str, dict[str, Any]] = {}
    for key, res in sorted(graph.resources.items()):
        if _is_provider(res):
            continue
        tf_type, name = names.resources[key]
        resources.setdefault(tf_type, {})[name] = _body(res, _tf_type(res.type), names)
    data: dict[str, dict[str, Any]] = {}
    for key, ds in sorted(graph.data.items()):
        tf_type, name = names.data[key]
        data.setdefault(tf_type, {})[name] = {snake(k): _value(v, names)
                                              for k, v in sorted(ds.args.items())}
    doc: dict[str, Any] = {"terraform": {"required_providers": required}}
    if providers:
        doc["provider"] = providers
    if data:
        doc["data"] = data
    doc["resource"] = resources
    outputs = {k: {"value": _value(v, names, verbatim=True)}
               for k, v in sorted(graph.outputs.items())}
    if outputs:
        doc["output"] = outputs
    return doc
