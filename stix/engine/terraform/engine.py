"""The Terraform (or OpenTofu) engine: the stack's graph as `main.tf.json`, applied with
the `terraform`/`tofu` binary, state kept under ~/.stix/terraform/<cluster>/.

Destroy and refresh use the `main.tf.json` written by the last apply, so they work from
what was created even after the task changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from stix.engine.base import (
    ClusterBusyError,
    Engine,
    EngineError,
    EngineMissingError,
    EngineResult,
    EventSink,
    ResourceEvent,
    StackSpec,
    collect_ids,
)
from stix.engine.errors import classify
from stix.engine.terraform.events import parse_line
from stix.paths import stix_home
from stix.user_config import Config

_MIRROR_CANDIDATES = ("~/.terraform.d/plugins", "/usr/share/terraform/plugins",
                      "/usr/local/share/terraform/plugins", "/opt/tf-plugins")
_LOCKED = ("Error acquiring the state lock", "state lock")


def find_binary(config: Config) -> str | None:
    if config.terraform_binary:
        return shutil.which(config.terraform_binary) or None
    return shutil.which("terraform") or shutil.which("tofu")


def find_mirror(config: Config) -> Path | None:
    """A provider filesystem mirror: configured, else a standard location holding one."""
    if config.terraform_mirror:
        return Path(config.terraform_mirror).expanduser()
    for candidate in _MIRROR_CANDIDATES:
        path = Path(candidate).expanduser()
        if (path / "registry.terraform.io").is_dir():
            return path
    return None


# Where each backend type keeps one state among many: the cluster's own path.
_STATE_KEY = {"s3": "key", "azurerm": "key", "gcs": "prefix", "http": None, "local": "path"}


def backend_block(config: dict[str, dict[str, object]] | None,
                  cluster: str) -> dict[str, dict[str, object]] | None:
    """The configured backend with this cluster's state path filled in (None: local)."""
    if not config:
        return None
    if len(config) != 1:
        from stix.errors import UsageError

        raise UsageError("terraform_backend: give exactly one backend, e.g. {s3: {...}}")
    ((kind, given),) = config.items()
    settings = dict(given)
    field_name = _STATE_KEY.get(kind, "key")
    if field_name and field_name not in settings:
        suffix = "" if field_name == "prefix" else ".tfstate"
        settings[field_name] = f"stix/{cluster}{suffix}"
    return {kind: settings}


def workdir(cluster: str) -> Path:
    return stix_home() / "terraform" / cluster


class TerraformEngine(Engine):
    name = "terraform"

    def __init__(self, config: Config) -> None:
        self.config = config

    def check(self) -> None:
        if find_binary(self.config) is None:
            raise EngineMissingError(
                "neither terraform nor tofu is installed",
                hint="install Terraform or OpenTofu, or use the default engine: engine='pulumi' "
                     "(--engine pulumi)",
            )

    # -- files ---------------------------------------------------------------------------

    def _env(self, wd: Path) -> dict[str, str]:
        env = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0")
        mirror = find_mirror(self.config)
        if mirror is not None:
            rc = wd / "cli.tfrc"
            rc.write_text(
                "provider_installation {\n"
                f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n"
                '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
                '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n'
            )
            env["TF_CLI_CONFIG_FILE"] = str(rc)
        return env

    def export(self, spec: StackSpec, directory: Path) -> Path:
        """Write the stack as Terraform JSON into `directory`; returns the file."""
        from stix.engine.terraform.translate import to_terraform

        if spec.synthesize is None:
            raise EngineError(f"cluster {spec.cluster!r}: no resource graph to translate")
        doc = to_terraform(spec.synthesize(), self.config.terraform_provider)
        backend = backend_block(self.config.terraform_backend, spec.cluster)
        if backend:
            doc["terraform"]["backend"] = backend
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "main.tf.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        tmp.replace(target)
        return target

    def _prepare(self, spec: StackSpec, fresh: bool) -> tuple[Path, dict[str, str]]:
        self.check()
        wd = workdir(spec.cluster)
        wd.mkdir(parents=True, exist_ok=True, mode=0o700)
        if fresh or not (wd / "main.tf.json").exists():
            self.export(spec, wd)
        env = self._env(wd)
        self._run(spec, wd, env, ["init", "-input=false", "-no-color"], None, "init")
        return wd, env

    # -- running -------------------------------------------------------------------------

    def _run(self, spec: StackSpec, wd: Path, env: dict[str, str], args: list[str],
             on_event: EventSink | None, what: str,
             ok_codes: tuple[int, ...] = (0,)) -> tuple[int, str, list[ResourceEvent]]:
        binary = find_binary(self.config)
        assert binary is not None
        proc = subprocess.Popen([binary, *args], cwd=wd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        events: list[ResourceEvent] = []
        out_lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            out_lines.append(line)
            for event in parse_line(line):
                events.append(event)
                if on_event is not None:
                    on_event(event)
        stderr = proc.stderr.read() if proc.stderr else ""
        code = proc.wait()
        if code not in ok_codes:
            errors = [e.message for e in events if e.kind == "diagnostic" and e.severity == "error"]
            detail = "\n".join(errors) or stderr.strip() or "".join(out_lines[-20:])
            if any(marker in detail for marker in _LOCKED):
                raise ClusterBusyError(
                    f"cluster {spec.cluster!r}: another operation holds the Terraform state lock",
                    hint=f"wait for it, or if it crashed: terraform force-unlock in {wd}",
                )
            kind = classify(detail, spec.cloud or None)
            lines = [ln for ln in detail.splitlines() if ln.strip()][-15:]
            raise EngineError(f"cluster {spec.cluster!r}: terraform {what} failed ({kind})\n"
                              + "\n".join("  " + ln for ln in lines), kind=kind, detail=detail)
        return code, "".join(out_lines), events

    def _changes(self, events: list[ResourceEvent]) -> dict[str, int]:
        summaries = [e.changes for e in events if e.kind == "summary"]
        return {k: v for k, v in (summaries[-1] if summaries else {}).items() if v}

    def up(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        wd, env = self._prepare(spec, fresh=True)
        _, out, events = self._run(spec, wd, env, ["apply", "-auto-approve", "-input=false",
                                   "-json", "-lock-timeout=0s"], on_event, "apply")
        return EngineResult("up", True, self._changes(events), self._outputs(spec, wd, env), out)

    def preview(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        wd, env = self._prepare(spec, fresh=True)
        _, out, events = self._run(spec, wd, env, ["plan", "-input=false", "-json",
                                   "-detailed-exitcode", "-lock-timeout=0s"], on_event, "plan",
                                   ok_codes=(0, 2))
        return EngineResult("preview", True, self._changes(events), stdout=out)

    def refresh(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        wd, env = self._prepare(spec, fresh=False)
        _, out, events = self._run(spec, wd, env, ["apply", "-refresh-only", "-auto-approve",
                                   "-input=false", "-json", "-lock-timeout=0s"], on_event,
                                   "refresh")
        return EngineResult("refresh", True, self._changes(events),
                            self._outputs(spec, wd, env), out)

    def destroy(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        wd = workdir(spec.cluster)
        if not (wd / "terraform.tfstate").exists() and not (wd / "main.tf.json").exists():
            return EngineResult("destroy", True)  # never created, or already removed
        wd, env = self._prepare(spec, fresh=False)
        _, out, events = self._run(spec, wd, env, ["destroy", "-auto-approve", "-input=false",
                                   "-json", "-lock-timeout=0s"], on_event, "destroy")
        return EngineResult("destroy", True, self._changes(events), stdout=out)

    def _outputs(self, spec: StackSpec, wd: Path, env: dict[str, str]) -> dict[str, Any]:
        _, out, _ = self._run(spec, wd, env, ["output", "-json", "-no-color"], None, "output")
        data: dict[str, Any] = json.loads(out or "{}")
        return {k: v.get("value") for k, v in data.items()}

    def outputs(self, spec: StackSpec) -> dict[str, Any]:
        wd = workdir(spec.cluster)
        if not (wd / "main.tf.json").exists():
            return {}
        return self._outputs(spec, wd, self._env(wd))

    def remove(self, spec: StackSpec) -> None:
        wd = workdir(spec.cluster)
        state = wd / "terraform.tfstate"
        if state.exists():
            resources = json.loads(state.read_text() or "{}").get("resources", [])
            managed = [r for r in resources if r.get("mode") == "managed"]
            if managed:
                raise EngineError(f"cluster {spec.cluster!r}: the Terraform state still holds "
                                  f"{len(managed)} resources; destroy first")
        shutil.rmtree(wd, ignore_errors=True)

    # -- what the state holds ------------------------------------------------------------

    def stack_names(self) -> list[str]:
        """Stacks with a state here: a local `terraform.tfstate`, or with a configured
        backend every work dir that was applied (its state lives in the backend)."""
        root = stix_home() / "terraform"
        if not root.is_dir():
            return []
        marker = "main.tf.json" if self.config.terraform_backend else "terraform.tfstate"
        return sorted(d.name for d in root.iterdir() if (d / marker).is_file())

    def resource_ids(self, stack: str) -> set[str]:
        wd = workdir(stack)
        if self.config.terraform_backend:
            documents = [self._pull_state(stack, wd)]
        else:  # the local state JSON, and the one terraform leaves when it cannot save
            documents = []
            for name in ("terraform.tfstate", "errored.tfstate"):
                path = wd / name
                if path.is_file():
                    try:
                        documents.append(json.loads(path.read_text() or "{}"))
                    except ValueError as exc:
                        raise EngineError(f"stack {stack!r}: {path} is not readable "
                                          f"JSON ({exc})") from None
        ids: set[str] = set()
        for doc in documents:
            for resource in doc.get("resources") or []:
                if resource.get("mode") != "managed":
                    continue
                for instance in resource.get("instances") or []:
                    collect_ids(instance.get("attributes") or {}, ids)
        return ids

    def _pull_state(self, stack: str, wd: Path) -> dict[str, Any]:
        self.check()
        spec = StackSpec(stack, wd, None, lambda: None)
        env = self._env(wd)
        self._run(spec, wd, env, ["init", "-input=false", "-no-color"], None, "init")
        _, out, _ = self._run(spec, wd, env, ["state", "pull"], None, "state pull")
        try:
            data: dict[str, Any] = json.loads(out or "{}")
        except ValueError as exc:
            raise EngineError(f"stack {stack!r}: terraform state pull gave no JSON "
                              f"({exc})") from None
        return data
