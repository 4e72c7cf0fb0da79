"""Wait until every node accepts SSH, with backoff and one overall deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from stix.remote.transport import (
    CONNECT_TIMEOUT,
    NodeAddress,
    NodeTransport,
    NodeUnreachableError,
    connect,
)

Connector = Callable[[NodeAddress, float], Awaitable[NodeTransport]]


async def wait_for_node(address: NodeAddress, deadline: float, *,
                        connector: Connector = connect, first_delay: float = 0.2,
                        max_delay: float = 5.0) -> NodeTransport:
    """Connect to one node, retrying with exponential backoff until `deadline`
    (a `time.monotonic()` value); the last error is raised when time runs out."""
    delay = first_delay
    while True:
        remaining = deadline - time.monotonic()
        try:
            return await connector(address, max(0.5, min(CONNECT_TIMEOUT, remaining)))
        except NodeUnreachableError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay)


async def wait_for_nodes(addresses: list[NodeAddress], timeout: float = 300.0, *,
                         connector: Connector = connect, first_delay: float = 0.2,
                         max_delay: float = 5.0) -> list[NodeTransport]:
    """A transport per node, in order; or an error naming every node that never came up
    (the connections that did open are closed first)."""
    deadline = time.monotonic() + timeout
    results = await asyncio.gather(
        *(wait_for_node(a, deadline, connector=connector, first_delay=first_delay,
                        max_delay=max_delay) for a in addresses),
        return_exceptions=True)
    failed = [(a, r) for a, r in zip(addresses, results, strict=True)
              if isinstance(r, BaseException)]
    if failed:
        await asyncio.gather(*(r.close() for r in results if isinstance(r, NodeTransport)))
        for _, exc in failed:
            if not isinstance(exc, NodeUnreachableError):
                raise exc
        lines = "\n".join(f"  {exc}" for _, exc in failed)
        raise NodeUnreachableError(
            f"{len(failed)} of {len(addresses)} node(s) did not accept SSH within "
            f"{timeout:g}s:\n{lines}")
    return [r for r in results if isinstance(r, NodeTransport)]
