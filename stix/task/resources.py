"""`resources:` of a task: what the task needs from the machines it runs on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, PlainValidator, field_validator, model_validator

from stix.task.base import StrictModel, did_you_mean
from stix.task.labels import LabelMap
from stix.task.values import (
    AcceleratorReq,
    PortRange,
    Quantity,
    parse_disk_size,
    parse_minutes,
    parse_ports,
    parse_quantity,
)


def canonical_cloud(value: Any) -> str | None:
    """The provider a task's `cloud` names (SkyPilot's other cloud names load too; the
    optimizer then says plainly that stix does not serve that cloud)."""
    from stix.clouds import registry

    if value is None:
        return None
    if hasattr(value, "stix_cloud"):  # a cloud object, as SkyPilot scripts pass (`sky.AWS()`)
        value = value.stix_cloud
    if not isinstance(value, str):
        raise ValueError(f"cloud must be a name like {registry.names()[0]!r}, got {value!r}")
    if value.strip() in ("", "*"):
        return None
    name = registry.canonical(value)
    if name is None:
        served = registry.names()
        raise ValueError(f"unknown cloud {value!r}{did_you_mean(value.strip().lower(), served)}; "
                         f"stix knows {', '.join(served)}")
    return name


@dataclass(frozen=True)
class Accelerators:
    """One accelerator request, or alternatives: `ordered` means "first that fits",
    otherwise "cheapest of these"."""

    options: tuple[AcceleratorReq, ...]
    ordered: bool = False


def _parse_accelerators(value: Any) -> Accelerators | None:
    if value is None or isinstance(value, Accelerators):
        return value
    if isinstance(value, str):
        return Accelerators((AcceleratorReq.parse(value),))
    if isinstance(value, list):
        if not value:
            raise ValueError("accelerators: the list is empty")
        return Accelerators(tuple(AcceleratorReq.parse(v) for v in value), ordered=len(value) > 1)
    if isinstance(value, dict):
        if not value:
            raise ValueError("accelerators: the mapping is empty")
        opts = [AcceleratorReq.parse(str(k) if c is None else f"{k}:{c}") for k, c in value.items()]
        return Accelerators(tuple(sorted(opts)))
    raise ValueError(f"accelerators must be 'NAME[:COUNT]', a list or a mapping, got {value!r}")


def _render_accelerators(value: Accelerators | None) -> Any:
    if value is None:
        return None
    if len(value.options) == 1:
        return str(value.options[0])
    if value.ordered:
        return [str(o) for o in value.options]
    return {o.name: int(o.count) if o.count.is_integer() else o.count for o in value.options}


AcceleratorsField = Annotated[
    Accelerators | None,
    PlainValidator(_parse_accelerators, json_schema_input_type=str | list[str] | dict[str, Any]),
    PlainSerializer(_render_accelerators),
]


def _parse_cpus(value: Any) -> Quantity | None:
    if value is None or isinstance(value, Quantity):
        return value
    return parse_quantity(value, "cpus")


def _parse_memory(value: Any) -> Quantity | None:
    if value is None or isinstance(value, Quantity):
        return value
    return parse_quantity(value, "memory", memory=True)


def _render_quantity(value: Quantity | None) -> str | None:
    return None if value is None else str(value)


CpusField = Annotated[
    Quantity | None,
    PlainValidator(_parse_cpus, json_schema_input_type=str | float | int | None),
    PlainSerializer(_render_quantity),
]
MemoryField = Annotated[
    Quantity | None,
    PlainValidator(_parse_memory, json_schema_input_type=str | float | int | None),
    PlainSerializer(_render_quantity),
]


def _parse_ports_field(value: Any) -> list[PortRange] | None:
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, PortRange) for v in value):
        return value
    return parse_ports(value)


PortsField = Annotated[
    list[PortRange] | None,
    PlainValidator(_parse_ports_field, json_schema_input_type=int | str | list[int | str]),
    PlainSerializer(lambda v: None if v is None else [p.render() for p in v]),
]


def _parse_disk(value: Any) -> int | None:
    return None if value is None else parse_disk_size(value)


DiskSizeField = Annotated[
    int | None, PlainValidator(_parse_disk, json_schema_input_type=int | str | None)
]


def _parse_image(value: Any) -> str | dict[str, str] | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    if isinstance(value, dict) and value and all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        return value
    raise ValueError(f"image_id must be an image or a {{region: image}} mapping, got {value!r}")


ImageField = Annotated[
    str | dict[str, str] | None,
    PlainValidator(_parse_image, json_schema_input_type=str | dict[str, str] | None),
]


class Autostop(StrictModel):
    """Stop (or with `down`, tear down) the cluster after `idle_minutes` with no job."""

    idle_minutes: int = Field(5, ge=0)
    down: bool = False
    wait_for: Literal["jobs_and_ssh", "jobs", "none"] | None = None
    hook: str | None = None
    hook_timeout: int | None = Field(None, gt=0)

    @field_validator("idle_minutes", mode="before")
    @classmethod
    def _minutes(cls, value: Any) -> int:
        return parse_minutes(value, "autostop.idle_minutes")


# SkyPilot's strategies; DYNAMIC_NODE_SET is accepted and reported (recovered as FAILOVER).
RECOVERY_STRATEGIES = ("FAILOVER", "EAGER_NEXT_REGION", "DYNAMIC_NODE_SET")


class JobRecovery(StrictModel):
    strategy: str | None = None
    max_restarts_on_errors: int = Field(0, ge=0)
    recover_on_exit_codes: list[int] = Field(default_factory=list)
    min_nodes: int | None = Field(None, ge=1, description="DYNAMIC_NODE_SET's floor")

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        if isinstance(value, str):
            upper = value.strip().upper()
            if upper not in (*RECOVERY_STRATEGIES, "NONE"):
                raise ValueError(f"unknown job_recovery strategy {value!r}; use "
                                 f"{', '.join(RECOVERY_STRATEGIES)} or none")
            return None if upper == "NONE" else upper
        return value

    @field_validator("recover_on_exit_codes", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value


def _infra_parts(infra: str) -> tuple[str | None, str | None, str | None]:
    from stix.clouds import registry

    head, _, rest = infra.strip().partition("/")
    cloud = canonical_cloud(head) if head.strip() not in ("", "*") else None
    if cloud is not None and registry.location_form(cloud) == "context":
        # A kubeconfig context name may itself hold '/', e.g. an EKS ARN.
        return cloud, rest.strip() or None, None
    parts = [p.strip() for p in rest.split("/")] if rest else []
    if len(parts) > 2:
        raise ValueError(f"infra must be 'cloud[/region[/zone]]' or 'k8s[/context]', got {infra!r}")
    region, zone = ([None if p in ("", "*") else p for p in parts] + [None, None])[:2]
    return cloud, region, zone


_LOCATION_FIELDS = ("cloud", "region", "zone")


# SkyPilot's keys for its own use (set by its client), accepted and reported, never read.
_SKYPILOT_INTERNAL = frozenset({
    "_no_missing_accel_warnings", "_docker_login_config", "_resolved_container_image",
    "_is_image_managed", "_requires_fuse", "_cluster_config_overrides",
})


class Resources(StrictModel):
    """What one node needs. `any_of`/`ordered` list alternatives; fields set here are
    defaults every alternative inherits."""

    infra: str | None = Field(None, description="cloud[/region[/zone]] or k8s[/context]")
    cloud: Annotated[str | None, PlainValidator(canonical_cloud, json_schema_input_type=str)] = None
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    accelerators: AcceleratorsField = None
    accelerator_args: dict[str, Any] | None = None
    cpus: CpusField = None
    memory: MemoryField = Field(None, description="GiB: 32, '32+', '64GB'")
    disk_size: DiskSizeField = Field(None, description="GB")
    disk_tier: Literal["low", "medium", "high", "ultra", "best"] | None = None
    network_tier: Literal["standard", "best"] | None = None
    use_spot: bool | None = None
    job_recovery: JobRecovery | None = None
    ports: PortsField = None
    image_id: ImageField = None
    labels: LabelMap | None = Field(None, description="tags on every resource; keys and "
                                    "values that every cloud accepts")
    autostop: Autostop | None = None
    max_hourly_cost: float | None = Field(
        None, gt=0, description="USD per hour per node: machines above it are not chosen "
        "(the config's max_hourly_cost limits a whole cluster)")
    any_of: list[Resources] | None = None
    ordered: list[Resources] | None = None
    # SkyPilot fields stix reads and reports (stix.task.notes.NOT_YET says what happens).
    volumes: list[dict[str, Any]] | None = None
    ephemeral_storage: int | str | None = None
    local_disk: str | None = None
    priority: int | None = None
    priority_class: str | None = None
    container_image: dict[str, Any] | None = None  # a managed image stix cannot resolve
    skypilot_internal: dict[str, Any] | None = None  # SkyPilot's `_...` keys

    def __hash__(self) -> int:
        """SkyPilot scripts pass a set of Resources (`task.set_resources({...})`)."""
        return hash(self.model_dump_json())

    @model_validator(mode="before")
    @classmethod
    def _legacy_and_forms(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "spot_recovery" in data:
            if "job_recovery" in data:
                raise ValueError("give job_recovery or its legacy name spot_recovery, not both")
            data["job_recovery"] = data.pop("spot_recovery")
        if "gpus" in data:  # SkyPilot's newer name for accelerators
            if data.get("accelerators") is not None:
                raise ValueError("give accelerators or gpus (its other name), not both")
            data["accelerators"] = data.pop("gpus")
        internal = {k: data.pop(k) for k in list(data) if k in _SKYPILOT_INTERNAL}
        if internal:
            data["skypilot_internal"] = internal
        image = data.pop("container_image", None)
        ref = image.get("ref") if isinstance(image, dict) else image
        if isinstance(ref, str) and ref:
            if data.get("image_id") is not None:
                raise ValueError("give image_id or container_image, not both")
            data["image_id"] = "docker:" + ref  # SkyPilot's newer spelling of docker:IMAGE
        elif image is not None:
            data["container_image"] = image
        if isinstance(data.get("job_recovery"), str):
            data["job_recovery"] = {"strategy": data["job_recovery"]}
        auto = data.get("autostop")
        if auto is False or auto is None:
            data.pop("autostop", None)
        elif auto is True:
            data["autostop"] = {}
        elif isinstance(auto, (int, str)):
            data["autostop"] = {"idle_minutes": auto}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Resources:
        if self.infra is not None:
            if any(getattr(self, f) is not None for f in _LOCATION_FIELDS):
                raise ValueError("give either infra or cloud/region/zone, not both")
            self.cloud, self.region, self.zone = _infra_parts(self.infra)
            self.infra = None
        if self.any_of is not None and self.ordered is not None:
            raise ValueError("give either any_of or ordered, not both")
        for option in (self.any_of or []) + (self.ordered or []):
            if option.any_of is not None or option.ordered is not None:
                raise ValueError("any_of/ordered cannot be nested")
        if self.any_of == [] or self.ordered == []:
            raise ValueError("any_of/ordered needs at least one alternative")
        return self

    @property
    def is_ordered(self) -> bool:
        return self.ordered is not None

    def candidates(self) -> list[Resources]:
        """The alternatives, each merged over this block's own fields."""
        options = self.any_of or self.ordered
        if not options:
            return [self.model_copy(update={"any_of": None, "ordered": None})]
        base = {
            name: getattr(self, name)
            for name in self.model_fields_set - {"any_of", "ordered", "infra"}
        }
        if self.cloud is not None:
            base.update({f: getattr(self, f) for f in _LOCATION_FIELDS})
        merged = []
        for option in options:
            own = {name: getattr(option, name) for name in option.model_fields_set}
            if option.cloud is not None or option.region is not None or option.zone is not None:
                own.update({f: getattr(option, f) for f in _LOCATION_FIELDS})
            merged.append(Resources.model_construct(**{**base, **own}))
        return merged

    def to_yaml_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)
