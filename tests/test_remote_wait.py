"""Waiting for nodes: backoff until a deadline, and an error naming each node that never
came up (real sockets: a closed loopback port refuses at once)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from stix.remote.transport import LocalTransport, NodeAddress, NodeUnreachableError
from stix.remote.wait import wait_for_nodes


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_nodes_are_each_named(tmp_path: Path) -> None:
    ok = NodeAddress("node-0", "localhost", local_home=str(tmp_path / "n0"))
    bad1 = NodeAddress("node-1", "127.0.0.1", port=_closed_port(), user="u")
    bad2 = NodeAddress("node-2", "127.0.0.1", port=_closed_port(), user="u",
                       internal_ip="10.1.1.2")
    with pytest.raises(NodeUnreachableError) as err:
        asyncio.run(wait_for_nodes([ok, bad1, bad2], timeout=1.0, first_delay=0.1))
    text = str(err.value)
    assert "2 of 3 node(s) did not accept SSH within 1s" in text
    assert f"(node-1, 127.0.0.1) cannot connect to u@127.0.0.1:{bad1.port}" in text
    assert "(node-2, 10.1.1.2)" in text and "node-0" not in text


def test_retries_until_the_node_comes_up(tmp_path: Path) -> None:
    attempts: list[float] = []

    async def flaky(address: NodeAddress, timeout: float) -> LocalTransport:
        attempts.append(timeout)
        if len(attempts) < 3:
            raise NodeUnreachableError("not yet")
        return LocalTransport(address)

    node = NodeAddress("node-0", "localhost", local_home=str(tmp_path / "n0"))
    (t,) = asyncio.run(wait_for_nodes([node], 30, connector=flaky, first_delay=0.01))
    assert isinstance(t, LocalTransport) and len(attempts) == 3
