"""The budget guard: the task's per-node limit, the config's per-cluster and total limits,
refused with the numbers and where each is set; what runs now from the usage ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix import state
from stix.budget import OverBudget, check, over_budget, running
from stix.errors import TaskError
from stix.placement import Placement
from stix.state import usage
from stix.user_config import Config, config_path, load_config


def p(cluster: str = "new", nodes: int = 2, price: float = 1.5) -> Placement:
    return Placement(cluster=cluster, cloud="aws", region="us-east-1", zone="us-east-1a",
                     instance_type="g5.xlarge", num_nodes=nodes, vcpus=4, memory_gib=16,
                     hourly_price=price)


def test_the_task_limit_is_per_node(stix_home: Path) -> None:
    check(p(nodes=4, price=1.5), 1.5, Config())  # 4 × $1.50 = $6/h, each node at the cap
    with pytest.raises(OverBudget) as err:
        check(p(price=1.5), 1.0, Config(), task_file="train.yaml")
    text = str(err.value)
    assert "g5.xlarge costs $1.50/h per node, above max_hourly_cost $1.00/h per node" in text
    assert "train.yaml (resources.max_hourly_cost)" in text
    assert err.value.exit_code == 2


def test_the_config_limit_is_per_cluster(stix_home: Path) -> None:
    check(p(nodes=2, price=1.5), None, Config(max_hourly_cost=3.0))  # equal is within it
    with pytest.raises(OverBudget) as err:
        check(p(nodes=3, price=1.5), None, Config(max_hourly_cost=3.0))
    assert str(err.value).startswith(
        "cluster new would cost $4.50/h (3 × g5.xlarge on aws us-east-1 at $1.50/h per node), "
        f"above max_hourly_cost $3.00/h per cluster set in {config_path()}")
    assert "raise the limit" in str(err.value)


def test_the_total_counts_what_runs_now_but_not_the_cluster_itself(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, p("a", nodes=1, price=2.0), at=0)
    usage.begin(conn, p("new", nodes=1, price=5.0), at=0)  # replaced by the new placement
    usage.begin(conn, p("parked", nodes=4, price=9.0), "stopped", at=0)  # stopped: no machines
    limit = Config(max_total_hourly_cost=5.0)
    check(p("new", nodes=2, price=1.5), None, limit, conn)  # 2 + 3 = 5
    with pytest.raises(OverBudget) as err:
        check(p("new", nodes=2, price=2.0), None, limit, conn)
    assert ("cluster new would cost $4.00/h (2 × g5.xlarge on aws us-east-1 at $2.00/h per "
            "node); with the clusters running now ($2.00/h: a $2.00/h) the total would be "
            "$6.00/h, above max_total_hourly_cost $5.00/h set in") in str(err.value)


def test_no_state_db_means_nothing_runs(stix_home: Path) -> None:
    assert not state.db_path().exists()
    check(p(nodes=1, price=4.0), None, Config(max_total_hourly_cost=5.0))
    assert not state.db_path().exists()  # a plan in CI makes none


def test_running_reads_the_ledger(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, p("a"), at=0)
    usage.begin(conn, p("b"), at=0)
    usage.end(conn, "b", at=10)
    assert [(r.cluster, r.hourly) for r in running(conn)] == [("a", 3.0)]


def test_status_warnings(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, p("a", nodes=2, price=1.5), at=0)
    usage.begin(conn, p("b", nodes=1, price=1.0), at=0)
    assert over_budget(conn, Config()) == []
    got = over_budget(conn, Config(max_hourly_cost=2.0, max_total_hourly_cost=3.5))
    assert got == [
        f"cluster a costs $3.00/h (2 × $1.50/h), above max_hourly_cost $2.00/h per cluster "
        f"set in {config_path()}",
        f"the clusters running now cost $4.00/h (a $3.00/h, b $1.00/h), above "
        f"max_total_hourly_cost $3.50/h set in {config_path()}"]


def test_config_keys_load_and_are_checked(stix_home: Path) -> None:
    config_path().write_text("max_hourly_cost: 12.5\nmax_total_hourly_cost: 40\n")
    config = load_config()
    assert (config.max_hourly_cost, config.max_total_hourly_cost) == (12.5, 40.0)
    config_path().write_text("max_total_hourly_cost: -1\n")
    with pytest.raises(TaskError, match="max_total_hourly_cost: Input should be greater than 0"):
        load_config()
