"""Placement: the optimizer's decision, and everything a program needs to build a cluster.

It is the boundary between choosing (optimizer) and building (stack programs, node
bootstrap): nothing here refers back to the task file, and nothing is missing that a
program would have to look up again.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
)
from pydantic_core import PydanticCustomError

from stix.clouds.base import InfraOptions


class PlacementAccelerator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    count: float
    memory_gib: float | None = None


class Bucket(BaseModel):
    """A bucket the cluster uses: created by the stack (`create`) or existing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str
    name: str
    mount_path: str
    mode: Literal["MOUNT", "COPY", "MOUNT_CACHED"] = "MOUNT"
    create: bool = True
    persistent: bool = True
    prefix: str = ""
    account: str | None = None  # Azure storage account

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        from stix.clouds import registry

        known = registry.stores()
        if value not in known:
            raise ValueError(f"unknown store {value!r}; stores: {', '.join(sorted(known))}")
        return value


class Placement(BaseModel):
    """Where and on what one cluster runs, with its price at decision time."""

    model_config = ConfigDict(extra="forbid")

    cluster: str
    cloud: str
    region: str
    zone: str | None = None
    instance_type: str
    num_nodes: int = Field(1, ge=1)
    use_spot: bool = False
    vcpus: float
    memory_gib: float
    accelerator: PlacementAccelerator | None = None
    arch: str = "x86_64"
    hourly_price: float = Field(description="USD per hour for one node")
    price_source: Literal["observed", "estimated"] | None = Field(
        None, description="where hourly_price came from: read from the cloud's price source, "
        "or estimated (catalog_data/README.md says how)")
    price_as_of: str | None = Field(
        None, exclude=True, description="when the price was read or estimated (shown by "
        "optimize and plan; not written to the stack, which would then change on every "
        "price refresh)")
    image_id: str | None = None
    disk_size: int = 256
    disk_tier: str | None = None
    ports: list[int | str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    buckets: list[Bucket] = Field(default_factory=list)
    ssh_user: str = "stix"
    autostop_minutes: int | None = None
    autostop_down: bool = False
    autostop_wait_for: Literal["jobs_and_ssh", "jobs", "none"] | None = Field(
        None, description="what counts as activity (default jobs_and_ssh, as SkyPilot's)")
    autostop_hook: str | None = Field(None, description="a script run before the action")
    autostop_hook_timeout: int | None = Field(None, description="seconds the hook may run "
                                              "(default 3600)")
    power: Literal["stopped"] | None = Field(
        None, description="stopped: the stack keeps the machines stopped (compute billing "
        "ends, disks and addresses stay); unset: running. `stix stop` / `stix start` set it")
    extra: SerializeAsAny[InfraOptions] = Field(
        default_factory=InfraOptions, validate_default=True,
        description="the provider's infra options (its `options_model`), `stix:extra` in the "
                    "stack file")

    @field_validator("extra", mode="before")
    @classmethod
    def _typed_options(cls, value: Any, info: ValidationInfo) -> InfraOptions:
        """`extra` is validated by the options model of the placement's provider."""
        from stix.clouds import registry

        cloud = info.data.get("cloud")
        model = (registry.get(cloud).options_model
                 if isinstance(cloud, str) and registry.served(cloud) else InfraOptions)
        if isinstance(value, model):
            return value
        if isinstance(value, InfraOptions):
            value = value.set_fields()
        try:
            return model.model_validate(value or {})
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(x) for x in err["loc"])
            if err["type"] == "extra_forbidden":
                known = ", ".join(sorted(model.model_fields))
                message = f"extra.{where}: {cloud} has no such infra option (it has: {known})"
            else:
                message = f"extra.{where}: {err['msg']}".replace(".: ", ": ")
            raise PydanticCustomError("infra_option", message) from None

    @field_serializer("extra")
    def _set_options(self, value: InfraOptions) -> dict[str, Any]:
        return value.set_fields()

    def with_options(self, options: dict[str, Any]) -> Placement:
        """This placement with other infra options (validated by the provider's model)."""
        return Placement.model_validate({**self.model_dump(), "extra": options})

    @property
    def total_hourly_price(self) -> float:
        return self.hourly_price * self.num_nodes

    @property
    def gpus_per_node(self) -> float:
        return self.accelerator.count if self.accelerator else 0.0
