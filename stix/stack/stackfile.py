"""Placement ↔ `stacks/Pulumi.<cluster>.yaml`, the stack config the Pulumi CLI reads.

Namespaced `stix:<field>` keys hold the placement (one per field, in the model's order, so
reviews read top to bottom), the task it was planned from (`stix:task_file`, and
`stix:task_digest` of what in the task decides the placement) and the SSH *public* key;
provider keys (`aws:region`,
`gcp:zone`, ...) let `pulumi preview -s <cluster>` work in a checkout with the Pulumi CLI.
Nothing secret is ever written: a value that looks like a private key is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stix.errors import StixError
from stix.placement import Placement

if TYPE_CHECKING:
    from stix.buckets import BucketSpec

NAMESPACE = "stix"
PUBLIC_KEY = "ssh_public_key"
TASK_FILE = "task_file"
TASK_DIGEST = "task_digest"
HEADER = (
    "# Stack config of one stix cluster, written by `stix plan` (do not hand-edit placement\n"
    "# fields: change the task and re-plan). Infra options under stix:extra (vpc_id,\n"
    "# subnet_id, ssh_cidrs, private, ...) are yours: `stix plan` keeps them.\n"
)


class StackConfigError(StixError):
    """A stack config file that cannot be read back into a placement."""


@dataclass(frozen=True)
class TaskRef:
    """The task a stack was planned from: its file (None: not from a file) and the digest
    of what in it decides the placement (`stix.names.task_digest`)."""

    file: str | None
    digest: str


@dataclass(frozen=True)
class StackFile:
    placement: Placement
    public_key: str
    task: TaskRef | None = None


def config_path(stacks_dir: Path, cluster: str) -> Path:
    return stacks_dir / f"Pulumi.{cluster}.yaml"


def provider_keys(p: Placement) -> dict[str, Any]:
    """The provider's own config keys for the default provider (and the Pulumi CLI)."""
    from stix.clouds import registry

    return registry.cloud(p.cloud).stack_config_keys(p)


def _refuse_secrets(value: Any, where: str) -> None:
    if isinstance(value, str):
        if "PRIVATE KEY" in value:
            raise StackConfigError(f"{where}: refusing to write private key material to a stack")
    elif isinstance(value, dict):
        for k, v in value.items():
            _refuse_secrets(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _refuse_secrets(v, f"{where}[{i}]")


def to_config(placement: Placement, public_key: str,
              task: TaskRef | None = None) -> dict[str, Any]:
    """The `config:` mapping: provider keys, then `stix:` keys in placement field order."""
    from stix.keys import check_public_key

    data = placement.model_dump(mode="json")
    config: dict[str, Any] = dict(sorted(provider_keys(placement).items()))
    for field in Placement.model_fields:
        value = data.get(field)  # fields excluded from dumps are not stack config
        if value is None:
            continue
        if isinstance(value, dict):
            value = _sorted(value)
        config[f"{NAMESPACE}:{field}"] = value
    if task is not None:
        if task.file is not None:
            config[f"{NAMESPACE}:{TASK_FILE}"] = task.file
        config[f"{NAMESPACE}:{TASK_DIGEST}"] = task.digest
    config[f"{NAMESPACE}:{PUBLIC_KEY}"] = check_public_key(public_key)
    _refuse_secrets(config, f"stack {placement.cluster}")
    return config


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


# Keys the Pulumi CLI itself writes into a stack file (the passphrase provider's salt, a
# KMS provider's key); stix keeps them when it rewrites the file.
ENGINE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")


def engine_keys(path: Path) -> dict[str, str]:
    """The engine's own keys in the stack file at `path` (none when there is no file)."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(doc, dict):
        return {}
    return {k: str(doc[k]) for k in ENGINE_KEYS if k in doc}


def render(placement: Placement, public_key: str, keep: dict[str, str] | None = None,
           task: TaskRef | None = None) -> str:
    """The file text; byte-identical for equal inputs. `keep`: engine keys to carry over."""
    import yaml

    body = yaml.safe_dump({**(keep or {}), "config": to_config(placement, public_key, task)},
                          sort_keys=False,
                          default_flow_style=False, allow_unicode=True, width=10_000)  # fmt: skip
    return HEADER + body


def from_config(config: dict[str, Any], source: str = "<stack config>") -> tuple[Placement, str]:
    """(placement, public key) from a `config:` mapping (keys with the `stix:` prefix)."""
    found = _from_config(config, source)
    return found.placement, found.public_key


def _from_config(config: dict[str, Any], source: str) -> StackFile:
    from pydantic import ValidationError

    prefix = f"{NAMESPACE}:"
    values = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    task_file, digest = values.pop(TASK_FILE, None), values.pop(TASK_DIGEST, None)
    task = TaskRef(str(task_file) if task_file else None, str(digest)) if digest else None
    public_key = values.pop(PUBLIC_KEY, None)
    if not isinstance(public_key, str) or not public_key:
        raise StackConfigError(f"{source}: {prefix}{PUBLIC_KEY} is missing")
    try:
        placement = Placement.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise StackConfigError(f"{source}: {prefix}{where}: {first['msg']}") from None
    return StackFile(placement, public_key, task)


def parse(text: str, source: str) -> tuple[Placement, str]:
    found = parse_file(text, source)
    return found.placement, found.public_key


def parse_file(text: str, source: str) -> StackFile:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StackConfigError(f"{source}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise StackConfigError(f"{source}: no `config:` mapping")
    return _from_config(doc["config"], source)


def read(path: Path) -> tuple[Placement, str]:
    found = read_file(path)
    return found.placement, found.public_key


def read_file(path: Path) -> StackFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        from stix.errors import NotFoundError

        raise NotFoundError(f"no stack config {path}") from None
    return parse_file(text, str(path))


# ---- a persistent bucket's own stack ----------------------------------------------------------

KIND = "kind"
BUCKET_HEADER = (
    "# Stack of one bucket that outlives clusters, written by `stix plan` / `stix up`; every\n"
    "# cluster that names the bucket uses it. `stix storage delete` deletes it.\n"
)


def render_bucket(spec: BucketSpec, keep: dict[str, str] | None = None) -> str:
    import yaml

    values = spec.model_dump(mode="json")
    if not values["force_destroy"]:
        del values["force_destroy"]
    config = {f"{NAMESPACE}:{KIND}": "bucket",
              **{f"{NAMESPACE}:{k}": _sorted(v) for k, v in values.items() if v is not None}}
    body = yaml.safe_dump({**(keep or {}), "config": config}, sort_keys=False,
                          default_flow_style=False, allow_unicode=True, width=10_000)
    return BUCKET_HEADER + body


def bucket_from_config(config: dict[str, Any], source: str) -> BucketSpec:
    from pydantic import ValidationError

    from stix.buckets import BucketSpec

    prefix = f"{NAMESPACE}:"
    values = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    values.pop(KIND, None)
    try:
        return BucketSpec.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise StackConfigError(f"{source}: {prefix}{where}: {first['msg']}") from None


def is_bucket_config(config: dict[str, Any]) -> bool:
    return config.get(f"{NAMESPACE}:{KIND}") == "bucket"


def is_bucket_file(path: Path) -> bool:
    """Whether the stack file at `path` is a bucket's own (a cheap look, no validation)."""
    try:
        return f"\n  {NAMESPACE}:{KIND}: bucket\n" in path.read_text(encoding="utf-8")
    except OSError:
        return False


def read_bucket(path: Path) -> BucketSpec:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        from stix.errors import NotFoundError

        raise NotFoundError(f"no stack config {path}") from None
    except yaml.YAMLError as exc:
        raise StackConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict) or not (
            is_bucket_config(doc["config"])):
        raise StackConfigError(f"{path}: not a bucket stack")
    return bucket_from_config(doc["config"], str(path))
