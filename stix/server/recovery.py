"""What a managed job does when an attempt ends, by SkyPilot's `job_recovery` rules.

- A node lost to preemption or hardware is always recovered (it is not the code's fault),
  and the next attempt avoids what was lost: the hosts always, and under
  EAGER_NEXT_REGION (the default) the region too, while another placement remains;
  FAILOVER tries the same region first.
- Exit codes in `recover_on_exit_codes` are always restarted and not counted.
- Other failures of the user's code are restarted up to `max_restarts_on_errors` times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["done", "restart", "free_restart", "fail"]
DEFAULT_STRATEGY = "EAGER_NEXT_REGION"


@dataclass(frozen=True)
class Policy:
    strategy: str = DEFAULT_STRATEGY
    max_restarts_on_errors: int = 0
    recover_on_exit_codes: frozenset[int] = frozenset()

    @classmethod
    def of_task(cls, task: Any) -> Policy:
        rec = task.resources.job_recovery
        if rec is None:
            return cls()
        strategy = rec.strategy if rec.strategy != "DYNAMIC_NODE_SET" else "FAILOVER"
        return cls(strategy or DEFAULT_STRATEGY, rec.max_restarts_on_errors,
                   frozenset(rec.recover_on_exit_codes))


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str


def after_exit(exit_codes: dict[str, int | None], policy: Policy, restarts: int) -> Decision:
    """The run ended on every node with these exit codes (None: killed without a code)."""
    failed = {node: code for node, code in exit_codes.items() if code != 0}
    if not failed:
        return Decision("done", "succeeded on every node")
    shown = ", ".join(f"{node} exit {code}" for node, code in sorted(failed.items()))
    if any(code in policy.recover_on_exit_codes for code in failed.values()):
        return Decision("free_restart", f"{shown}: in recover_on_exit_codes, restarted")
    if restarts < policy.max_restarts_on_errors:
        return Decision("restart", f"{shown}: restart {restarts + 1} of "
                                   f"{policy.max_restarts_on_errors}")
    budget = (f" after {policy.max_restarts_on_errors} restart(s)"
              if policy.max_restarts_on_errors else "")
    return Decision("fail", f"{shown}{budget}")


def avoid_after_loss(policy: Policy, lost: Iterable[dict[str, Any]]) -> list[str]:
    """Locations the next attempt must not use, from the placements of attempts whose
    nodes were lost (`{"cloud", "region", "zone", "hosts": [...]}`)."""
    out: list[str] = []
    for where in lost:
        out += [str(h) for h in where.get("hosts") or []]
        if where.get("stack") and policy.strategy == "EAGER_NEXT_REGION":
            out.append(f"{where['cloud']}/{where['region']}")
        elif where.get("stack") and where.get("zone"):
            out.append(f"{where['cloud']}/{where['region']}/{where['zone']}")
    return sorted(set(out))
