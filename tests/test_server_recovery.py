"""SkyPilot's job_recovery rules as the controller applies them after an attempt ends."""

from __future__ import annotations

from stix.server.recovery import Policy, after_exit, avoid_after_loss
from stix.task import Task


def test_exit_codes_against_the_budget() -> None:
    policy = Policy(max_restarts_on_errors=2, recover_on_exit_codes=frozenset({42}))
    assert after_exit({"node-0": 0, "node-1": 0}, policy, 0).outcome == "done"
    assert after_exit({"node-0": 42}, policy, 2).outcome == "free_restart"  # never counted
    first = after_exit({"node-0": 0, "node-1": 3}, policy, 0)
    assert (first.outcome, first.reason) == ("restart", "node-1 exit 3: restart 1 of 2")
    last = after_exit({"node-1": 3}, policy, 2)
    assert (last.outcome, last.reason) == ("fail", "node-1 exit 3 after 2 restart(s)")
    assert after_exit({"node-0": None}, Policy(), 0).outcome == "fail"  # killed, no budget


def test_a_loss_avoids_hosts_and_by_strategy_the_region_or_zone() -> None:
    lost = [{"cloud": "aws", "region": "us-east-1", "zone": "us-east-1a", "stack": True},
            {"cloud": "ssh", "region": "lab", "hosts": ["10.0.0.2:22"], "stack": False}]
    assert avoid_after_loss(Policy(), lost) == ["10.0.0.2:22", "aws/us-east-1"]
    assert avoid_after_loss(Policy(strategy="FAILOVER"), lost) == [
        "10.0.0.2:22", "aws/us-east-1/us-east-1a"]


def test_the_policy_comes_from_the_task() -> None:
    task = Task.model_validate({"run": "x", "resources": {"job_recovery": {
        "strategy": "FAILOVER", "max_restarts_on_errors": 3, "recover_on_exit_codes": [7]}}})
    assert Policy.of_task(task) == Policy("FAILOVER", 3, frozenset({7}))
    assert Policy.of_task(Task.model_validate({"run": "x"})).strategy == "EAGER_NEXT_REGION"
