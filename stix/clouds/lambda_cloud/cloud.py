"""Lambda as stix knows it: GPU VMs with public IPv4 addresses, declared through stix's
own Pulumi dynamic provider over Lambda's Cloud API (no Pulumi provider exists for it)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from stix.clouds.base import (
    Capabilities,
    Charge,
    Cloud,
    ErrorKind,
    InfraOptions,
    MachineType,
    NodeState,
)
from stix.clouds.lambda_cloud.options import LambdaOptions

if TYPE_CHECKING:
    from stix.catalog.loader import Catalog
    from stix.placement import Placement

_IMAGE = re.compile(r"lambda-default|(?:family|id):[A-Za-z0-9][A-Za-z0-9._-]*")


class LambdaCloud(Cloud):
    name = "lambda"
    credential_paths = ("~/.lambda_cloud", "$LAMBDA_API_KEY")
    # No spot market, no stop/start (an instance is running or terminated), no zones.
    home_regions = ("us-east-1", "us-west-1", "us-east-2", "us-west-2", "us-midwest-1")
    capabilities = Capabilities(zoned_prices=False, spot=False)
    options_model: ClassVar[type[InfraOptions]] = LambdaOptions
    pulumi_packages = ("pulumi-python:dynamic/lambda",)
    sdk_distributions = ("pulumi",)
    user_data_limit = 1024 * 1024  # plain text only: Lambda takes no compressed user data
    error_patterns: ClassVar[tuple[tuple[ErrorKind, str], ...]] = (
        ("capacity", r"instance-operations/launch/insufficient-capacity"),
        ("quota", r"global/quota-exceeded"),
        ("credentials", r"global/invalid-api-key|global/account-inactive|"
                        r"lambda: no API key"),
    )
    ignores: ClassVar[dict[str, str]] = {
        "disk_size": "a Lambda instance comes with its type's fixed local disk; none is sized",
        "disk_tier": "a Lambda instance comes with its type's fixed local disk; none is sized",
    }
    price_source = "Lambda Cloud API GET /instance-types (needs $LAMBDA_API_KEY)"
    snapshot = "stix.clouds.lambda_cloud.snapshot"

    type_list_source = ("Lambda Cloud API GET /instance-types (shapes and prices), written "
                        "down by hand from copies of its answer (May 2026)")

    def image_problem(self, ref: str) -> str | None:
        if _IMAGE.fullmatch(ref):
            return None
        return (f"{ref!r} is not a Lambda image (family:NAME, id:ID, or lambda-default for "
                "Lambda's own)")




    def node_states(self, placement: Placement,
                    outputs: dict[str, Any]) -> dict[str, NodeState] | None:
        from stix.clouds.lambda_cloud.api import node_states
        from stix.clouds.lambda_cloud.program import settings

        return node_states(placement.region, placement.cluster, settings())

    def infer_arch(self, instance_type: str) -> str:
        from stix.clouds.lambda_cloud.machines import infer_arch

        return infer_arch(instance_type)

    def machine_types(self) -> dict[str, MachineType]:
        from stix.clouds.lambda_cloud.machines import TYPES

        return TYPES

    def fetch_prices(self, opener: Any, base: Catalog, *, regions: list[str] | None = None,
                     **options: Any) -> Any:
        from stix.clouds.lambda_cloud.prices import fetch

        return fetch(base, regions=regions, **options)

    def node_charges(self, placement: Placement) -> list[Charge]:
        return []  # the local disk and the public address come with the instance's price
