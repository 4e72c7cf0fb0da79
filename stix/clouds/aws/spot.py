"""AWS spot prices, observed: EC2 DescribeSpotPriceHistory per zone when AWS credentials
exist (boto3, the latest price of each instance type in each zone), else AWS's public spot
price feed (the file behind the "Amazon EC2 Spot Instances Pricing" page: per region,
Linux, no zones). Either way a price is one the cloud published, never a modelled one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from stix.catalog.update import FetchError, Opener, redact

FEED = "https://spot-price.s3.amazonaws.com/spot.js"
# The feed's older region names (newer regions are named by their code).
_FEED_REGIONS = {
    "us-east": "us-east-1", "us-west": "us-west-1", "eu-ireland": "eu-west-1",
    "apac-sin": "ap-southeast-1", "apac-syd": "ap-southeast-2", "apac-tokyo": "ap-northeast-1",
    "sa-east": "sa-east-1",
}  # fmt: skip


@dataclass
class SpotPrices:
    """(instance type, region) → $/h, and per zone where the source names zones."""

    source: str
    by_region: dict[tuple[str, str], float] = field(default_factory=dict)
    by_zone: dict[tuple[str, str], float] = field(default_factory=dict)  # (type, zone)
    zones: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (type, region)
    as_of: str = ""

    def zone_price(self, itype: str, zone: str | None, region: str) -> float | None:
        if zone is not None and (itype, zone) in self.by_zone:
            return self.by_zone[(itype, zone)]
        return self.by_region.get((itype, region))


def parse_feed(text: str) -> SpotPrices:
    """The public feed (JSONP: `callback({...})`) → per-region Linux spot prices."""
    body = re.sub(r"^\s*[A-Za-z_$][\w$]*\(\s*|\s*\)\s*;?\s*$", "", text)
    try:
        doc = json.loads(body)
        regions = doc["config"]["regions"]
    except (ValueError, KeyError, TypeError):
        raise FetchError(f"{FEED}: not the spot price feed (no config.regions)") from None
    out = SpotPrices(f"AWS public spot price feed ({FEED})")
    for entry in regions:
        region = _FEED_REGIONS.get(str(entry.get("region")), str(entry.get("region")))
        for group in entry.get("instanceTypes", []):
            for size in group.get("sizes", []):
                for column in size.get("valueColumns", []):
                    if column.get("name") != "linux":
                        continue
                    try:
                        price = float(column["prices"]["USD"])
                    except (KeyError, TypeError, ValueError):
                        continue  # "N/A*": not offered there
                    if price > 0:
                        out.by_region[(str(size.get("size")), region)] = price
    return out


def from_feed(opener: Opener, url: str = FEED) -> SpotPrices:
    try:
        with opener(url) as body:
            text = body.read().decode("utf-8")
    except FetchError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise FetchError(f"cannot fetch {redact(url)}: {exc}") from None
    prices = parse_feed(text)
    prices.as_of = datetime.now(timezone.utc).date().isoformat()
    return prices


def from_history(regions: Iterable[str], client: Any = None) -> SpotPrices:
    """The latest Linux/UNIX spot price of every type in every zone of `regions`
    (EC2 DescribeSpotPriceHistory; needs credentials; `client(region)` makes the client)."""
    import boto3

    make = client or (lambda region: boto3.client("ec2", region_name=region))
    out = SpotPrices("EC2 DescribeSpotPriceHistory (per zone, with your AWS credentials)")
    now = datetime.now(timezone.utc)
    latest: dict[tuple[str, str], tuple[datetime, float]] = {}
    for region in regions:
        pages = make(region).get_paginator("describe_spot_price_history").paginate(
            ProductDescriptions=["Linux/UNIX"], StartTime=now)  # fmt: skip
        for page in pages:
            for item in page.get("SpotPriceHistory", []):
                key = (str(item["InstanceType"]), str(item["AvailabilityZone"]))
                when = item.get("Timestamp") or now
                price = float(item["SpotPrice"])
                if price > 0 and (key not in latest or when >= latest[key][0]):
                    latest[key] = (when, price)
    for (itype, zone), (_when, price) in latest.items():
        region = re.sub(r"[a-z]$", "", zone)
        out.by_zone[(itype, zone)] = price
        out.zones.setdefault((itype, region), []).append(zone)
        prev = out.by_region.get((itype, region))
        out.by_region[(itype, region)] = price if prev is None else min(prev, price)
    for key in out.zones:
        out.zones[key].sort()
    out.as_of = now.date().isoformat()
    return out


def observed_spot(opener: Opener, regions: list[str], *, use_history: bool | None = None,
                  notes: list[str] | None = None, feed: str = FEED) -> SpotPrices:
    """Spot prices from the best source this machine can read (see the module doc)."""
    from stix.clouds import registry

    if use_history is None:
        use_history = registry.get("aws").check_credentials(verify=False).ok
    if use_history:
        try:
            return from_history(regions)
        except ImportError:
            if notes is not None:
                notes.append("boto3 is not installed: spot prices from the public feed instead "
                             "of EC2 spot price history")
        except Exception as exc:  # botocore's errors: no network, denied, throttled
            if notes is not None:
                notes.append(f"EC2 spot price history failed ({exc}); used the public feed")
    return from_feed(opener, feed)
