"""The node-side idle check on real sshd nodes: an open SSH session keeps a node awake
under `wait_for: jobs_and_ssh` (the command that asks is not counted), and not under
`jobs`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from stix.remote import agent_client as ac
from stix.remote import fanout
from stix.remote.wait import wait_for_nodes

pytestmark = pytest.mark.sshd


def test_an_open_ssh_session_is_activity(sshd_nodes: Callable[[int], list[Any]],
                                         sshd_hosts: Any) -> None:
    [node] = sshd_nodes(1)
    if node.port != 22:
        pytest.skip("the node's sshd is not on port 22 (no network namespaces here)")
    address = node.address(sshd_hosts.key)

    async def go() -> None:
        [t] = await wait_for_nodes([address], 20)
        await fanout.upload_agent([t])
        action = "touch ~/stopped"

        async def check(*args: str) -> Any:
            return await fanout.ask(t, ac.AgentCommand(("autostop", *args)), ac.parse_autostop)

        first = await check("--idle-minutes", "0.01", "--action", action)
        assert first.wait_for == "jobs_and_ssh"
        [other] = await wait_for_nodes([address], 20)  # someone is logged in
        try:
            await asyncio.sleep(1.0)
            busy = await check()
            assert not busy.triggered and busy.idle_seconds == 0
        finally:
            await other.close()
        await asyncio.sleep(1.0)  # 0.6 s idle since the session was last seen
        done = await check()
        assert done.triggered
        assert (await t.run("test -e ~/stopped && echo yes")).stdout.strip() == b"yes"
        # under `jobs`, the session does not count
        await t.run("rm -f ~/stopped")
        [other] = await wait_for_nodes([address], 20)
        try:
            await check("--idle-minutes", "0.005", "--action", action, "--wait-for", "jobs")
            deadline = time.monotonic() + 10
            while not (await check()).triggered and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert (await t.run("test -e ~/stopped && echo yes")).stdout.strip() == b"yes"
        finally:
            await other.close()
        await t.close()

    asyncio.run(go())
