"""A task in a container image on machines that are not containers themselves
(`image_id: docker:IMAGE` on a VM, an existing machine or this one).

The node keeps one long-lived container per cluster (`stix-<cluster>`), started by the node
phase once the files are synced, with the host's network, the GPUs, and the cluster's
workdir and mount targets bound in at the same place (`~` meaning the host user's home
outside and the image user's home inside). Setup, run, exec and `stix ssh` enter it with
`docker exec` (or podman's), so the agent, its job queue, logs and autostop stay on the host
and work as on any node. What the runtime is (and whether it needs sudo) is decided once per
cluster on the node and kept in `~/.stix/containers/<cluster>`.

Every value that reaches a shell goes through `shlex.quote`; env values and the registry
password never reach a command line (`-e NAME` takes the value from the caller's
environment, the password arrives on stdin).
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from stix.errors import StixError

PREFIX = "docker:"
STATE_DIR = ".stix/containers"  # under the node home
# The node home: a local node's own directory, else the login's home.
_HOST_HOME = 'hh="${STIX_NODE_HOME:-$HOME}"'
# SkyPilot's names for a private registry's login, read from the task's envs or secrets.
LOGIN_ENVS = ("SKYPILOT_DOCKER_USERNAME", "SKYPILOT_DOCKER_PASSWORD", "SKYPILOT_DOCKER_SERVER")
MAX_SCRIPT = 120_000  # one argv string is at most 128 KiB on Linux
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}")
_EXIT = {90: "no container runtime (docker or podman) runs on the node",
         91: "the registry refused the login",
         92: "the image could not be pulled",
         93: "the cluster's container is not on the node (run `stix up` again)",
         94: "the container did not start"}


class ContainerError(StixError):
    """A node could not start or enter the task's container."""


@dataclass(frozen=True)
class RegistryLogin:
    user: str
    password: str
    server: str


@dataclass(frozen=True)
class Container:
    """The cluster's container on every node: what image, what is shared into it."""

    image: str
    cluster: str
    gpus: bool = False
    binds: tuple[str, ...] = ()  # node paths (`~/...` or absolute) seen inside as well

    @property
    def name(self) -> str:
        from stix.remote.agent_client import _check_name

        return f"stix-{_check_name(self.cluster)}"

    @property
    def state_file(self) -> str:
        """Its path in a shell that has run `_HOST_HOME` (jobs run in the workdir)."""
        return f'"$hh"/{STATE_DIR}/{self.name}'

    @property
    def spec_hash(self) -> str:
        """What the container was made from: a change makes a new one (and setup runs)."""
        text = "\0".join((self.image, str(self.gpus), *sorted(self.binds)))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def image_of(ref: str | None) -> str | None:
    """The image of a `docker:IMAGE` image_id, or None for a machine image."""
    if not ref or not ref.startswith(PREFIX):
        return None
    return ref[len(PREFIX):]


def image_problem(ref: str) -> str | None:
    """Why `docker:IMAGE` is not an image reference a runtime would take, if it is not."""
    image = ref[len(PREFIX):]
    if not _REF.fullmatch(image):
        return (f"{ref!r} is not a container image reference (registry/name[:tag][@digest], "
                "letters, digits and . _ / : @ + -)")
    return None


def bind_problem(path: str) -> str | None:
    """A path a container bind cannot carry (`-v SRC:DST` splits on ':')."""
    if ":" in path or "," in path:
        return f"{path!r}: a path shared into the container cannot hold ':' or ','"
    return None


def for_placement(placement: object, binds: Iterable[str]) -> Container | None:
    """The container `placement`'s nodes run the task in, or None when the task runs on
    the machine itself (no docker image, or a provider whose nodes are the image)."""
    from stix.clouds import registry

    image = image_of(getattr(placement, "image_id", None))
    cloud = getattr(placement, "cloud", "")
    if image is None or (registry.served(cloud)
                         and registry.get(cloud).capabilities.container_images):
        return None
    accelerator = getattr(placement, "accelerator", None)
    unique = tuple(dict.fromkeys(_node_path(b) for b in binds))
    for path in unique:
        why = bind_problem(path)
        if why:
            raise ContainerError(f"cluster {getattr(placement, 'cluster', '')!r}: {why}")
    return Container(image=image, cluster=str(getattr(placement, "cluster", "")),
                     gpus=accelerator is not None, binds=unique)


def _node_path(path: str) -> str:
    """A mount target as the node sees it: `~/x`, or absolute; relative means under `~`."""
    path = path.rstrip("/") or "/"
    if path == "~" or path.startswith(("~/", "/")):
        return path
    return f"~/{path}"


def login_from(envs: Mapping[str, str]) -> RegistryLogin | None:
    """The private registry login SkyPilot's env names ask for; all three or none."""
    given = {k: envs.get(k) for k in LOGIN_ENVS}
    if not any(given.values()):
        return None
    missing = [k for k, v in given.items() if not v]
    if missing:
        raise ContainerError(f"a private registry login needs {', '.join(LOGIN_ENVS)}; "
                             f"missing: {', '.join(missing)}",
                             hint="set them under the task's envs or secrets")
    return RegistryLogin(given["SKYPILOT_DOCKER_USERNAME"] or "",
                         given["SKYPILOT_DOCKER_PASSWORD"] or "",
                         given["SKYPILOT_DOCKER_SERVER"] or "")


def _inside(path: str, home_var: str) -> str:
    """`path` with its `~` as the shell variable `home_var` (quoted for a double-quoted
    context: the rest of the path is plain, `bind_problem` and the node path rules hold)."""
    if path == "~":
        return f'"${home_var}"'
    if path.startswith("~/"):
        return f'"${home_var}"/{shlex.quote(path[2:])}'
    return shlex.quote(path)


def start_script(c: Container, *, create: bool, login: RegistryLogin | None = None) -> str:
    """Run on a node (bash, in the user's home): pick the runtime, log in (the password on
    stdin), and make sure the container runs. Prints `created`, `started` or `running`;
    exits with a code of `_EXIT` on failure. With `create=False` (exec) a missing or
    changed container is an error, never remade: remaking it would lose what setup did."""
    q = shlex.quote
    lines = [
        "set -u",
        # On a VM, cloud-init installs the runtime: wait for it (only where it ran this boot).
        "if [ -d /run/cloud-init ] && command -v cloud-init >/dev/null 2>&1; then "
        "timeout 1200 cloud-init status --wait >/dev/null 2>&1 || true; fi",
        'rt=""',
        "for cand in docker podman; do",
        '  command -v "$cand" >/dev/null 2>&1 || continue',
        '  if "$cand" info >/dev/null 2>&1; then rt="$cand"; break; fi',
        '  if sudo -n "$cand" info >/dev/null 2>&1; then rt="sudo -n $cand"; break; fi',
        "done",
        '[ -n "$rt" ] || exit 90',
        _HOST_HOME,
        f'mkdir -p "$hh"/{STATE_DIR} && chmod 700 "$hh"/{STATE_DIR}',
        f"name={q(c.name)}; img={q(c.image)}; spec={q(c.spec_hash)}",
    ]
    if login is not None:
        lines.append(f"$rt login -u {q(login.user)} --password-stdin {q(login.server)} "
                     ">/dev/null 2>&1 || exit 91")
    lines += [
        "now=$($rt container inspect --format "
        + q('{{.State.Running}} {{index .Config.Labels "stix.spec"}}') + ' "$name" 2>/dev/null)',
        'case "$now" in',
    ]
    # exec takes the container as up left it; up keeps it only while its spec holds. One
    # that is stopped and will not start (removed meanwhile) is made anew by up.
    want = '"$spec"' if create else "*"
    lines += [
        f'  "true "{want}) status=running ;;',
        f'  "false "{want}) $rt start "$name" >/dev/null 2>&1 && status=started ;;',
        "esac",
        'case "${status:-}" in',
        "  running|started) ;;",
    ]
    if not create:
        lines += ['  *) exit 93 ;;', "esac"]
    else:
        binds = " ".join(f'-v {_inside(b, "hh")}:{_inside(b, "chome")}' for b in c.binds)
        dirs = " ".join(_inside(b, "hh") for b in c.binds)
        gpus = ('case "$rt" in *podman) gpu="--device nvidia.com/gpu=all" ;; '
                '*) gpu="--gpus all" ;; esac' if c.gpus else 'gpu=""')
        lines += [
            '  *) [ -z "$now" ] || $rt rm -f "$name" >/dev/null 2>&1',
            '     $rt image inspect "$img" >/dev/null 2>&1 || $rt pull -q "$img" >/dev/null '
            "|| exit 92",
            # The image user's home, for the `~` of the mount targets inside.
            "     chome=$($rt run --rm --entrypoint /bin/sh \"$img\" -c 'printf %s \"$HOME\"')"
            " || exit 94",
            '     [ -n "$chome" ] || chome=/root',
            *([f'     for d in {dirs}; do [ -e "$d" ] || mkdir -p "$d"; done'] if dirs else []),
            f"     {gpus}",
            # --init reaps the jobs' orphans; a runtime without an init binary runs without.
            '     run=(--name "$name" --label "stix.spec=$spec" --label managed-by=stix '
            f'--net=host --ipc=host $gpu {binds} --entrypoint sleep "$img" infinity)',
            '     $rt run -d --init "${run[@]}" >/dev/null 2>&1 || '
            '{ $rt rm -f "$name" >/dev/null 2>&1; $rt run -d "${run[@]}" >/dev/null; } '
            "|| exit 94",
            "     status=created ;;",
            "esac",
        ]
    lines += [
        'chome=$($rt exec "$name" /bin/sh -c \'printf %s "$HOME"\') || exit 94',
        f'printf "%s\\n%s\\n" "$rt" "${{chome:-/root}}" > {c.state_file}',
        'echo "$status"',
    ]
    return "\n".join(lines) + "\n"


def explain_exit(code: int | None, detail: str = "") -> str:
    why = _EXIT.get(code or 0, f"exit code {code}")
    return why + (f": {detail}" if detail else "")


# The in-container launcher: the script's shell leads its own process group (setsid, where
# the image has util-linux's) and writes its pid first, so a cancel reaches the whole job.
_LAUNCH = ('b=\'echo $$ > "$0"; exec /bin/bash -c "$1"\'; '
           'if command -v setsid >/dev/null 2>&1 && setsid -w true 2>/dev/null; then '
           'exec setsid -w /bin/bash -c "$b" "$0" "$1"; fi; exec /bin/bash -c "$b" "$0" "$1"')
_KILL = ('p=$(cat "$0" 2>/dev/null) && { kill -TERM "-$p" 2>/dev/null || '
         'kill -TERM "$p" 2>/dev/null; }; true')


def wrap(c: Container, script: str, env_names: Iterable[str], cwd: str | None) -> str:
    """The host-side job script that runs `script` inside the container with the job's
    env (by name: values come from the agent's environment) in `cwd` (a node path, `~`
    and relative ones meaning the image user's home). A cancel of the host job (SIGTERM to
    its group) is passed to the job's process group inside."""
    if len(script.encode()) > MAX_SCRIPT:
        raise ContainerError(f"a script run in a container is at most {MAX_SCRIPT} bytes, "
                             f"this one is {len(script.encode())}",
                             hint="put the commands in a file in the workdir and run that")
    q = shlex.quote
    names = sorted({*env_names, "PYTHONUNBUFFERED"})
    env = " ".join(f"-e {q(n)}" for n in names)
    keep = f"--preserve-env={','.join(names)}"
    where = f"-w {_inside(_node_path(cwd), 'chome')}" if cwd else ""
    return "\n".join([
        _HOST_HOME,
        f"{{ read -r rt; read -r chome; }} < {c.state_file} 2>/dev/null || "
        f"{{ echo {q('stix: ' + _EXIT[93])} >&2; exit 93; }}",
        f'case "$rt" in "sudo -n "*) rt="sudo -n {keep} ${{rt#sudo -n }}" ;; esac',
        'pidf="/tmp/.stix-job-$$-$RANDOM"',
        f'stop() {{ $rt exec {q(c.name)} /bin/bash -c {q(_KILL)} "$pidf" >/dev/null 2>&1; }}',
        'trap \'stop; wait "$child"; exit 143\' TERM INT HUP',
        f'$rt exec {env} {where} {q(c.name)} /bin/bash -c {q(_LAUNCH)} "$pidf" {q(script)} &',
        "child=$!",
        'wait "$child"',
    ]) + "\n"


def shell_command(c: Container, cwd: str | None) -> str:
    """The remote command of `stix ssh`: a login shell inside the container."""
    q = shlex.quote
    where = f"-w {_inside(_node_path(cwd), 'chome')}" if cwd else ""
    return (f"{_HOST_HOME}; {{ read -r rt; read -r chome; }} < {c.state_file} || exit 93; "
            f"exec $rt exec -it {where} {q(c.name)} /bin/bash -l")


def remove_command(c: Container) -> str:
    """What `down` runs on a machine stix does not own: the container and its record."""
    q = shlex.quote
    return (f"{_HOST_HOME}; {{ read -r rt; }} < {c.state_file} 2>/dev/null && "
            f"$rt rm -f {q(c.name)} >/dev/null 2>&1; rm -f {c.state_file}; true")
