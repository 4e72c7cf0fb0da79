"""The failover policy: what a failure blocks, and which placement comes next."""

from __future__ import annotations

from stix.cluster.failover import Block, block_for, next_placement
from stix.placement import Placement


def p(cloud: str, region: str, zone: str | None, itype: str = "g5.xlarge", price: float = 1.0,
      spot: bool = False) -> Placement:
    return Placement(cluster="c", cloud=cloud, region=region, zone=zone, instance_type=itype,
                     vcpus=4, memory_gib=16, hourly_price=price, use_spot=spot)


CANDIDATES = [
    p("aws", "us-east-1", "us-east-1a", price=1.0),
    p("gcp", "us-central1", "us-central1-a", "g2-standard-4", price=1.01),
    p("aws", "us-west-2", "us-west-2a", price=1.02),
    p("aws", "us-east-1", "us-east-1b", price=1.05),
    p("azure", "eastus", None, "Standard_NV36ads_A10_v5", price=1.1),
]


def test_capacity_moves_to_another_zone_first() -> None:
    failed = CANDIDATES[0]
    blocks = [block_for(failed, "capacity", "no capacity")]
    nxt = next_placement(failed, CANDIDATES, blocks)
    assert nxt is not None and nxt.zone == "us-east-1b"


def test_then_another_region_of_the_same_cloud() -> None:
    blocks = [block_for(CANDIDATES[0], "capacity", ""), block_for(CANDIDATES[3], "capacity", "")]
    nxt = next_placement(CANDIDATES[3], CANDIDATES, blocks)
    assert nxt is not None and nxt.region == "us-west-2"


def test_quota_blocks_the_region() -> None:
    blocks = [block_for(CANDIDATES[0], "quota", "")]
    assert blocks[0].covers(CANDIDATES[3])
    nxt = next_placement(CANDIDATES[0], CANDIDATES, blocks)
    assert nxt is not None and nxt.region == "us-west-2"


def test_credentials_block_the_cloud() -> None:
    blocks = [block_for(CANDIDATES[0], "credentials", "")]
    nxt = next_placement(CANDIDATES[0], CANDIDATES, blocks)
    assert nxt is not None and nxt.cloud == "gcp"


def test_spot_block_leaves_on_demand_open() -> None:
    spot = p("aws", "us-east-1", "us-east-1a", spot=True)
    ondemand = p("aws", "us-east-1", "us-east-1a", spot=False)
    block = block_for(spot, "spot", "")
    assert block.covers(spot) and not block.covers(ondemand)


def test_nothing_left() -> None:
    blocks = [Block("aws"), Block("gcp"), Block("azure")]
    assert next_placement(CANDIDATES[0], CANDIDATES, blocks) is None
