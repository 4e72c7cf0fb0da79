"""The program entry the Pulumi CLI runs (`main: stix/program/`): stack config in, the same
resources and outputs as offline synthesis out. Run here under mocks with the config set
the way the engine passes it (every value as text, structured ones as JSON)."""

from __future__ import annotations

import json
import runpy
from typing import Any

import pytest
from stack_support import PUBLIC_KEY, placement

pulumi = pytest.importorskip("pulumi", reason="needs the pulumi extra")


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.registered[f"{args.typ}::{args.name}"] = args.inputs
        return f"{args.name}-id", {**args.inputs, "ipAddress": "198.51.100.7"}

    def call(self, args: Any) -> dict[str, Any]:
        return {}


@pytest.fixture
def mocks(monkeypatch: pytest.MonkeyPatch) -> _Mocks:
    from stix.stack.stackfile import to_config

    p = placement("azure", "Standard_D8s_v5", region="eastus", zone="1", labels={"team": "ml"})
    as_text = {k: v if isinstance(v, str) else json.dumps(v)
               for k, v in to_config(p, PUBLIC_KEY).items()}  # fmt: skip
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(as_text))  # how the engine passes it
    m = _Mocks()
    pulumi.runtime.set_mocks(m, project="stix", stack="t", preview=False)
    return m


def test_main_builds_the_stack_config(mocks: _Mocks) -> None:
    @pulumi.runtime.test  # returns once every registration has completed
    def run() -> None:
        runpy.run_module("stix.program", run_name="__main__")

    run()
    vm = mocks.registered["azure-native:compute:VirtualMachine::t-0"]
    assert vm["zones"] == ["1"]  # text stays text
    assert vm["tags"]["team"] == "ml"
    assert vm["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["keyData"] == PUBLIC_KEY
    assert vm["osProfile"]["customData"]  # the real cloud-init, base64
