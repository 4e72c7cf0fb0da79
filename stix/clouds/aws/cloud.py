"""AWS as stix knows it: EC2 instances in a VPC, S3 buckets, EKS node pools."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.aws.options import AwsOptions
from stix.clouds.base import (
    Capabilities,
    Charge,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
    NodeState,
    Retired,
    Store,
    StoreTool,
)
from stix.clouds.resource import Lookup, ResourceType

if TYPE_CHECKING:
    from stix.catalog.schema import Offer
    from stix.clouds.tagged import Deleted, Scan, TaggedResource
    from stix.placement import Placement
    from stix.remote.transport import NodeAddress


class S3(Store):
    def url(self, bucket: str, prefix: str, account: str) -> str:
        return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


class AwsCloud(Cloud):
    name = "aws"
    credential_paths = ("~/.aws", "$AWS_SHARED_CREDENTIALS_FILE", "$AWS_CONFIG_FILE")
    skypilot_config: ClassVar[dict[str, str]] = {
        "security_group_name": "each cluster's stack has a security group of its own",
    }
    home_regions = ("us-east-1", "us-east-2", "us-west-2")
    capabilities = Capabilities(stop_start=True, terraform=True, managed_kubernetes="eks",
                                autostop=("stop", "down"))
    options_model: ClassVar[type[InfraOptions]] = AwsOptions
    pulumi_packages = ("aws",)
    sdk_distributions = ("pulumi", "pulumi-aws")
    terraform_provider = ("aws", "hashicorp/aws")
    terraform_provider_keys = ("region",)
    user_data_limit = 16 * 1024
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = (
        ("capacity", r"InsufficientInstanceCapacity|InsufficientHostCapacity|"
                     r"Unsupported: .*(instance type|availability zone)"),
        ("spot", r"SpotMaxPriceTooLow|MaxSpotInstanceCountExceeded|InsufficientSpotCapacity"),
        ("quota", r"VcpuLimitExceeded|InstanceLimitExceeded"),
        ("credentials", r"NoCredentialProviders|AuthFailure|UnauthorizedOperation|"
                        r"InvalidClientTokenId|ExpiredToken"),
    )
    store = S3("s3", {"MOUNT": StoreTool("s3fs", ("s3fs",)), "COPY": StoreTool("aws", ("unzip",))},
               template_dir="aws", bad_name_chars=":")
    autostop_template = "aws/autostop-action.sh.j2"

    def image_problem(self, ref: str) -> str | None:
        if re.fullmatch(r"ami-[0-9a-f]{8}(?:[0-9a-f]{9})?", ref) or ref.startswith(
                "resolve:ssm:/"):
            return None
        return f"{ref!r} is not an AMI id (ami-...) or an SSM parameter (resolve:ssm:/...)"

    def label_problem(self, key: str, value: str) -> str | None:
        return None  # EC2 tags take every label a task loads (prefixes, dots, upper case)



    def build_bucket(self, spec: Any) -> dict[str, Any]:
        from stix.clouds.aws.buckets import build

        return build(spec)

    def resource_types(self) -> tuple[ResourceType, ...]:
        from stix.clouds.aws.types import TYPES

        return TYPES

    def lookups(self) -> tuple[Lookup, ...]:
        from stix.clouds.aws.types import LOOKUPS

        return LOOKUPS

    def stack_config_keys(self, placement: Placement) -> dict[str, Any]:
        return {"aws:region": placement.region}

    def host_keys(self, region: str, node: NodeAddress) -> list[str] | None:
        from stix.clouds.aws.hostkeys import console_host_keys

        return console_host_keys(region, node)

    def node_states(self, placement: Placement,
                    outputs: dict[str, Any]) -> dict[str, NodeState] | None:
        from stix.clouds.aws.nodes import node_states

        return node_states(placement)

    def autostop_problem(self, placement: Placement, down: bool) -> str | None:
        from stix.clouds.aws.program import on_shutdown

        behaviour = on_shutdown(placement) or "terminate"
        if down and behaviour != "terminate":
            return ("an OS shutdown stops these instances (the stack sets their shutdown "
                    "behaviour to stop), so autodown would only stop them")
        if not down and behaviour == "terminate":
            return ("an OS shutdown terminates these instances (autodown or spot), so "
                    "autostop would delete them, not stop them")
        return None

    def infer_arch(self, instance_type: str) -> str:
        family = instance_type.split(".", 1)[0]
        # Graviton families carry a "g" after the generation digit (m7g, c6gn, r8gd, x2gd).
        if re.match(r"^[a-z]+\d+g[a-z]*$", family) or family in ("a1",):
            return "arm64"
        return "x86_64"

    def machine_types(self) -> dict[str, MachineType]:
        from stix.clouds.aws.machines import TYPES

        return TYPES

    def is_previous_generation(self, instance_type: str) -> bool:
        # AWS's "previous generation" list; the 5th generation is priced as the 6th.
        return instance_type.split(".", 1)[0] in ("m5", "c5", "r5", "m4", "c4", "r4")

    def is_shared_core(self, instance_type: str) -> bool:
        # Burstable T families (t2, t3, t3a, t4g) run on CPU credits.
        return bool(re.match(r"^t\d[a-z]*\.", instance_type))

    retired = (
        Retired("V100", r"p3\.(2|8|16)xlarge",
                "AWS retired its P3 instances (V100 16 GB): customers were told to move off "
                "them by 20 Dec 2025, and since mid-2026 the EC2 API lists none (SkyPilot's "
                "catalog dropped every p3 row on 13 Jul 2026)",
                ("V100-32GB", "T4", "L4", "A10G")),
        Retired("K80", r"p2\.(x|8x|16x)large",
                "AWS retired its P2 instances (K80, announced 2024), and NVIDIA's drivers "
                "after the 470 branch do not support the K80", ("T4", "L4")),
        Retired("M60", r"g3s?\.(x|4x|8x|16x)large",
                "AWS retired its G3 instances (M60) on 31 Oct 2025", ("T4", "A10G", "L4")),
    )

    snapshot = "stix.clouds.aws.snapshot"
    price_source = ("the AWS Price List bulk files; spot prices from EC2 spot price history "
                    "(with credentials) or AWS's public spot price feed")
    type_list_source = "stix.clouds.aws.machines"

    def fetch_prices(self, opener: Any, base: Any, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        from stix.clouds.aws.prices import fetch

        return fetch(opener, base, regions=regions)

    def from_skypilot(self, rows: list[Any], folder: Path, skipped: Counter[str],
                      notes: list[str]) -> list[Offer]:
        from stix.clouds.aws.skypilot import convert

        return convert(rows, folder, skipped, notes)

    def build_node_pool(self, placement: Placement, cluster: str,
                        labels: dict[str, str]) -> Any:
        """An EKS managed node group for `placement` in the existing cluster `cluster`."""
        from stix.clouds.aws.eks import node_group

        return node_group(placement, cluster, labels)

    def disk_price_gb_month(self, tier: str, region: str) -> float | None:
        from stix.clouds.aws.costs import disk_price_gb_month

        return disk_price_gb_month(tier)

    def disk_hourly(self, tier: str, size_gb: float, region: str) -> float | None:
        from stix.clouds.aws.costs import disk_hourly

        return disk_hourly(tier, size_gb)

    def node_charges(self, placement: Placement) -> list[Charge]:
        from stix.clouds.aws.costs import node_charges
        from stix.clouds.common import tier

        disk = self.disk_hourly(tier(placement), placement.disk_size, placement.region)
        return node_charges(placement, disk)

    def tagged_resources(self, regions: list[str] | None) -> Scan:
        from stix.clouds.aws.orphans import scan

        return scan(regions)

    def delete_tagged(self, resources: list[TaggedResource]) -> list[Deleted]:
        from stix.clouds.aws.orphans import delete

        return delete(resources)
