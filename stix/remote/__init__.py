"""Everything that happens on the nodes: bootstrap, transport, sync, fan-out, the agent."""
