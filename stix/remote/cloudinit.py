"""cloud-init user-data for one node: the `#cloud-config` document a cloud VM boots with.

Rendered from the jinja2 templates in `templates/cloud-init/`. At first boot a node:
- gets the stix user (`placement.ssh_user`) with the stix public key, passwordless sudo and
  bash; root login and password login are off;
- is named `<cluster>-<rank>` (made DNS-safe; rank 0 is the head), see `node_hostname`;
- installs python3, rsync, cron, a container runtime when the task runs in a container
  image (`image_id: docker:...`, see `stix.remote.container`), and what its buckets need
  (s3fs / gcsfuse / blobfuse2 for MOUNT and MOUNT_CACHED, the AWS CLI / gcloud / azcopy
  for COPY);
- mounts or copies its buckets from a per-boot script (mounts come back after a stop and
  start; a copy runs once), with the node's own cloud identity for credentials;
- gets the node agent at `~/.stix/agent.py`, `/etc/stix/node.env` and `/etc/stix/node.json`
  (what the node knows about itself), and `/etc/cron.d/stix-autostop`, which lets the agent
  check its autostop setting every minute; when the placement asks for autostop the
  setting is saved at boot, with `/etc/stix/autostop-action.sh stop|down` as the action
  (how `down` deletes a node differs per cloud: see that template).

No secret ever goes into user-data: it ends up in stack files and is readable from the
metadata service by anything on the node. The task's `secrets` are delivered over SSH at
run time by the fan-out (`stix.remote.fanout`), never here.

Safety: a value reaches the YAML only through the `yaml` filter and a shell script only
through the `shq` filter (`shlex.quote`); the template environment refuses to print
anything that did not pass one of them (`stix.remote.safe_templates`), and every rendered
document is parsed back and checked against the values that went in.

The node side assumes a Debian/Ubuntu image (apt; the images stix picks are Ubuntu).
"""

from __future__ import annotations

import base64
import gzip
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from stix.clouds.base import Cloud
from stix.clouds.keyed import with_keys
from stix.errors import StixError
from stix.placement import Bucket, Placement
from stix.remote.agent_client import AGENT_FILE, STIX_DIR
from stix.remote.agent_client import agent_home as agent_home_of
from stix.remote.safe_templates import render_template, to_yaml

__all__ = ["CloudInitError", "NodeBootstrap", "node_hostname", "packaged_agent_source",
           "render_cluster", "render_user_data", "to_yaml", "user_data_for_rank",
           "user_data_payload"]  # fmt: skip

_BASE_PACKAGES = ["python3", "rsync", "cron"]
_USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
ACTION_SCRIPT = "/etc/stix/autostop-action.sh"
HOOK_SCRIPT = "/etc/stix/autostop-hook.sh"
BUCKETS_SCRIPT = "/var/lib/cloud/scripts/per-boot/stix-buckets.sh"


def autostop_args(placement: Placement, minutes: float, down: bool,
                  wait_for: str | None = None) -> list[str]:
    """The node agent's `autostop` setting for a cloud node: the node's own action script
    (stop or down), what counts as activity, and the task's hook when it has one."""
    args = ["autostop", "--idle-minutes", f"{minutes:g}",
            "--action", f"sudo -n {ACTION_SCRIPT} {'down' if down else 'stop'}",
            "--wait-for", wait_for or placement.autostop_wait_for or "jobs_and_ssh"]
    if placement.autostop_hook:
        args += ["--hook-file", HOOK_SCRIPT]
        if placement.autostop_hook_timeout:
            args += ["--hook-timeout", str(placement.autostop_hook_timeout)]
    return args


class CloudInitError(StixError):
    """A placement that cannot be turned into a node bootstrap as it stands."""


@dataclass(frozen=True)
class NodeBootstrap:
    """The per-node part of a render: which node, the key it trusts, the agent it runs.

    `agent_source=None` leaves the agent out (the fan-out uploads it later); see
    `packaged_agent_source()` for the one shipped with stix.
    """

    rank: int
    public_key: str
    agent_source: str | None = None


@dataclass(frozen=True)
class _File:
    path: str
    content: str
    owner: str = "root:root"
    permissions: str = "0644"
    encoding: str | None = None
    defer: bool = False


def packaged_agent_source() -> str | None:
    """The node agent's source (`stix/remote/agent.py`), or None in a tree without it."""
    from stix.remote.agent_client import agent_path

    path = agent_path()
    return path.read_text(encoding="utf-8") if path.is_file() else None


def node_hostname(cluster: str, rank: int) -> str:
    """`<cluster>-<rank>` as a DNS label: lower case, [a-z0-9-], at most 63 characters.

    Rank 0 is the head; the same name on every cloud, so logs and `stix ssh` agree.
    """
    suffix = f"-{rank}"
    base = re.sub(r"[^a-z0-9]+", "-", cluster.lower()).strip("-") or "stix"
    return base[: 63 - len(suffix)].rstrip("-") + suffix


def render_user_data(placement: Placement, node: NodeBootstrap) -> str:
    """The `#cloud-config` user-data for node `node.rank` of `placement`."""
    from stix.keys import KeyFileError, check_public_key

    if not 0 <= node.rank < placement.num_nodes:
        raise CloudInitError(
            f"cluster {placement.cluster!r}: node rank {node.rank} is outside "
            f"0..{placement.num_nodes - 1}"
        )
    try:
        public_key = check_public_key(node.public_key)
    except KeyFileError as exc:
        raise CloudInitError(f"cluster {placement.cluster!r}: {exc.message}") from None
    user = _check_user(placement)
    home = f"/home/{user}"
    agent_path = f"{home}/{AGENT_FILE}"
    agent_home = f"{home}/{agent_home_of(placement.cluster)}"
    hostname = node_hostname(placement.cluster, node.rank)
    buckets = [_bucket_context(placement, b, home) for b in placement.buckets
               if not with_keys(placement.cloud, b.store)]  # those: stix.remote.keyed
    _check_distinct_paths(placement, buckets)
    tools = sorted({b["tool"] for b in buckets})
    store_dir = buckets[0]["store_dir"] if buckets else ""

    files = [
        _File("/etc/stix/node.env",
              render_template("node.env.j2", env=_node_env(placement, node.rank, hostname))),
        _File("/etc/stix/node.json", _node_json(placement, node.rank, hostname)),
        _File(ACTION_SCRIPT, render_template("autostop-action.sh.j2",
                                             action_template=_cloud(placement).autostop_template),
              permissions="0755"),
        _File("/etc/cron.d/stix-autostop", _cron(user, agent_path, agent_home), defer=True),
    ]
    if placement.autostop_hook:
        files.append(_File(HOOK_SCRIPT, f"#!/bin/bash\n{placement.autostop_hook}",
                           owner=f"{user}:{user}", permissions="0755", defer=True))
    if buckets:
        script = render_template("buckets.sh.j2", user=user, buckets=buckets, tools=tools,
                                 store_dir=store_dir)
        files.append(_File(BUCKETS_SCRIPT, script, permissions="0755"))
    if node.agent_source is not None:
        files.append(_File(agent_path, _gzip_b64(node.agent_source), owner=f"{user}:{user}",
                           permissions="0644", encoding="gz+b64", defer=True))

    runcmd: list[list[str]] = [["install", "-d", "-o", user, "-g", user, "-m", "0700",
                                f"{home}/{STIX_DIR}"]]
    if placement.autostop_minutes is not None:
        if placement.autostop_minutes < 0:
            raise CloudInitError(f"cluster {placement.cluster!r}: autostop minutes must be "
                                 f">= 0, not {placement.autostop_minutes}")
        if node.agent_source is None:
            raise CloudInitError(f"cluster {placement.cluster!r}: autostop needs the node "
                                 "agent in user-data, and none was given")
        runcmd.append(["runuser", "-u", user, "--", "env", f"HOME={home}",
                       f"STIX_AGENT_HOME={agent_home}", "python3", agent_path,
                       *autostop_args(placement, placement.autostop_minutes,
                                      placement.autostop_down)])

    if container_image(placement):
        runcmd += _container_runtime(user)

    packages = list(_BASE_PACKAGES)
    if buckets:
        packages += ["ca-certificates", "curl"]
    for tool in tools:
        packages += [p for p in _tool_packages(placement)[tool] if p not in packages]

    text = render_template("user-data.yaml.j2", user=user, public_key=public_key,
                           hostname=hostname, packages=packages,
                           files=[asdict(f) for f in files], runcmd=runcmd)
    _verify(text, user=user, public_key=public_key, hostname=hostname, packages=packages,
            files=files, runcmd=runcmd)
    user_data_payload(text, placement.cloud)  # refuses what the cloud would not take
    return text


def render_cluster(placement: Placement, public_key: str,
                   agent_source: str | None = None) -> list[str]:
    """User-data for every node, rank order (`agent_source=None`: the packaged agent)."""
    render = user_data_for_rank(placement, public_key, agent_source)
    return [render(rank) for rank in range(placement.num_nodes)]


def user_data_for_rank(placement: Placement, public_key: str,
                       agent_source: str | None = None) -> Callable[[int], str]:
    """A `rank -> user-data` function for stack programs (`agent_source=None`: packaged)."""
    source = agent_source if agent_source is not None else packaged_agent_source()

    def render(rank: int) -> str:
        return render_user_data(placement, NodeBootstrap(rank, public_key, source))

    return render


def user_data_payload(text: str, cloud: str) -> bytes:
    """The bytes to hand the cloud: the text, or gzip of it when only that fits the cloud's
    user-data limit (cloud-init unpacks it).

    The gzip is byte-identical across runs (no timestamp), so stacks stay reproducible.
    """
    from stix.clouds import registry

    raw = text.encode("utf-8")
    limit = registry.cloud(cloud).user_data_limit
    if limit is None or len(raw) <= limit:
        return raw
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    if len(packed) <= limit:
        return packed
    raise CloudInitError(
        f"user-data is {len(raw)} bytes ({len(packed)} compressed); {cloud} takes at most "
        f"{limit}", hint="fewer buckets, or a smaller node agent")


# -- values --------------------------------------------------------------------------------


def _check_user(placement: Placement) -> str:
    user = placement.ssh_user
    if not _USER_RE.fullmatch(user) or user == "root":
        raise CloudInitError(
            f"cluster {placement.cluster!r}: ssh user {user!r} is not a usable login name",
            hint="lower-case letters, digits, '_' and '-', starting with a letter or '_', "
            "at most 32 characters, and not root")
    return user


def _node_path(placement: Placement, path: str, home: str) -> str:
    if "\0" in path:
        raise CloudInitError(f"cluster {placement.cluster!r}: mount path {path!r} contains NUL")
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    elif not path.startswith("/"):
        path = f"{home}/{path}"
    norm = "/" + posixpath.normpath(path).lstrip("/")
    if norm == "/":
        raise CloudInitError(f"cluster {placement.cluster!r}: cannot mount a bucket on /")
    return norm


def _cloud(placement: Placement) -> Cloud:
    from stix.clouds import registry

    return registry.cloud(placement.cloud)


def _tool_packages(placement: Placement) -> dict[str, tuple[str, ...]]:
    store = _cloud(placement).store
    return {t.name: t.packages for t in store.tools.values()} if store else {}


def _bucket_context(placement: Placement, bucket: Bucket, home: str) -> dict[str, Any]:
    from stix.clouds import registry

    where = f"cluster {placement.cluster!r}, bucket {bucket.name!r}"
    owner = registry.stores().get(bucket.store, (None, ()))[0]
    store = registry.cloud(owner).store if owner is not None else None
    if store is None or owner is None:
        raise CloudInitError(
            f"{where}: stix cannot reach {bucket.store} buckets (neither with a node's "
            "own identity nor with keys sent to it)",
            hint="mount it from the task's `setup`, with credentials passed as `secrets`")
    if owner != placement.cloud:
        raise CloudInitError(
            f"{where}: a {bucket.store} bucket on a {placement.cloud} node; stix cannot "
            f"send keys for it, so only {owner} nodes can use it")
    name = bucket.name
    if not name or name.startswith("-") or "/" in name or "\0" in name or any(
            c in name for c in store.bad_name_chars):
        raise CloudInitError(f"{where}: not a usable bucket name")
    prefix = bucket.prefix.strip("/")
    account = store.account(placement.cluster, bucket)
    if store.account_pattern is not None and not re.fullmatch(store.account_pattern, account):
        raise CloudInitError(f"{where}: storage account {account!r} of a {bucket.store} "
                             f"bucket is not valid ({store.account_pattern})")
    mode = "COPY" if bucket.mode == "COPY" else "MOUNT"
    return {
        "store": bucket.store, "mode": mode, "bucket": name, "prefix": prefix,
        "account": account, "url": store.url(name, prefix, account),
        "tool": store.tools[mode].name, "store_dir": store.template_dir,
        "dest": _node_path(placement, bucket.mount_path, home),
        "source": f"{name}:/{prefix}" if prefix else name,  # s3fs's bucket[:/path]
        "cached": bucket.mode == "MOUNT_CACHED",  # cache: /var/cache/stix/bucket-<i>
    }  # fmt: skip


def _check_distinct_paths(placement: Placement, buckets: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for b in buckets:
        if b["dest"] in seen:
            raise CloudInitError(f"cluster {placement.cluster!r}: two buckets on {b['dest']}")
        seen.add(b["dest"])


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def container_image(placement: Placement) -> str | None:
    """The image the task runs in on these VMs (`image_id: docker:...`), if any."""
    from stix.remote.container import image_of

    return image_of(placement.image_id)


def _container_runtime(user: str) -> list[list[str]]:
    """Docker from the distribution, unless the image has a runtime already (GPU images
    ship Docker with NVIDIA's container toolkit; installing docker.io beside docker-ce
    would fail); the login may use it without sudo."""
    install = ("command -v docker >/dev/null 2>&1 || command -v podman >/dev/null 2>&1 || "
               "{ apt-get update -q && DEBIAN_FRONTEND=noninteractive "
               "apt-get install -y -q docker.io; }")
    group = 'getent group docker >/dev/null && usermod -aG docker "$1"; true'
    return [["sh", "-c", install], ["sh", "-c", group, "sh", user]]


def _node_env(placement: Placement, rank: int, hostname: str) -> list[tuple[str, str]]:
    acc = placement.accelerator
    return [
        ("STIX_CLUSTER", placement.cluster),
        ("STIX_NODE_RANK", str(rank)),
        ("STIX_NUM_NODES", str(placement.num_nodes)),
        ("STIX_NUM_GPUS_PER_NODE", _count(placement.gpus_per_node)),
        ("STIX_ACCELERATOR", acc.name if acc else ""),
        ("STIX_CLOUD", placement.cloud),
        ("STIX_REGION", placement.region),
        ("STIX_ZONE", placement.zone or ""),
        ("STIX_INSTANCE_TYPE", placement.instance_type),
        ("STIX_USE_SPOT", "1" if placement.use_spot else "0"),
        ("STIX_USER", placement.ssh_user),
        ("STIX_HOSTNAME", hostname),
    ]


def _node_json(placement: Placement, rank: int, hostname: str) -> str:
    acc = placement.accelerator
    doc = {
        "cluster": placement.cluster, "rank": rank, "num_nodes": placement.num_nodes,
        "hostname": hostname, "user": placement.ssh_user, "cloud": placement.cloud,
        "region": placement.region, "zone": placement.zone,
        "instance_type": placement.instance_type, "use_spot": placement.use_spot,
        "accelerator": {"name": acc.name, "count": acc.count} if acc else None,
        "labels": placement.labels,
        "buckets": [{"store": b.store, "name": b.name, "mode": b.mode,
                     "mount_path": b.mount_path} for b in placement.buckets],
    }  # fmt: skip
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _cron(user: str, agent_path: str, agent_home: str) -> str:
    text = render_template("autostop.cron.j2", user=user, agent_path=agent_path,
                           agent_home=agent_home)
    if "%" in text or text.count("\n") != 3:  # cron reads % as a newline
        raise AssertionError("the autostop cron entry must be three lines without '%'")
    return text


@lru_cache(maxsize=8)
def _gzip_b64(source: str) -> str:
    return base64.b64encode(gzip.compress(source.encode("utf-8"), 9, mtime=0)).decode("ascii")


def _verify(text: str, *, user: str, public_key: str, hostname: str, packages: list[str],
            files: list[_File], runcmd: list[list[str]]) -> None:
    """Parse the document back: every value must arrive where it was put, and nowhere else."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = yaml.load(text, Loader=loader)  # a safe loader
    want_files = [{k: v for k, v in asdict(f).items() if v not in (None, False)}
                  for f in files]  # fmt: skip
    ok = (
        text.startswith("#cloud-config\n") and isinstance(doc, dict)
        and set(doc) == {"users", "disable_root", "ssh_pwauth", "preserve_hostname", "hostname",
                         "manage_etc_hosts", "package_update", "packages", "write_files",
                         "runcmd"}
        and len(doc["users"]) == 1 and doc["users"][0]["name"] == user
        and doc["users"][0]["ssh_authorized_keys"] == [public_key]
        and doc["hostname"] == hostname and doc["packages"] == packages
        and doc["write_files"] == want_files and doc["runcmd"] == runcmd
    )  # fmt: skip
    if not ok:
        raise AssertionError("templates/cloud-init/user-data.yaml.j2 did not render its inputs "
                             "faithfully (a template bug)")
