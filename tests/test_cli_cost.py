"""`stix cost-report`, the budget at `stix plan` and the warnings of `stix status`, through
the CLI's own entry point, on a real state DB and (for plan) a real `stix init` project."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

import pytest

from stix import state
from stix.placement import Placement
from stix.state import usage
from stix.user_config import config_path

TASK = "name: train\nnum_nodes: 2\nresources:\n  accelerators: A100:1\n  infra: gcp\nrun: x\n"


def run(*args: str) -> tuple[int, str, str]:
    from stix.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:
            code = 0
    return code, out.getvalue(), err.getvalue()


def placement(cluster: str, price: float, nodes: int = 1) -> Placement:
    return Placement(cluster=cluster, cloud="aws", region="us-east-1", zone="us-east-1a",
                     instance_type="p3.retired", num_nodes=nodes, vcpus=8, memory_gib=61,
                     hourly_price=price, disk_size=100)


@pytest.fixture
def ledger(stix_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster down (ran 2 h a week ago) and one up for an hour."""
    monkeypatch.setenv("COLUMNS", "200")
    conn = state.connect()
    now = time.time()
    usage.begin(conn, placement("old", 3.06, nodes=2), at=now - 7 * 86_400)
    usage.end(conn, "old", at=now - 7 * 86_400 + 7200)
    up = placement("live", 1.0)
    state.put_cluster(conn, state.ClusterRecord("live", "aws", up, state.ClusterStatus.UP,
                                                now, now, 1.0, []))
    usage.begin(conn, up, at=now - 3600)


def test_text_report(ledger: None) -> None:
    code, out, err = run("cost-report")
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["old"][1:6] == ["DOWN", "aws/us-east-1", "p3.retired", "2", "2h00m"]
    assert rows["old"][7] == "12.24"  # 2 nodes × $3.06/h × 2 h, machines
    assert rows["old"][-1] == "-"
    assert rows["live"][1] == "UP" and rows["live"][-1] == "1.02"  # + disk and address
    assert "not counted: data transfer" in err and "docs/costs.md" in err


def test_days_and_json(ledger: None) -> None:
    code, out, _ = run("cost-report", "--days", "1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert [c["name"] for c in doc["clusters"]] == ["live"]
    assert doc["days"] == 1 and doc["hourly_now"] > 1.0
    code, out, _ = run("cost-report", "old", "--json")
    (old,) = json.loads(out)["clusters"]
    assert (old["down"], old["compute"]) == (True, pytest.approx(12.24))


def test_unknown_cluster(ledger: None) -> None:
    code, _, err = run("cost-report", "nope")
    assert code == 3 and "no usage of a cluster named 'nope'" in err


def test_status_warns_above_the_config_limits(ledger: None) -> None:
    config_path().write_text("max_hourly_cost: 0.5\nmax_total_hourly_cost: 0.8\n")
    code, out, err = run("status", "--json")
    assert code == 0 and [c["name"] for c in json.loads(out)] == ["live"]
    assert "warning: cluster live costs $1.00/h (1 × $1.00/h), above max_hourly_cost" in err
    assert "above max_total_hourly_cost $0.80/h set in" in err
    config_path().write_text("max_hourly_cost: 5\n")
    assert "warning" not in run("status")[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "infra"
    assert run("init", str(root))[0] == 0
    (root / "train.yaml").write_text(TASK)
    monkeypatch.chdir(root)
    return root


def test_plan_refuses_above_the_cluster_limit(project: Path) -> None:
    config_path().write_text("max_hourly_cost: 5\n")
    code, out, err = run("plan", "train.yaml")
    assert code == 2, out
    assert "error: cluster train would cost $7.35/h (2 × a2-highgpu-1g on gcp" in err
    assert f"above max_hourly_cost $5.00/h per cluster set in {config_path()}" in err
    assert not (project / "stacks" / "Pulumi.train.yaml").exists()  # nothing written


def test_plan_refuses_above_the_total_with_what_runs(project: Path) -> None:
    conn = state.connect()
    usage.begin(conn, placement("other", 4.0), at=0)
    config_path().write_text("max_total_hourly_cost: 10\n")
    code, _, err = run("plan", "train.yaml")
    assert code == 2
    assert ("with the clusters running now ($4.00/h: other $4.00/h) the total would be "
            "$11.35/h, above max_total_hourly_cost $10.00/h") in err


def test_plan_passes_within_the_limits(project: Path) -> None:
    pytest.importorskip("pulumi", reason="needs the pulumi extra (pip install -e '.[pulumi]')")
    config_path().write_text("max_hourly_cost: 7.5\nmax_total_hourly_cost: 7.5\n")
    code, out, err = run("plan", "train.yaml")
    assert code == 0, err
    assert "stack train: 2 × a2-highgpu-1g on gcp" in out
