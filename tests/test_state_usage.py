"""The usage ledger on a real state DB: intervals with fixed timestamps, prices copied in
at the moment each began, kept after the cluster is forgotten, adopted on migration."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stix import state
from stix.placement import Placement
from stix.state import usage


def placement(cluster: str = "c1", cloud: str = "aws", **more: object) -> Placement:
    fields: dict[str, object] = {
        "cluster": cluster, "cloud": cloud, "region": "us-east-1", "zone": "us-east-1a",
        "instance_type": "g5.xlarge", "num_nodes": 2, "vcpus": 4, "memory_gib": 16,
        "hourly_price": 1.006, "disk_size": 100, **more}
    return Placement.model_validate(fields)


def record(p: Placement, status: str = "UP", created: float = 1000.0) -> state.ClusterRecord:
    return state.ClusterRecord(p.cluster, p.cloud, p, state.ClusterStatus(status), created,
                               created, p.total_hourly_price, [])


def test_begin_end_and_intervals_with_fixed_times(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, placement(), "running", at=1000)
    usage.begin(conn, placement(), "stopped", at=4600)  # closes the running one at 4600
    assert usage.end(conn, "c1", at=8200) is True
    assert usage.end(conn, "c1", at=9000) is False  # nothing open: not an error
    got = usage.intervals(conn, "c1")
    assert [(i.phase, i.started_at, i.ended_at) for i in got] == [
        ("running", 1000, 4600), ("stopped", 4600, 8200)]
    running, stopped = got
    assert (running.nodes, running.node_hourly, running.instance_type) == (2, 1.006, "g5.xlarge")
    assert running.hours() == 1.0 and stopped.hours() == 1.0
    assert running.machine_hourly_per_node == 1.006 and stopped.machine_hourly_per_node == 0.0


def test_at_most_one_open_interval_and_a_repeat_is_kept(stix_home: Path) -> None:
    conn = state.connect()
    first = usage.begin(conn, placement(), at=10)
    assert usage.begin(conn, placement(), at=20) == first  # same phase, same prices
    usage.begin(conn, placement(instance_type="g5.2xlarge", hourly_price=1.212), at=30)
    usage.begin(conn, placement(), "running", at=40, nodes=1)  # a node gone
    got = usage.intervals(conn, "c1")
    assert [(i.instance_type, i.nodes, i.started_at, i.ended_at) for i in got] == [
        ("g5.xlarge", 2, 10, 30), ("g5.2xlarge", 2, 30, 40), ("g5.xlarge", 1, 40, None)]
    assert [i.cluster for i in usage.open_intervals(conn)] == ["c1"]


def test_an_end_before_the_start_is_a_zero_length_interval(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, placement(), at=500)
    usage.end(conn, "c1", at=100)
    (only,) = usage.intervals(conn, "c1")
    assert (only.started_at, only.ended_at, only.hours()) == (500, 500, 0.0)


def test_usage_outlives_the_cluster_record(stix_home: Path) -> None:
    conn = state.connect()
    p = placement()
    state.put_cluster(conn, record(p))
    usage.begin(conn, record(p), at=1000)
    usage.end(conn, "c1", at=2000)
    state.delete_cluster(conn, "c1")  # what down does
    assert state.get_cluster(conn, "c1") is None
    assert [(i.cluster, i.started_at, i.ended_at) for i in usage.intervals(conn)] == [
        ("c1", 1000, 2000)]


def test_since_keeps_intervals_open_at_or_after_it(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, placement("a"), at=0)
    usage.end(conn, "a", at=100)
    usage.begin(conn, placement("b"), at=50)
    usage.end(conn, "b", at=300)
    usage.begin(conn, placement("c"), at=400)
    assert [i.cluster for i in usage.intervals(conn, since=200)] == ["b", "c"]
    (b,) = usage.intervals(conn, "b", since=200)
    assert b.hours(since=200) == pytest.approx(100 / 3600)
    (c,) = usage.intervals(conn, "c")
    assert c.hours(until=4000) == 1.0  # open: `until` ends it


def test_inside_a_callers_transaction(stix_home: Path) -> None:
    conn = state.connect()
    with state.transaction(conn):
        state.put_cluster(conn, record(placement()))
        usage.begin(conn, placement(), at=5)
    assert usage.open_intervals(conn)[0].started_at == 5


def test_a_bad_phase_is_refused(stix_home: Path) -> None:
    with pytest.raises(ValueError, match="running, stopped"):
        usage.begin(state.connect(), placement(), "paused")  # type: ignore[arg-type]


def test_prices_recorded_per_phase_from_the_cloud_tables(stix_home: Path) -> None:
    from stix.clouds.aws import costs

    conn = state.connect()
    usage.begin(conn, placement(), "running", at=0)
    usage.begin(conn, placement(), "stopped", at=3600)
    running, stopped = usage.intervals(conn, "c1")
    # 100 GB gp3 at 3000 IOPS / 250 MB/s (the medium tier): capacity + 125 MB/s over the free
    disk = (100 * costs.EBS_GB_MONTH["gp3"] + 125 * costs.GP3_MBPS_MONTH) / 730
    assert running.disk_hourly_per_node == pytest.approx(disk)
    assert stopped.disk_hourly_per_node == pytest.approx(disk)
    assert running.other_hourly_per_node == costs.PUBLIC_IPV4_HOUR
    assert stopped.other_hourly_per_node == 0.0  # AWS releases the address on stop
    assert running.disk_gb_per_node == 100
    assert [c.what for c in running.charges] == ["EBS 100 GB gp3 3000 IOPS 250 MB/s",
                                                  "public IPv4 address"]


def test_a_static_address_is_billed_while_stopped(stix_home: Path) -> None:
    from stix.clouds.azure import costs

    conn = state.connect()
    p = placement(cloud="azure", region="eastus", zone=None, instance_type="Standard_D4s_v5")
    usage.begin(conn, p, "stopped", at=0)
    (stopped,) = usage.intervals(conn, "c1")
    assert stopped.other_hourly_per_node == costs.PUBLIC_IPV4_HOUR
    # 100 GB of Standard SSD bills as the 128 GiB step (E10)
    assert stopped.disk_hourly_per_node == pytest.approx(9.60 / 730)


def test_private_nodes_hold_no_address(stix_home: Path) -> None:
    conn = state.connect()
    usage.begin(conn, placement(extra={"private": True, "vpc_id": "vpc-1",
                                       "subnet_id": "subnet-1"}), at=0)
    (only,) = usage.intervals(conn, "c1")
    assert only.other_hourly_per_node == 0.0
    assert [c.kind for c in only.charges] == ["disk"]


def test_existing_machines_bill_nothing_but_are_recorded(stix_home: Path) -> None:
    conn = state.connect()
    p = Placement(cluster="l", cloud="local", region="local", instance_type="local",
                  vcpus=2, memory_gib=4, hourly_price=0.0)
    usage.begin(conn, p, at=0)
    (only,) = usage.intervals(conn, "l")
    assert (only.hourly, only.charges, only.not_counted) == (0.0, (), ())


def test_an_unpriced_disk_is_said(stix_home: Path) -> None:
    conn = state.connect()
    # 40,000 GB is past Azure's largest managed disk step: billed, not priced
    usage.begin(conn, placement(cloud="azure", region="eastus", zone=None,
                                instance_type="Standard_D4s_v5", disk_size=40_000), at=0)
    (only,) = usage.intervals(conn, "c1")
    assert only.unpriced == ["managed disk 40000 GB StandardSSD_LRS"]
    assert only.disk_hourly_per_node == 0.0


def test_clusters_up_before_the_ledger_are_adopted(stix_home: Path) -> None:
    conn = state.connect()
    up, failed = placement("up"), placement("failed")
    state.put_cluster(conn, record(up, "UP", created=1234.0))
    state.put_cluster(conn, record(failed, "FAILED"))
    conn.execute("DROP TABLE usage")  # a state DB from before the ledger
    conn.close()
    conn = state.connect()
    (adopted,) = usage.intervals(conn)
    assert (adopted.cluster, adopted.phase, adopted.started_at, adopted.ended_at) == (
        "up", "running", 1234.0, None)
    assert adopted.note == usage.ADOPTED_NOTE
    conn.close()
    assert len(usage.intervals(state.connect())) == 1  # only once


def test_begin_without_at_is_now(stix_home: Path) -> None:
    conn = state.connect()
    before = time.time()
    usage.begin(conn, placement())
    assert usage.open_intervals(conn)[0].started_at >= before


def test_follow_tracks_what_an_operation_recorded(stix_home: Path) -> None:
    conn = state.connect()
    r = record(placement(), "PROVISIONING")
    usage.follow(conn, r, at=10)
    assert usage.intervals(conn) == []  # nothing runs yet
    for status, at in (("PROVISIONED", 20), ("UP", 30), ("STOPPED", 40), ("UP", 50)):
        r.status = state.ClusterStatus(status)
        usage.follow(conn, r, at=at)
    r.status = state.ClusterStatus.PARTIAL
    usage.follow(conn, r, nodes=1, at=60)
    r.status = state.ClusterStatus.TERMINATED
    usage.follow(conn, r, at=70)
    assert [(i.phase, i.nodes, i.started_at, i.ended_at) for i in usage.intervals(conn)] == [
        ("running", 2, 20, 40), ("stopped", 2, 40, 50), ("running", 2, 50, 60),
        ("running", 1, 60, 70)]


def test_forgetting_a_cluster_ends_its_interval(stix_home: Path) -> None:
    conn = state.connect()
    p = placement()
    state.put_cluster(conn, record(p))
    usage.begin(conn, p, at=time.time() - 60)
    state.delete_cluster(conn, "c1")
    (only,) = usage.intervals(conn)
    assert only.ended_at is not None and only.hours() > 0
