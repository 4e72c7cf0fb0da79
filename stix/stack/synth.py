"""Offline synthesis: run the very program the engine runs, under Pulumi's mocks, and keep
what it declares as a resource graph. No credentials, no Pulumi CLI, no network.

The mocks answer with *markers* (see `stix.stack.graph`) instead of made-up ids, so the
graph keeps references; lookups (invokes) are answered the same way and recorded as data
sources. Mocks validate nothing, so placements are checked against the catalog before this
runs (`stix.stack.validate`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stix.stack.graph import (
    DataSource,
    Graph,
    GraphError,
    Resource,
    marker,
    normalize,
    resource_key,
)

if TYPE_CHECKING:
    from stix.buckets import BucketSpec
    from stix.placement import Placement

DYNAMIC_PROVIDER_KEY = "__provider"
# Attributes providers compute, answered for every resource that does not set them itself.
GENERIC_ATTRS = ("arn", "name", "email", "selfLink", "publicIp", "privateIp", "ipAddress",
                 "keyName")


def _nested_attrs(type_: str, key: str, state: dict[str, Any]) -> None:
    """Computed attributes that live inside nested inputs (addresses, mostly): what the
    type's cloud says its mocks answer."""
    from stix.clouds.types import resource_type

    rt = resource_type(type_)
    if rt is not None and rt.mock is not None:
        rt.mock.nested(state, lambda attr: marker("r", key, attr))


def _urn_of_provider_ref(ref: str) -> str:
    # A provider reference is "<urn>::<id>"; stix gives providers ids without "::".
    return ref.rsplit("::", 1)[0] if ref else ""


class _Recorder:
    """Pulumi `Mocks` that answers with markers and records every registration."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.lock = threading.Lock()
        self.inputs: dict[str, dict[str, Any]] = {}
        self.urn_to_key: dict[str, str] = {}
        self.meta: dict[str, tuple[list[str], str, str]] = {}  # key -> (dep urns, parent, provider)
        self.data: dict[str, DataSource] = {}
        self.duplicates: list[str] = []

    # -- pulumi.runtime.Mocks protocol --
    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        key = resource_key(args.typ, args.name)
        inputs = dict(args.inputs)
        # A dynamic provider's serialized self (`stix.clouds.dynamic`): code, not an input.
        inputs.pop(DYNAMIC_PROVIDER_KEY, None)
        with self.lock:
            if key in self.inputs:
                self.duplicates.append(key)
            self.inputs[key] = inputs
        if args.typ.startswith("pulumi:providers:"):
            return f"provider-{args.name}", inputs
        state = json.loads(json.dumps(inputs))  # a deep copy the SDK may keep
        for attr in GENERIC_ATTRS:
            state.setdefault(attr, marker("r", key, attr))
        _nested_attrs(args.typ, key, state)
        return marker("r", key, "id"), state

    def call(self, args: Any) -> dict[str, Any]:
        clean = normalize(args.args)
        digest = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:12]
        key = f"{args.token}::{digest}"
        with self.lock:
            self.data[key] = DataSource(type=args.token, args=clean)
        result: dict[str, Any] = dict(args.args)
        from stix.clouds.types import lookup

        found = lookup(args.token)
        for attr in found.attrs if found is not None else ("id",):
            result[attr] = marker("d", key, attr)
        return result

    def register_transform(self, transform: Any) -> None:  # pragma: no cover - unused
        pass

    def register_invoke_transform(self, transform: Any) -> None:  # pragma: no cover
        pass

    # -- graph --
    def graph(self, program: str, outputs: dict[str, Any]) -> Graph:
        if self.duplicates:
            names = ", ".join(sorted(set(self.duplicates)))
            raise GraphError(f"stack {self.stack}: duplicate logical names: {names}")
        graph = Graph(stack=self.stack, program=program, outputs=normalize(outputs))
        for key, inputs in self.inputs.items():
            type_, _, name = key.partition("::")
            dep_urns, parent_urn, provider_urn = self.meta.get(key, ([], "", ""))
            deps = {self.urn_to_key[u] for u in dep_urns if u in self.urn_to_key}
            norm = normalize(inputs)
            deps |= {k for k in _refs(norm) if k in self.inputs}
            deps.discard(key)
            graph.add(Resource(
                type=type_, name=name, inputs=norm, dependencies=sorted(deps),
                parent=self.urn_to_key.get(parent_urn),
                provider=self.urn_to_key.get(provider_urn),
            ))  # fmt: skip
        graph.data = dict(sorted(self.data.items()))
        return graph


def _refs(value: Any) -> set[str]:
    from stix.stack.graph import references

    return references(value)


def _monitor(recorder: _Recorder) -> Any:
    from pulumi.runtime.mocks import MockMonitor

    class Monitor(MockMonitor):
        """Keeps what `MockResourceArgs` drops: parent, dependencies, provider."""

        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                key = resource_key(request.type, request.name)
                urns = list(request.dependencies)
                for deps in request.propertyDependencies.values():
                    urns.extend(deps.urns)
                with recorder.lock:
                    recorder.urn_to_key[response.urn] = key
                    recorder.meta[key] = (
                        urns, request.parent, _urn_of_provider_ref(request.provider)
                    )
            return response

    return Monitor(recorder)


_run_lock = threading.Lock()


def _ensure_event_loop() -> None:
    """Pulumi's test runner uses the thread's event loop; worker threads have none."""
    import asyncio

    try:
        asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def synthesize(
    placement: Placement,
    user_data_for_rank: Callable[[int], str],
    public_key: str,
) -> Graph:
    """The resource graph `placement`'s program declares; byte-identical for equal inputs."""
    from stix.program import run as program

    return _run(placement.cluster, program.program_name(placement),
                lambda: program.build(placement, user_data_for_rank, public_key))


def synthesize_bucket(spec: BucketSpec) -> Graph:
    """The resource graph of a persistent bucket's own stack."""
    from stix.clouds import registry

    return _run(spec.stack, BUCKET_PROGRAM,
                lambda: registry.cloud(spec.cloud).build_bucket(spec))


BUCKET_PROGRAM = "bucket"


def _run(stack: str, program_name: str, build: Callable[[], dict[str, Any]]) -> Graph:
    import pulumi

    recorder = _Recorder(stack)
    captured: dict[str, Any] = {}

    def run() -> Any:
        return pulumi.Output.from_input(build()).apply(captured.update)

    _ensure_event_loop()
    with _run_lock:  # the Pulumi runtime settings are process-global
        pulumi.runtime.set_mocks(
            recorder, project="stix", stack=stack, preview=False, monitor=_monitor(recorder),
        )  # fmt: skip
        pulumi.runtime.test(run)()
    return recorder.graph(program_name, captured)
