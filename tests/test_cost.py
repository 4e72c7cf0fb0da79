"""`stix.cost.report` over a real ledger: prices recorded at launch (a retired type still
counts), stopped time at disk prices, per node and in total, down clusters, --days."""

from __future__ import annotations

from pathlib import Path

import pytest

from stix import state
from stix.cost import NOT_COUNTED, report
from stix.errors import NotFoundError, UsageError
from stix.placement import Placement
from stix.state import usage

H = 3600.0
DAY = 86_400.0


def gcp(cluster: str = "t", **more: object) -> Placement:
    fields: dict[str, object] = {
        "cluster": cluster, "cloud": "gcp", "region": "us-central1", "zone": "us-central1-a",
        "instance_type": "a2-highgpu-1g", "num_nodes": 2, "vcpus": 12, "memory_gib": 85,
        "hourly_price": 3.0, "disk_size": 100, "disk_tier": "medium", **more}
    return Placement.model_validate(fields)


def record(p: Placement) -> state.ClusterRecord:
    return state.ClusterRecord(p.cluster, p.cloud, p, state.ClusterStatus.UP, 0, 0,
                               p.total_hourly_price, [])


# 100 GB pd-balanced ($0.10/GB-month) and an external IPv4 ($0.005/h) per node
DISK = 100 * 0.10 / 730
ADDRESS = 0.005


def test_running_then_stopped_then_down(stix_home: Path) -> None:
    conn = state.connect()
    state.put_cluster(conn, record(gcp()))
    usage.begin(conn, gcp(), "running", at=0)
    usage.begin(conn, gcp(), "stopped", at=2 * H)
    usage.end(conn, "t", at=5 * H)
    state.delete_cluster(conn, "t")  # down: the record goes, the usage stays
    (c,) = report(conn=conn, now=10 * H).clusters
    assert (c.name, c.state, c.down) == ("t", "DOWN", True)
    assert (c.running_hours, c.stopped_hours) == (2.0, 3.0)
    assert c.compute == pytest.approx(2 * 3.0 * 2)  # 2 nodes × $3/h × 2 h, the recorded price
    assert c.disks == pytest.approx(2 * DISK * 5)  # disks bill running and stopped
    assert c.addresses == pytest.approx(2 * ADDRESS * 2)  # the ephemeral IP goes on stop
    assert c.total == pytest.approx(c.compute + c.disks + c.addresses)
    assert c.hourly_now == 0.0
    assert [n.name for n in c.nodes] == ["node-1", "node-2"]
    assert sum(n.cost for n in c.nodes) == pytest.approx(c.total)


def test_a_retired_instance_type_is_priced_as_recorded(stix_home: Path) -> None:
    from stix.catalog import load_catalog

    retired = "p2.retired-16xlarge"
    assert not [o for o in load_catalog().offers if o.instance_type == retired]
    conn = state.connect()
    p = Placement(cluster="old", cloud="aws", region="us-east-1", zone="us-east-1a",
                  instance_type=retired, num_nodes=1, vcpus=64, memory_gib=732,
                  hourly_price=14.4, disk_size=256)
    usage.begin(conn, p, at=0)
    usage.end(conn, "old", at=10 * H)
    (c,) = report(conn=conn, now=20 * H).clusters
    assert c.last is not None and c.last.instance_type == retired
    assert c.compute == pytest.approx(144.0)
    assert c.to_json()["instance_type"] == retired


def test_stopped_time_is_priced_by_disk_alone(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, gcp(), "stopped", at=0)
    (c,) = report(conn=conn, now=10 * H).clusters
    assert (c.compute, c.addresses) == (0.0, 0.0)
    assert c.disks == pytest.approx(2 * DISK * 10)
    assert c.hourly_now == pytest.approx(2 * DISK)  # it still bills now
    assert c.state == "STOPPED"  # no record, but open: the ledger's phase (with a note)
    assert any("never ended" in n for n in c.notes)


def test_days_clip_the_intervals(stix_home: Path) -> None:
    conn = state.connect()
    now = 100 * DAY
    usage.begin(conn, gcp("long"), at=now - 3 * DAY)  # runs across the window's start
    usage.begin(conn, gcp("gone", num_nodes=1), at=now - 10 * DAY)
    usage.end(conn, "gone", at=now - 5 * DAY)  # ended before the window: left out
    full = report(conn=conn, now=now)
    week = report(conn=conn, now=now, days=1)
    assert [c.name for c in full.clusters] == ["gone", "long"]
    assert [c.name for c in week.clusters] == ["long"]
    (c,) = week.clusters
    assert c.running_hours == pytest.approx(24.0)
    assert c.compute == pytest.approx(24 * 2 * 3.0)
    assert week.since == now - DAY and week.to_json()["days"] == 1
    assert week.hourly_now == pytest.approx(2 * (3.0 + DISK + ADDRESS))


def test_per_node_when_nodes_go(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, gcp(), at=0)
    usage.begin(conn, gcp(), at=H, nodes=1)  # node-2 vanished after an hour
    usage.end(conn, "t", at=3 * H)
    (c,) = report(conn=conn, now=3 * H).clusters
    head, second = c.nodes
    assert (head.running_hours, second.running_hours) == (3.0, 1.0)
    assert head.cost == pytest.approx(3 * (3.0 + DISK + ADDRESS))
    assert second.cost == pytest.approx(1 * (3.0 + DISK + ADDRESS))


def test_totals_and_what_is_up_now(stix_home: Path) -> None:
    conn = state.connect()
    for name in ("a", "b"):
        state.put_cluster(conn, record(gcp(name)))
        usage.begin(conn, gcp(name), at=0)
    result = report(conn=conn, now=H)
    assert result.total == pytest.approx(sum(c.total for c in result.clusters))
    assert result.hourly_now == pytest.approx(2 * 2 * (3.0 + DISK + ADDRESS))
    assert [c.state for c in result.clusters] == ["UP", "UP"]
    assert [c.name for c in report("b", conn=conn, now=H).clusters] == ["b"]


def test_a_cluster_without_usage_says_so(stix_home: Path) -> None:
    conn = state.connect()
    state.put_cluster(conn, record(gcp("new")))
    (c,) = report(conn=conn, now=H).clusters
    assert (c.total, c.notes) == (0.0, ["no usage recorded for it"])


def test_unknown_cluster_and_bad_days(stix_home: Path) -> None:
    conn = state.connect()
    with pytest.raises(NotFoundError, match="no usage of a cluster named 'nope'"):
        report("nope", conn=conn)
    with pytest.raises(UsageError, match="--days"):
        report(days=0, conn=conn)


def test_json_shape(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, gcp(), at=0)
    doc = report(conn=conn, now=H).to_json()
    assert set(doc) == {"since", "until", "days", "currency", "total", "hourly_now",
                        "clusters", "not_counted", "notes"}
    assert doc["not_counted"] == list(NOT_COUNTED)
    (c,) = doc["clusters"]
    assert {"name", "state", "down", "cloud", "region", "instance_type", "num_nodes",
            "use_spot", "started_at", "ended_at", "running_hours", "stopped_hours",
            "compute", "disks", "addresses", "total", "hourly_now", "nodes", "intervals",
            "unpriced", "not_counted", "notes"} == set(c)
    (i,) = c["intervals"]
    assert i["phase"] == "running" and i["hours"] == 1.0
    assert [x["what"] for x in i["charges"]] == ["persistent disk 100 GB pd-balanced",
                                                  "external IPv4 address"]
