"""Accepted means acted on, or said: every task field stix reads but does not act on (on a
given provider) is reported with its field, file and line, and what stix does instead;
fields that would change what runs in a way stix cannot honour are errors.

`validate` reports what holds for every provider; `plan` and `up` add what their chosen
provider ignores (`Provider.ignores`) and check the image against that cloud.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stix.errors import Problem, TaskError

if TYPE_CHECKING:
    from stix.task import Resources, Task
    from stix.task.storage import StorageMount

# Fields no provider acts on yet, and what happens instead.
NOT_YET: dict[tuple[str, ...], str] = {
    ("service",): "`stix up` runs the task on one cluster, without a load balancer or "
                  "replicas; `stix serve up` runs it as a service",
    ("resources", "job_recovery"): "`stix up` does not relaunch a preempted or failed node; "
                                   "`stix jobs launch` runs the task as a managed job that "
                                   "does (docs/server.md)",
    ("pool",): "worker pools are not built: the file runs as one cluster of its resources "
               "and setup (its workers count is not used); `stix jobs launch` gives each job "
               "a cluster of its own",
    ("volumes",): "no volume is attached",
    ("event_callback",): "no callback or notification is run",
    ("experimental",): "SkyPilot's experimental settings are not read (config_overrides "
                       "is, as `config`)",
    ("resources", "network_tier"): "each cloud's default networking is used",
    ("resources", "volumes"): "no extra disk volumes are attached (the boot disk is "
                              "disk_size)",
    ("resources", "ephemeral_storage"): "pods get the node's default ephemeral storage",
    ("resources", "local_disk"): "no local disk is asked for: the machine type decides",
    ("resources", "priority"): "jobs run in the order they are submitted",
    ("resources", "priority_class"): "pods get the cluster's default priority class",
    ("resources", "container_image"): "SkyPilot's managed container images (release, "
                                      "version, artifact_id) are not resolved: give a `ref` "
                                      "(or image_id: docker:IMAGE)",
}
DOCKER = "docker:"
# SkyPilot's TPU arguments (accelerator_args) stix reads; others are noted.
TPU_ARGS = ("runtime_version", "tpu_vm", "tpu_name")
SKYPILOT_IMAGE = "skypilot:"  # SkyPilot's own prebuilt images (conda, drivers), by tag


@dataclass(frozen=True)
class Note:
    """A field stix accepted but does not act on, and what it does instead."""

    field: str
    message: str
    source: str
    line: int | None = None

    def render(self) -> str:
        where = self.source + (f":{self.line}" if self.line else "")
        return f"{where}: {self.field}: not acted on: {self.message}"


def uploaded(mount: StorageMount, provider: str | None) -> bool:
    """Whether `up` uploads the mount's local source: into a bucket reached with keys in an
    S3-compatible store (`stix.remote.keyed`), where stix knows that is where it goes."""
    from stix.clouds import keyed, registry

    store = mount.store or (registry.store_of(provider) if provider else None)
    if store is None or not keyed.supported(store) or keyed.kind(store) != "s3":
        return False
    owner = registry.stores().get(store, (None, ()))[0]
    return owner is None or (provider is not None and keyed.with_keys(provider, store))


def _blocks(task: Task) -> Iterator[tuple[tuple[str | int, ...], Resources]]:
    """Every resources block with its path (`resources`, `resources.any_of[0]`, ...)."""
    res = task.resources
    yield ("resources",), res
    for key in ("any_of", "ordered"):
        for i, option in enumerate(getattr(res, key) or []):
            yield ("resources", key, i), option


def _is_set(obj: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if obj is None:
            return False
        if isinstance(obj, dict):
            obj = obj.get(part)
        else:
            if part not in getattr(obj, "model_fields_set", set()):
                return False
            obj = getattr(obj, part)
    return obj not in (None, {}, [])


def notes(task: Task, provider: str | None = None) -> list[Note]:
    """What `task` sets that is not acted on (on `provider`, when given)."""
    origin = task.origin
    source = origin.source if origin is not None else "<task>"

    def note(path: tuple[str | int, ...], message: str) -> Note:
        line = origin.line(*path) if origin is not None else None
        return Note(".".join(str(p) for p in path), message, source, line)

    out = []
    for path, message in NOT_YET.items():
        if path[0] != "resources":
            if _is_set(task, path):
                out.append(note(path, message))
            continue
        for prefix, block in _blocks(task):
            if _is_set(block, path[1:]):
                out.append(note((*prefix, *path[1:]), message))
    from stix.clouds import registry

    for prefix, block in _blocks(task):
        if len(prefix) > 1 and block.cloud is not None and not registry.served(block.cloud):
            out.append(note((*prefix, "cloud"), f"{block.cloud} is not a cloud stix serves: "
                                                "this alternative is left out"))
    for prefix, block in _blocks(task):
        for path, message in _tpu_notes(block):
            out.append(note((*prefix, *path), message))
    if task.config:
        from stix.task.settings import ignored

        out.extend(note(path, message) for path, message in ignored(task))
    if task.service:
        from stix.serve.spec import service_notes

        for path, message in service_notes(task):
            out.append(note(path, message))
    for target, mount in task.storage_mounts().items():
        if mount.source and mount.bucket() is None and not uploaded(mount, provider):
            out.append(note(("file_mounts", target, "source"),
                            "local files are not uploaded into the bucket (stix creates it "
                            "empty or uses it as it is); sync them to the nodes with "
                            "`file_mounts: {PATH: LOCAL_DIR}`, or upload them yourself"))
        if mount.force_managed:
            out.append(note(("file_mounts", target, "force_managed"),
                            "an existing bucket is never taken over: it stays yours, and "
                            "`stix storage delete` does not remove it"))
    for prefix, block in _blocks(task):
        images = block.image_id
        tags = [v for v in (images.values() if isinstance(images, dict) else [images])
                if isinstance(v, str) and v.startswith(SKYPILOT_IMAGE)]
        if tags:
            out.append(note((*prefix, "image_id"),
                            f"{', '.join(sorted(set(tags)))}: SkyPilot's own image; the node "
                            "boots stix's default image for its machine "
                            "(catalog_data/<cloud>/images.csv: one with the GPU driver "
                            "where the machine has GPUs)"))
        for key in sorted(block.skypilot_internal or {}):
            out.append(note((*prefix, key), "a key SkyPilot's client sets for itself; not read"))
        if block.job_recovery is not None and block.job_recovery.strategy == "DYNAMIC_NODE_SET":
            out.append(note((*prefix, "job_recovery", "strategy"),
                            "DYNAMIC_NODE_SET (an elastic node set) is recovered as FAILOVER: "
                            "the whole cluster is relaunched"))
    if provider is not None:
        from stix.clouds import registry

        for field, message in registry.get(provider).ignores.items():
            for prefix, block in _blocks(task):
                if field == "image_id" and str(block.image_id or "").startswith(DOCKER):
                    continue  # a container image runs on any provider's machines
                if _is_set(block, (field,)):
                    out.append(note((*prefix, field), f"{provider}: {message}"))
    return sorted(set(out), key=lambda n: (n.line or 0, n.field))


def _tpu_notes(block: Resources) -> Iterator[tuple[tuple[str, ...], str]]:
    """What a block's Cloud TPU makes moot: a TPU VM is its own host, boots its runtime
    version and keeps GCP's boot disk; `accelerator_args` act on TPUs only."""
    from stix.task.values import is_tpu, is_tpu_node_version

    names = [a.name for a in block.accelerators.options] if block.accelerators else []
    tpus = [n for n in names if is_tpu(n)]
    args = block.accelerator_args or {}
    if args and not tpus:
        yield ("accelerator_args",), "SkyPilot's accelerator_args apply to Cloud TPUs only"
        return
    if not tpus:
        return
    what = ", ".join(tpus)
    for key, value in args.items():
        if key == "runtime_version" and is_tpu_node_version(str(value)):
            yield (("accelerator_args", "runtime_version"), f"{value} is a TPU Node version, "
                   "which no TPU VM boots: the TPU VM gets its generation's default runtime "
                   "(the plan names it)")
        elif key == "tpu_vm" and value is False:
            yield (("accelerator_args", "tpu_vm"), "TPU Nodes (a host VM driving a TPU) are "
                   f"retired by Google: {what} is made as a TPU VM")
        elif key == "tpu_name":
            yield (("accelerator_args", "tpu_name"), "it names a TPU Node; the TPU VM is "
                   "named after the cluster's node")
        elif key not in TPU_ARGS:
            yield (("accelerator_args", str(key)), "not one of SkyPilot's TPU arguments "
                   f"({', '.join(TPU_ARGS)})")
    if block.instance_type and block.instance_type != "TPU-VM":
        yield (("instance_type",), f"{what} is a TPU VM, its own host: "
               f"{block.instance_type} is not made")
    for field in ("disk_size", "disk_tier"):
        if getattr(block, field) is not None:
            yield (field,), f"a TPU VM ({what}) keeps GCP's default boot disk"
    image = block.image_id
    if image and not str(image).startswith(DOCKER):
        yield (("image_id",), f"a TPU VM ({what}) boots its runtime version "
               "(accelerator_args.runtime_version), not an image")


def check(task: Task, provider: str | None = None) -> None:
    """Raise TaskError for what stix cannot honour and must not drop: an image that is not
    one of the chosen cloud's, a container image on existing machines."""
    origin = task.origin
    source = origin.source if origin is not None else "<task>"
    problems = []

    def problem(path: tuple[str | int, ...], message: str) -> None:
        line = origin.line(*path) if origin is not None else None
        problems.append(Problem(".".join(str(p) for p in path), message, line))

    containers = False
    for prefix, block in _blocks(task):
        images = block.image_id
        refs = list(images.values()) if isinstance(images, dict) else [images] if images else []
        for ref in refs:
            containers = containers or ref.startswith(DOCKER)
            why = _image_problem(ref, block.cloud or provider)
            if why:
                problem((*prefix, "image_id"), why)
    if containers:
        _container_problems(task, problem)
    if task.service:
        from stix.serve.spec import load_service

        try:
            load_service(task)
        except TaskError as exc:
            problems.extend(exc.problems)
    if problems:
        raise TaskError(source, problems)


def _image_problem(ref: str, provider: str | None) -> str | None:
    from stix.clouds import registry

    if ref.startswith(SKYPILOT_IMAGE):
        return None  # the cloud's default image boots instead (said in `notes`)
    if ref.startswith(DOCKER):  # every provider runs container images (docs/containers.md)
        from stix.remote.container import image_problem

        return image_problem(ref)
    if provider is None or not registry.served(provider):
        return None
    return registry.get(provider).image_problem(ref)


def _container_problems(task: Task, problem: Callable[[tuple[str | int, ...], str], None]
                        ) -> None:
    """What a task run in a container cannot have: a registry login given in part, mount
    targets a bind cannot carry."""
    from stix.remote.container import LOGIN_ENVS, bind_problem

    given = {k for k in LOGIN_ENVS if task.envs.get(k) or k in task.secrets}
    if given and len(given) < len(LOGIN_ENVS):
        for key in sorted(given):
            section = "envs" if key in task.envs else "secrets"
            missing = ", ".join(k for k in LOGIN_ENVS if k not in given)
            problem((section, key), f"a private registry login needs {missing} as well")
    for target in task.file_mounts:
        why = bind_problem(target)
        if why:
            problem(("file_mounts", target), why)


def task_notes(task: Task, provider: str | None = None) -> list[str]:
    """`check`, then the notes as lines for a user (what `validate`/`plan`/`up` print).
    Without `provider`, the cloud the task pins (if it pins one) is checked."""
    if provider is None:
        pinned = {b.cloud for _, b in _blocks(task)}
        provider = pinned.pop() if len(pinned) == 1 else None
    check(task, provider)
    return [n.render() for n in notes(task, provider)]
