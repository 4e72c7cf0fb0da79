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


class HostAbort(Exception):
    """What Pulumi's dynamic provider host sends the engine when a call fails."""

    def __init__(self, code: Any, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class _Context:
    def abort(self, code: Any, details: str) -> None:
        raise HostAbort(code, details)

    def set_code(self, code: Any) -> None:
        pass

    def set_details(self, details: str) -> None:
        pass


class Host:
    """Pulumi's own dynamic provider host (`python -m pulumi.dynamic`, the gRPC servicer
    the engine talks to), called in-process with the requests the engine sends: the
    properties go over the wire encoding, the provider is revived from `__provider`, and
    a failure comes back as the engine sees it (`HostAbort` with the traceback text).
    No engine runs: this is the host side of the protocol only."""

    def __init__(self) -> None:
        import types
        from pathlib import Path

        import pulumi.dynamic

        path = str(Path(pulumi.dynamic.__file__).parent / "__main__.py")
        source = Path(path).read_text(encoding="utf-8")
        assert source.rstrip().endswith("main()")  # the module starts its server last
        module = types.ModuleType("pulumi_dynamic_host")
        exec(compile(source.rstrip()[: -len("main()")], path, "exec"), module.__dict__)
        self._servicer = module.DynamicResourceProviderServicer()
        self.context = _Context()

    @staticmethod
    def _wire(props: dict[str, Any]) -> Any:
        import asyncio

        from pulumi.runtime import rpc

        return asyncio.new_event_loop().run_until_complete(rpc.serialize_properties(props, {}))

    @staticmethod
    def _plain(struct: Any) -> dict[str, Any]:
        from pulumi.runtime import rpc

        return dict(rpc.deserialize_properties(struct))

    def create(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from pulumi.runtime import proto

        reply = self._servicer.Create(proto.CreateRequest(urn="urn:x", properties=self._wire(
            props)), self.context)
        return reply.id, self._plain(reply.properties)

    def read(self, id_: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        from pulumi.runtime import proto

        reply = self._servicer.Read(proto.ReadRequest(id=id_, urn="urn:x", properties=self._wire(
            props)), self.context)
        return reply.id, self._plain(reply.properties)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Any:
        from pulumi.runtime import proto

        return self._servicer.Diff(proto.DiffRequest(id=id_, urn="urn:x", olds=self._wire(olds),
                                                     news=self._wire(news)), self.context)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        from pulumi.runtime import proto

        reply = self._servicer.Update(proto.UpdateRequest(
            id=id_, urn="urn:x", olds=self._wire(olds), news=self._wire(news)), self.context)
        return self._plain(reply.properties)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        from pulumi.runtime import proto

        self._servicer.Delete(proto.DeleteRequest(id=id_, urn="urn:x", properties=self._wire(
            props)), self.context)
