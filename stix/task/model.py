"""The task: SkyPilot's task schema as strict pydantic models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from stix.task.base import EnvMap, SecretMap, StrictModel
from stix.task.jobgroup import JobGroupHeader
from stix.task.resources import Resources
from stix.task.storage import StorageMount, parse_bucket_uri

if TYPE_CHECKING:
    from stix.yamlio import Document


@dataclass(frozen=True)
class Origin:
    """Where a task was read from: its file (None for text), the YAML document (for the
    line of a field) and its position in a pipeline file."""

    source: str
    path: Path | None
    document: Document | None = None
    index: int = 0

    def line(self, *field_path: str | int) -> int | None:
        mark = self.document.locate(tuple(field_path)) if self.document else None
        return mark[0] if mark else None


class GitWorkdir(StrictModel):
    """A repository the nodes fetch into the workdir (a branch, tag or commit; default its
    HEAD), instead of syncing a local folder."""

    url: str = Field(min_length=1)
    ref: str | None = None

    @field_validator("url", "ref")
    @classmethod
    def _not_an_option(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith("-") or any(c in value for c in "\n\r\0")):
            raise ValueError(f"{value!r} cannot start with '-' or hold a line break")
        return value


def _mount_kind(value: Any) -> str:
    return "@path" if isinstance(value, str) else "@storage"


FileMountValue = Annotated[
    Annotated[str, Tag("@path")] | Annotated[StorageMount, Tag("@storage")],
    Discriminator(_mount_kind),
]


def _check_target_on(resources: Resources, target: str) -> None:
    """A provider may confine where mounts land (`local`: inside the node's own home)."""
    from stix.clouds import registry

    for option in resources.candidates():
        if option.cloud is not None and registry.served(option.cloud):
            problem = registry.get(option.cloud).mount_target_problem(target)
            if problem:
                raise ValueError(problem)


def _mount_value(source: Any) -> Any:
    """A `sky.Storage` as the mapping its YAML form is; anything else as given."""
    from stix.sdk_storage import Storage

    return source.to_mount() if isinstance(source, Storage) else source


class Task(StrictModel):
    """One unit of work: where it runs (`resources`, `num_nodes`) and what it runs."""

    name: str | None = None
    workdir: str | GitWorkdir | None = None
    num_nodes: int = Field(1, ge=1, le=4096)
    resources: Resources = Field(default_factory=Resources)
    envs: EnvMap = Field(default_factory=dict, description="null: must be given with --env")
    secrets: SecretMap = Field(default_factory=dict, description="never written to stacks; a "
                               "list of names: each value from --secret NAME")
    file_mounts: dict[str, FileMountValue] = Field(default_factory=dict)
    volumes: dict[str, str | dict[str, Any]] = Field(
        default_factory=dict, description="a volume name, or SkyPilot's inline volume spec")
    setup: str | None = None
    run: str | None = None
    config: dict[str, Any] | None = None
    service: dict[str, Any] | None = Field(None, description="SkyPilot's serving section; "
                                           "not acted on yet")
    event_callback: str | list[Any] | dict[str, Any] | None = Field(
        None, description="a command, or SkyPilot's notification handlers; not acted on yet")
    experimental: dict[str, Any] | None = Field(
        None, description="SkyPilot's older form: config_overrides is read as `config`")
    inputs: dict[str, float] | None = Field(None, description="SkyPilot's data the task "
                                            "reads, {uri: size in GB}")
    outputs: dict[str, float] | None = Field(None, description="SkyPilot's data the task "
                                             "writes, {uri: size in GB}")
    pool: Any = Field(None, description="SkyPilot's worker pools: reported (not built)")

    _origin: Origin | None = PrivateAttr(default=None)
    _best_placement: Any = PrivateAttr(default=None)

    @property
    def origin(self) -> Origin | None:
        return self._origin

    @property
    def best_placement(self) -> Any:
        """The Placement `stix.sdk.optimize` chose for the task (None before)."""
        return self._best_placement

    @best_placement.setter
    def best_placement(self, placement: Any) -> None:
        self._best_placement = placement

    @property
    def best_resources(self) -> Resources | None:
        """SkyPilot's: the launchable resources the optimizer chose (None before)."""
        from stix.sdk import resources_of

        return None if self._best_placement is None else resources_of(self._best_placement)

    def __eq__(self, other: object) -> bool:
        """Two tasks are equal when they ask for the same thing, wherever they were read."""
        if not isinstance(other, Task):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _older_config(cls, data: Any) -> Any:
        """`experimental.config_overrides` is what SkyPilot called a task's `config` once."""
        if not isinstance(data, dict) or not isinstance(data.get("experimental"), dict):
            return data
        exp = dict(data["experimental"])
        overrides = exp.pop("config_overrides", None)
        if overrides is None:
            return data
        if data.get("config") is not None:
            raise ValueError("give config or experimental.config_overrides (its older "
                             "name), not both")
        return {**data, "config": overrides, "experimental": exp or None}

    @field_validator("envs", "secrets", "file_mounts", "volumes", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("inputs", "outputs")
    @classmethod
    def _data(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        """Where the data is (a bucket URI, checked) and its estimated size in GB."""
        for uri, size in (value or {}).items():
            if not uri.strip():
                raise ValueError("a data URI is empty")
            parse_bucket_uri(uri)
            if size < 0:
                raise ValueError(f"{uri}: the estimated size in GB cannot be negative")
        return value

    @field_validator("resources", mode="before")
    @classmethod
    def _null_resources(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("file_mounts")
    @classmethod
    def _mount_targets(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        resources = info.data.get("resources")
        out: dict[str, Any] = {}
        for target, source in value.items():
            if not target.strip():
                raise ValueError("a mount target is empty")
            if not (target.startswith("/") or target.startswith("~")):
                target = f"~/{target.removeprefix('./')}"  # relative: under ~, as SkyPilot
            if target in out:
                raise ValueError(f"mount target {target!r} is given twice")
            if isinstance(source, str):
                parse_bucket_uri(source)
            if isinstance(resources, Resources):
                _check_target_on(resources, target)
            out[target] = source
        return out

    def missing_envs(self) -> list[str]:
        """Env/secret names declared null: they must be supplied (--env/--secret)."""
        return sorted(k for k, v in {**self.envs, **self.secrets}.items() if v is None)

    def local_mounts(self) -> dict[str, str]:
        return {t: s for t, s in self.file_mounts.items()
                if isinstance(s, str) and parse_bucket_uri(s) is None}

    def storage_mounts(self) -> dict[str, StorageMount]:
        """Every bucket the task uses: storage mappings, and bare URIs (copied, like SkyPilot)."""
        out: dict[str, StorageMount] = {}
        for target, source in self.file_mounts.items():
            if isinstance(source, StorageMount):
                out[target] = source
            elif parse_bucket_uri(source) is not None:
                out[target] = StorageMount(source=source, mode="COPY")
        return out

    # -- SkyPilot's Task methods (`sky.Task`): in place, returning the task ---------------

    @classmethod
    def from_yaml(cls, path: str | Path, env_overrides: dict[str, str] | None = None) -> Task:
        from stix.task.loader import load_task

        return load_task(path, env_overrides)

    @classmethod
    def from_yaml_config(cls, config: dict[str, Any],
                         env_overrides: dict[str, str] | None = None) -> Task:
        """A task from the mapping a task file holds (env substitution as when loaded)."""
        from stix.task.loader import parse_tasks
        from stix.yamlio import dump

        return parse_tasks(dump(config), "<config>", env_overrides).tasks[0]

    def set_resources(self, resources: Any) -> Task:
        """One Resources, or a set/list of them (SkyPilot: any of them)."""
        if isinstance(resources, (set, list, tuple)):
            options = list(resources)
            resources = (options[0] if len(options) == 1
                         else Resources(any_of=options))
        self.resources = Resources.model_validate(resources)
        return self

    def set_file_mounts(self, file_mounts: dict[str, Any] | None) -> Task:
        """Paths, bucket URIs, mappings or `sky.Storage` objects, as `file_mounts:` takes."""
        mounts = {target: _mount_value(source) for target, source in (file_mounts or {}).items()}
        self.file_mounts = Task.model_validate(
            {"file_mounts": mounts, "resources": self.resources}).file_mounts
        return self

    def update_file_mounts(self, file_mounts: dict[str, Any]) -> Task:
        return self.set_file_mounts({**self.file_mounts, **file_mounts})

    def set_storage_mounts(self, storage_mounts: dict[str, Any] | None) -> Task:
        """The task's buckets become these (SkyPilot: storage mounts replace the old ones);
        plain file mounts stay."""
        kept = {t: s for t, s in self.file_mounts.items() if not isinstance(s, StorageMount)}
        return self.set_file_mounts({**kept, **(storage_mounts or {})})

    def update_storage_mounts(self, storage_mounts: dict[str, Any]) -> Task:
        return self.update_file_mounts(storage_mounts)

    def update_envs(self, envs: dict[str, Any] | list[tuple[str, Any]]) -> Task:
        self.envs = {**self.envs, **Task.model_validate({"envs": dict(envs)}).envs}
        return self

    def update_secrets(self, secrets: dict[str, Any] | list[tuple[str, Any]]) -> Task:
        self.secrets = {**self.secrets, **Task.model_validate({"secrets": dict(secrets)}).secrets}
        return self

    def to_yaml_config(self) -> dict[str, Any]:
        return self.to_yaml_dict()

    def model_post_init(self, context: Any) -> None:
        from stix import sdk

        sdk.created(self)  # `with Dag():` collects the tasks made inside it

    def __rshift__(self, other: Task) -> Task:
        """`a >> b`: b runs after a (in the Dag both belong to)."""
        from stix import sdk

        sdk.order(self, other)
        return other

    def to_yaml_dict(self) -> dict[str, Any]:
        """A dict that reloads to an equal Task (defaults and nulls left out)."""
        data = self.model_dump(mode="json", exclude_defaults=True, by_alias=True)
        data["resources"] = self.resources.to_yaml_dict()
        if not data["resources"]:
            del data["resources"]
        for key in ("envs", "secrets"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


class Pipeline(StrictModel):
    """Several tasks in one file (YAML documents), run one after another — or, when the
    file starts with a job group header (`group`), all at once."""

    name: str | None = None
    tasks: list[Task]
    group: JobGroupHeader | None = None
    _header: Document | None = PrivateAttr(default=None)

    @property
    def header_document(self) -> Document | None:
        """The job group header's YAML document (for the line of a field)."""
        return self._header
