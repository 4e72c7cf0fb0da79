"""The AWS resources stix tagged (`stix orphans`), found with boto3 whatever any state says,
and their deletion, dependents first.

EC2 describe calls filter on the tag key server-side, one region at a time (regions in
parallel); S3 has no such filter, so every bucket's tags are read (in parallel too). IAM
roles and instance profiles are not scanned: IAM lists no tags without a call per role.
boto3 honours AWS_ENDPOINT_URL, which is how tests point this at a local emulator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stix.clouds.tagged import (
    CLUSTER_TAG,
    Deleted,
    Scan,
    ScanError,
    TaggedResource,
    join,
    stack_of,
)

CLOUD = "aws"
_HINT = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws configure`")
# Errors that mean the credentials themselves are refused: the scan stops on them.
_REFUSED = ("AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
            "UnrecognizedClientException", "InvalidAccessKeyId")
# Deletion order: what holds others goes first; a VPC goes last.
ORDER = ("instance", "elastic-ip", "volume", "key-pair", "placement-group", "security-group",
         "route-table", "internet-gateway", "subnet", "vpc", "bucket")
# EC2 resources carry only the cluster tag (the bucket tag goes on S3 buckets alone).
_FILTER = [{"Name": "tag-key", "Values": [CLUSTER_TAG]}]
WORKERS = 8


def _boto() -> Any:
    try:
        import boto3
    except ImportError:
        raise ScanError("scanning AWS needs boto3, which is not installed",
                        hint="pip install boto3") from None
    return boto3


def _fatal(exc: Exception) -> ScanError | None:
    """The exception as a scan-stopping error, when it says the credentials do not work."""
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return ScanError("aws: boto3 found no credentials", hint=_HINT)
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _REFUSED:
            message = exc.response.get("Error", {}).get("Message", "")
            return ScanError(f"aws refused the credentials: {code}: {message}".rstrip(": "),
                             hint=_HINT)
    return None


def _tags(item: dict[str, Any]) -> dict[str, str]:
    return {t.get("Key", ""): t.get("Value", "") for t in item.get("Tags") or []}


def _resource(region: str, kind: str, rid: str, tags: dict[str, str], **kw: Any) -> \
        TaggedResource | None:
    stack = stack_of(tags)
    if stack is None:
        return None
    return TaggedResource(CLOUD, region, kind, rid, stack, name=kw.pop("name", None)
                          or tags.get("Name", ""), **kw)


# -- listing, one kind at a time ------------------------------------------------------------


def _pages(client: Any, operation: str, key: str, **kw: Any) -> Iterable[dict[str, Any]]:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**kw):
            yield from page.get(key) or []
    else:
        yield from getattr(client, operation)(**kw).get(key) or []


def _instances(ec2: Any, region: str) -> list[TaggedResource]:
    out = []
    for reservation in _pages(ec2, "describe_instances", "Reservations", Filters=_FILTER):
        for inst in reservation.get("Instances") or []:
            state = (inst.get("State") or {}).get("Name", "")
            if state == "terminated":
                continue
            running = state in ("pending", "running")
            made = _resource(
                region, "instance", inst["InstanceId"], _tags(inst),
                zone=(inst.get("Placement") or {}).get("AvailabilityZone"),
                machine=inst.get("InstanceType") if running else None,
                spot=inst.get("InstanceLifecycle") == "spot",
                detail=join(f"{inst.get('InstanceType', '?')} {state}",
                            None if running else "no compute charge while not running"))
            if made:
                out.append(made)
    return out


def _volumes(ec2: Any, region: str) -> list[TaggedResource]:
    out = []
    for vol in _pages(ec2, "describe_volumes", "Volumes", Filters=_FILTER):
        attached = [a.get("InstanceId", "") for a in vol.get("Attachments") or []]
        made = _resource(region, "volume", vol["VolumeId"], _tags(vol),
                         zone=vol.get("AvailabilityZone"),
                         detail=join(f"{vol.get('Size', '?')} GiB {vol.get('VolumeType', '')}"
                                     .rstrip(),
                                     f"attached to {', '.join(attached)}" if attached
                                     else "not attached"))
        if made:
            out.append(made)
    return out


def _simple(kind: str, operation: str, key: str, id_key: str, *, name_key: str | None = None,
            alias_keys: tuple[str, ...] = (), vpc: bool = False) -> \
        Callable[[Any, str], list[TaggedResource]]:
    """A lister for a kind whose description needs nothing but its id, name and VPC."""

    def lister(ec2: Any, region: str) -> list[TaggedResource]:
        out = []
        for item in _pages(ec2, operation, key, Filters=_FILTER):
            aliases = tuple(str(item[k]) for k in alias_keys if item.get(k))
            made = _resource(region, kind, str(item[id_key]), _tags(item), aliases=aliases,
                             name=item.get(name_key) if name_key else None,
                             detail=f"in {item['VpcId']}" if vpc and item.get("VpcId") else "")
            if made:
                out.append(made)
        return out

    return lister


def _gateways(ec2: Any, region: str) -> list[TaggedResource]:
    out = []
    for igw in _pages(ec2, "describe_internet_gateways", "InternetGateways", Filters=_FILTER):
        vpcs = [a["VpcId"] for a in igw.get("Attachments") or [] if a.get("VpcId")]
        made = _resource(region, "internet-gateway", igw["InternetGatewayId"], _tags(igw),
                         detail=f"attached to {', '.join(vpcs)}" if vpcs else "not attached",
                         handle={"vpcs": ",".join(vpcs)})
        if made:
            out.append(made)
    return out


def _route_tables(ec2: Any, region: str) -> list[TaggedResource]:
    out = []
    for table in _pages(ec2, "describe_route_tables", "RouteTables", Filters=_FILTER):
        links = table.get("Associations") or []
        if any(a.get("Main") for a in links):
            continue  # a VPC's main table goes with its VPC
        made = _resource(region, "route-table", table["RouteTableId"], _tags(table),
                         detail=f"in {table.get('VpcId', '?')}",
                         handle={"associations": ",".join(a["RouteTableAssociationId"]
                                                          for a in links
                                                          if a.get("RouteTableAssociationId"))})
        if made:
            out.append(made)
    return out


def _addresses(ec2: Any, region: str) -> list[TaggedResource]:
    out = []
    for addr in ec2.describe_addresses(Filters=_FILTER).get("Addresses") or []:
        rid = addr.get("AllocationId") or addr.get("PublicIp", "")
        made = _resource(region, "elastic-ip", rid, _tags(addr),
                         aliases=(addr["PublicIp"],) if addr.get("PublicIp") else (),
                         detail=join(addr.get("PublicIp"),
                                     f"associated with {addr['InstanceId']}"
                                     if addr.get("InstanceId") else "not associated"),
                         handle={"association": addr.get("AssociationId") or ""})
        if made:
            out.append(made)
    return out


LISTERS: tuple[tuple[str, Callable[[Any, str], list[TaggedResource]]], ...] = (
    ("instances", _instances),
    ("volumes", _volumes),
    ("security groups", _simple("security-group", "describe_security_groups", "SecurityGroups",
                                "GroupId", name_key="GroupName", vpc=True)),
    ("key pairs", _simple("key-pair", "describe_key_pairs", "KeyPairs", "KeyName",
                          name_key="KeyName", alias_keys=("KeyPairId",))),
    ("placement groups", _simple("placement-group", "describe_placement_groups",
                                 "PlacementGroups", "GroupName", name_key="GroupName",
                                 alias_keys=("GroupId",))),
    ("VPCs", _simple("vpc", "describe_vpcs", "Vpcs", "VpcId")),
    ("subnets", _simple("subnet", "describe_subnets", "Subnets", "SubnetId", vpc=True)),
    ("internet gateways", _gateways),
    ("route tables", _route_tables),
    ("elastic IPs", _addresses),
)


def _region_scan(ec2: Any, region: str) -> Scan:
    found = Scan(regions=[region])
    for label, lister in LISTERS:
        try:
            found.resources.extend(lister(ec2, region))
        except Exception as exc:  # botocore raises client, parser and transport errors
            fatal = _fatal(exc)
            if fatal is not None:
                raise fatal from None
            found.problems.append(f"aws {region}: {label} could not be listed: "
                                  f"{_short(exc)}")
    return found


def _short(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _enabled_regions(session: Any) -> list[str]:
    ec2 = session.client("ec2", region_name=session.region_name or "us-east-1")
    try:
        regions = ec2.describe_regions().get("Regions") or []
    except Exception as exc:  # as above
        fatal = _fatal(exc)
        raise fatal or ScanError(f"aws: cannot list regions: {_short(exc)}") from None
    return sorted(r["RegionName"] for r in regions
                  if r.get("OptInStatus") in (None, "opt-in-not-required", "opted-in"))


# -- S3 ---------------------------------------------------------------------------------------


def _bucket(s3: Any, bucket: dict[str, Any]) -> TaggedResource | None:
    from botocore.exceptions import ClientError

    name = bucket["Name"]
    try:
        tags = {t["Key"]: t["Value"] for t in
                s3.get_bucket_tagging(Bucket=name).get("TagSet") or []}
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchTagSet", "NoSuchBucket"):
            return None
        raise
    if stack_of(tags) is None:
        return None
    region = bucket.get("BucketRegion") or (
        s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1")
    listed = s3.list_objects_v2(Bucket=name, MaxKeys=1)
    return _resource(region, "bucket", name, tags, name=name,
                     detail="holds objects (deleting it deletes them)"
                     if listed.get("KeyCount") else "empty")


def _buckets(session: Any, regions: list[str] | None) -> Scan:
    found = Scan()
    s3 = session.client("s3")
    try:
        buckets = list(_pages(s3, "list_buckets", "Buckets"))
        with ThreadPoolExecutor(WORKERS) as pool:
            for made in pool.map(lambda b: _bucket(s3, b), buckets):
                if made and (regions is None or made.region in regions):
                    found.resources.append(made)
    except Exception as exc:  # as above
        fatal = _fatal(exc)
        if fatal is not None:
            raise fatal from None
        found.problems.append(f"aws: S3 buckets could not be listed: {_short(exc)}")
    return found


def scan(regions: list[str] | None) -> Scan:
    """Every stix-tagged resource in `regions` (None: every region the account has on)."""
    boto3 = _boto()
    session = boto3.session.Session()
    wanted = sorted(set(regions)) if regions else _enabled_regions(session)
    clients = {r: session.client("ec2", region_name=r) for r in wanted}
    result = Scan(regions=wanted)
    with ThreadPoolExecutor(WORKERS) as pool:
        parts = list(pool.map(lambda r: _region_scan(clients[r], r), wanted))
    parts.append(_buckets(session, regions))
    for part in parts:
        result.resources.extend(part.resources)
        result.problems.extend(part.problems)
    return result


# -- deleting -----------------------------------------------------------------------------------


def _gone(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = exc.response.get("Error", {}).get("Code", "")
    return code.endswith("NotFound") or code in ("NoSuchBucket", "InvalidGroup.NotFound")


def _retrying(fn: Callable[[], Any], attempts: int = 12, pause: float = 10.0) -> None:
    """Call `fn`; a DependencyViolation (an interface AWS has not let go yet) is retried."""
    from botocore.exceptions import ClientError

    for attempt in range(attempts):
        try:
            fn()
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code != "DependencyViolation" or attempt == attempts - 1:
                raise
            time.sleep(pause)


def _delete_one(ec2: Any, s3: Any, r: TaggedResource) -> None:
    if r.kind == "elastic-ip":
        if r.handle.get("association"):
            ec2.disassociate_address(AssociationId=r.handle["association"])
        ec2.release_address(AllocationId=r.id)
    elif r.kind == "volume":
        _retrying(lambda: ec2.delete_volume(VolumeId=r.id))
    elif r.kind == "key-pair":
        ec2.delete_key_pair(KeyName=r.id)
    elif r.kind == "placement-group":
        ec2.delete_placement_group(GroupName=r.id)
    elif r.kind == "security-group":
        _retrying(lambda: ec2.delete_security_group(GroupId=r.id))
    elif r.kind == "route-table":
        for link in filter(None, r.handle.get("associations", "").split(",")):
            ec2.disassociate_route_table(AssociationId=link)
        ec2.delete_route_table(RouteTableId=r.id)
    elif r.kind == "internet-gateway":
        for vpc in filter(None, r.handle.get("vpcs", "").split(",")):
            ec2.detach_internet_gateway(InternetGatewayId=r.id, VpcId=vpc)
        ec2.delete_internet_gateway(InternetGatewayId=r.id)
    elif r.kind == "subnet":
        _retrying(lambda: ec2.delete_subnet(SubnetId=r.id))
    elif r.kind == "vpc":
        _retrying(lambda: ec2.delete_vpc(VpcId=r.id))
    elif r.kind == "bucket":
        _empty_bucket(s3, r.id)
        s3.delete_bucket(Bucket=r.id)
    else:
        raise ScanError(f"stix does not know how to delete an AWS {r.kind}")


def _empty_bucket(s3: Any, name: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=name, Delete={"Objects": keys[start:start + 1000],
                                                   "Quiet": True})


def _terminate(ec2: Any, instances: list[TaggedResource]) -> list[Deleted]:
    """Terminate, then wait until terminated: what they hold can only go after."""
    out = []
    ids = []
    for r in instances:
        try:
            ec2.terminate_instances(InstanceIds=[r.id])
            ids.append(r.id)
            out.append(Deleted(r))
        except Exception as exc:  # as above
            out.append(Deleted(r) if _gone(exc) else Deleted(r, _short(exc)))
    if ids:
        try:
            ec2.get_waiter("instance_terminated").wait(
                InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
        except Exception as exc:  # the waiter's own error type, or the client's
            waited = f"terminating, not yet terminated: {_short(exc)}"
            out = [Deleted(d.resource, waited) if d.resource.id in ids else d for d in out]
    return out


def delete(resources: list[TaggedResource]) -> list[Deleted]:
    """Delete what a scan found, region by region, in `ORDER`; gone already is fine."""
    boto3 = _boto()
    session = boto3.session.Session()
    s3 = session.client("s3")
    out: list[Deleted] = []
    for region in sorted({r.region for r in resources}):
        ec2 = session.client("ec2", region_name=region)
        here = sorted((r for r in resources if r.region == region),
                      key=lambda r: ORDER.index(r.kind) if r.kind in ORDER else len(ORDER))
        out.extend(_terminate(ec2, [r for r in here if r.kind == "instance"]))
        for r in here:
            if r.kind == "instance":
                continue
            try:
                _delete_one(ec2, s3, r)
                out.append(Deleted(r))
            except Exception as exc:  # as above
                fatal = _fatal(exc)
                if fatal is not None:
                    raise fatal from None
                out.append(Deleted(r) if _gone(exc) else Deleted(r, _short(exc)))
    return out
