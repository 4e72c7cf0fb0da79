"""Job operations on a cloud cluster (one whose record names an engine), against real
sshd nodes standing in for the cloud VMs the engine would have created."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from stix import state
from stix.placement import Placement
from stix.remote import agent_client as ac
from stix.remote import fanout
from stix.remote.wait import wait_for_nodes

pytestmark = pytest.mark.sshd


def _record(nodes: list[Any], sshd_hosts: Any) -> state.ClusterRecord:
    addresses = [n.address(sshd_hosts.key) for n in nodes]
    now = time.time()
    placement = Placement(cluster="cloudy", cloud="aws", region="us-east-1",
                          instance_type="m6i.large", num_nodes=len(nodes), vcpus=2, memory_gib=8,
                          hourly_price=0.5, autostop_minutes=30, autostop_down=True)
    record = state.ClusterRecord("cloudy", "aws", placement, state.ClusterStatus.UP, now, now,
                                 1.0, addresses, engine="pulumi")
    state.put_cluster(state.connect(), record)
    return record


def _settings(record: state.ClusterRecord) -> list[ac.AutostopReply]:

    async def go() -> list[ac.AutostopReply]:
        transports = await wait_for_nodes(record.nodes, 20)
        try:
            return list(await asyncio.gather(*(
                fanout.ask(t, ac.autostop_show(), ac.parse_autostop) for t in transports)))
        finally:
            for t in transports:
                await t.close()

    return asyncio.run(go())


def test_autostop_is_saved_on_every_cloud_node(sshd_nodes, sshd_hosts) -> None:  # type: ignore[no-untyped-def]
    from stix import api

    nodes = sshd_nodes(2)
    record = _record(nodes, sshd_hosts)

    async def agents() -> None:
        transports = await wait_for_nodes(record.nodes, 20)
        await fanout.upload_agent(transports)
        for t in transports:
            await t.close()

    asyncio.run(agents())
    api.autostop("cloudy", 30, down=True)
    shown = _settings(record)
    assert len(shown) == 2
    for answer in shown:
        text = str(answer)
        assert "30" in text and "autostop-action.sh down" in text
    api.autostop("cloudy", None, cancel=True)
    assert all("autostop-action.sh" not in str(a) for a in _settings(record))
