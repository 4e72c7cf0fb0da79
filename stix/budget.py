"""The budget guard: hourly cost limits, enforced by `stix plan` and `stix up` before
anything is made, and watched by `stix status`.

Every limit is on the machines' $/h — the price `plan`, `optimize` and `status` show (disks
and addresses are in `stix cost-report`, not in the limits):

- the task's `resources.max_hourly_cost`: per node, as in SkyPilot. The optimizer already
  leaves out machines above it; a placement taken from a stack file is checked again.
- the user config's `max_hourly_cost`: per cluster, all its nodes together.
- the user config's `max_total_hourly_cost`: every cluster running at once (as the usage
  ledger says), with the one being placed instead of any earlier placement of it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stix.errors import UsageError

if TYPE_CHECKING:
    from stix.placement import Placement
    from stix.user_config import Config

HINT = ("choose a cheaper placement (fewer nodes, other accelerators, use_spot: --gpus, "
        "--use-spot), stop or take "
        "down a running cluster, or raise the limit where it is set")


class OverBudget(UsageError):
    """A placement would cost more per hour than a limit allows."""


def _above(value: float, limit: float) -> bool:
    return value > limit + 1e-9  # sums of float prices: equal is within the limit


def money(value: float) -> str:
    """Cents, or four significant digits for a small price that is not whole cents."""
    cents = abs(value * 100 - round(value * 100)) < 1e-6
    return f"${value:,.2f}/h" if value >= 1 or cents else f"${value:.4g}/h"


@dataclass(frozen=True)
class Running:
    """A cluster whose machines bill now, at the price recorded at launch."""

    cluster: str
    nodes: int
    node_hourly: float

    @property
    def hourly(self) -> float:
        return self.nodes * self.node_hourly


def running(conn: sqlite3.Connection | None) -> list[Running]:
    """Every cluster running now, from the usage ledger (None: no state DB, nothing runs)."""
    from stix.state import usage

    if conn is None:
        return []
    return [Running(i.cluster, i.nodes, i.node_hourly) for i in usage.open_intervals(conn)
            if i.phase == "running" and i.node_hourly > 0]


def _state(conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
    """The state DB when one exists (a plan in CI has none: nothing runs there)."""
    if conn is not None:
        return conn
    from stix import state

    return state.connect() if state.db_path().exists() else None


def _where(key: str) -> str:
    """Where the limit in force is set: the user config, or the task's `config:`."""
    from stix.user_config import where

    said = where(key)
    if said.startswith("config."):
        field, _, place = said.partition(" in ")
        return f"{place} ({field})"
    return said.removeprefix(f"{key} in ")


def _placement_text(p: Placement) -> str:
    return (f"{p.num_nodes} × {p.instance_type}{' spot' if p.use_spot else ''} on {p.cloud} "
            f"{p.region} at {money(p.hourly_price)} per node")


def check(placement: Placement, task_limit: float | None = None, config: Config | None = None,
          conn: sqlite3.Connection | None = None, *, task_file: str | None = None) -> None:
    """Refuse (`OverBudget`, with the numbers and where each limit is set) a placement
    above the task's per-node limit or the config's per-cluster or total limits."""
    if config is None:
        from stix.user_config import load_config

        config = load_config()
    p = placement
    cost = p.total_hourly_price
    if task_limit is not None and _above(p.hourly_price, task_limit):
        raise OverBudget(
            f"cluster {p.cluster}: {p.instance_type} costs {money(p.hourly_price)} per node, "
            f"above max_hourly_cost {money(task_limit)} per node set in "
            f"{task_file or 'the task'} (resources.max_hourly_cost)", hint=HINT)
    if config.max_hourly_cost is not None and _above(cost, config.max_hourly_cost):
        raise OverBudget(
            f"cluster {p.cluster} would cost {money(cost)} ({_placement_text(p)}), above "
            f"max_hourly_cost {money(config.max_hourly_cost)} per cluster set in "
            f"{_where('max_hourly_cost')}", hint=HINT)
    if config.max_total_hourly_cost is not None:
        others = [r for r in running(_state(conn)) if r.cluster != p.cluster]
        now = sum(r.hourly for r in others)
        if _above(now + cost, config.max_total_hourly_cost):
            listed = ", ".join(f"{r.cluster} {money(r.hourly)}" for r in others) or "none"
            raise OverBudget(
                f"cluster {p.cluster} would cost {money(cost)} ({_placement_text(p)}); with "
                f"the clusters running now ({money(now)}: {listed}) the total would be "
                f"{money(now + cost)}, above max_total_hourly_cost "
                f"{money(config.max_total_hourly_cost)} set in "
                f"{_where('max_total_hourly_cost')}", hint=HINT)


def over_budget(conn: sqlite3.Connection | None = None,
                config: Config | None = None) -> list[str]:
    """What runs now above the config's limits, one sentence each (`stix status` warns)."""
    if config is None:
        from stix.user_config import load_config

        config = load_config()
    if config.max_hourly_cost is None and config.max_total_hourly_cost is None:
        return []
    up = running(_state(conn))
    out = []
    if config.max_hourly_cost is not None:
        for r in up:
            if _above(r.hourly, config.max_hourly_cost):
                out.append(f"cluster {r.cluster} costs {money(r.hourly)} ({r.nodes} × "
                           f"{money(r.node_hourly)}), above max_hourly_cost "
                           f"{money(config.max_hourly_cost)} per cluster set in "
                           f"{_where('max_hourly_cost')}")
    total = sum(r.hourly for r in up)
    if (config.max_total_hourly_cost is not None
            and _above(total, config.max_total_hourly_cost)):
        listed = ", ".join(f"{r.cluster} {money(r.hourly)}" for r in up)
        out.append(f"the clusters running now cost {money(total)} ({listed}), above "
                   f"max_total_hourly_cost {money(config.max_total_hourly_cost)} set in "
                   f"{_where('max_total_hourly_cost')}")
    return out
