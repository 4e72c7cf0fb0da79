"""The default engine: Pulumi's Automation API with the stix program inline.

The project is the directory holding `Pulumi.yaml`; stack config lives in `stacks/`
(`stackConfigDir`), which only the pulumi CLI understands — so stix never lets the SDK
save project or stack settings (the Python SDK drops `stackConfigDir` when it saves
`Pulumi.yaml`) and writes those files itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stix.engine.base import (
    ClusterBusyError,
    Engine,
    EngineError,
    EngineMissingError,
    EngineResult,
    EventSink,
    StackSpec,
    collect_ids,
)
from stix.engine.errors import classify
from stix.engine.progress import from_pulumi
from stix.engine.settings import EngineSettings, find_pulumi

INSTALL_HINT = ("install it with `stix install-pulumi` (downloads the CLI into ~/.stix/pulumi) "
                "or see https://www.pulumi.com/docs/install/; `stix plan` works without it")


class PulumiEngine(Engine):
    name = "pulumi"

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._reader: Any = None  # the workspace stack_names/resource_ids read through

    def check(self) -> None:
        if find_pulumi() is None:
            raise EngineMissingError("the pulumi CLI is not installed", hint=INSTALL_HINT)

    def _stack(self, spec: StackSpec) -> Any:
        self.check()
        from pulumi import automation as auto

        root = self.settings.pulumi_root
        try:
            command = auto.PulumiCommand(root=str(root) if root else None,
                                         skip_version_check=True)
        except FileNotFoundError:
            raise EngineMissingError("the pulumi CLI is not installed", hint=INSTALL_HINT) from None
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(spec.project_dir),
            pulumi_command=command,
            env_vars=self.settings.env(),
            secrets_provider=self.settings.secrets_provider,
        )
        return self._call(lambda: auto.create_or_select_stack(
            stack_name=spec.cluster, project_name="stix", program=spec.program, opts=opts),
            "select stack", spec)

    def _call(self, fn: Callable[[], Any], what: str, spec: StackSpec) -> Any:
        from pulumi.automation import errors

        try:
            return fn()
        except errors.ConcurrentUpdateError:
            raise ClusterBusyError(
                f"cluster {spec.cluster!r}: another engine operation holds the stack lock",
                hint=f"wait for it to finish, or if it crashed: `pulumi cancel -s {spec.cluster}`",
            ) from None
        except errors.CommandError as exc:
            detail = f"{exc}"
            kind = classify(detail, spec.cloud or None)
            raise EngineError(f"cluster {spec.cluster!r}: {what} failed ({kind})\n"
                              f"{_tail(detail)}", kind=kind, detail=detail) from None

    def _events(self, on_event: EventSink | None) -> Callable[[Any], None] | None:
        if on_event is None:
            return None

        def handler(event: Any) -> None:
            for item in from_pulumi(event):
                on_event(item)

        return handler

    def up(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        stack = self._stack(spec)
        res = self._call(lambda: stack.up(on_event=self._events(on_event), color="never"),
                         "up", spec)
        return EngineResult("up", True, dict(res.summary.resource_changes or {}),
                            {k: v.value for k, v in res.outputs.items()}, res.stdout)

    def preview(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        stack = self._stack(spec)
        res = self._call(lambda: stack.preview(on_event=self._events(on_event), color="never",
                                               refresh=True), "preview", spec)
        return EngineResult("preview", True, {str(k): v for k, v in res.change_summary.items()},
                            stdout=res.stdout)

    def refresh(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        stack = self._stack(spec)
        res = self._call(lambda: stack.refresh(on_event=self._events(on_event), color="never"),
                         "refresh", spec)
        return EngineResult("refresh", True, dict(res.summary.resource_changes or {}),
                            stdout=res.stdout)

    def destroy(self, spec: StackSpec, on_event: EventSink | None = None) -> EngineResult:
        stack = self._stack(spec)
        res = self._call(lambda: stack.destroy(on_event=self._events(on_event), color="never"),
                         "destroy", spec)
        return EngineResult("destroy", True, dict(res.summary.resource_changes or {}),
                            stdout=res.stdout)

    def outputs(self, spec: StackSpec) -> dict[str, Any]:
        stack = self._stack(spec)
        outs = self._call(stack.outputs, "read outputs", spec)
        return {k: v.value for k, v in outs.items()}

    def remove(self, spec: StackSpec) -> None:
        stack = self._stack(spec)
        try:
            self._call(lambda: stack.workspace.remove_stack(spec.cluster), "remove stack", spec)
        except EngineError as exc:
            if "no stack named" not in exc.detail and "not found" not in exc.detail:
                raise


    # -- what the state holds ------------------------------------------------------------

    def _workspace(self) -> Any:
        """A workspace on the backend, outside any project (stix's stacks are in project
        `stix`); its Pulumi.yaml lives in a temporary folder kept while the engine lives."""
        if self._reader is not None:
            return self._reader
        self.check()
        import tempfile

        from pulumi import automation as auto

        root = self.settings.pulumi_root
        try:
            command = auto.PulumiCommand(root=str(root) if root else None,
                                         skip_version_check=True)
        except FileNotFoundError:
            raise EngineMissingError("the pulumi CLI is not installed", hint=INSTALL_HINT) from None
        self._folder = tempfile.TemporaryDirectory(prefix="stix-pulumi-")
        self._reader = auto.LocalWorkspace(
            work_dir=self._folder.name, pulumi_command=command, env_vars=self.settings.env(),
            secrets_provider=self.settings.secrets_provider,
            project_settings=auto.ProjectSettings(name="stix", runtime="python"))
        return self._reader

    def _read(self, fn: Callable[[], Any], what: str) -> Any:
        from pulumi.automation import errors

        try:
            return fn()
        except errors.CommandError as exc:
            raise EngineError(f"pulumi: {what} failed\n{_tail(str(exc))}",
                              detail=str(exc)) from None

    def stack_names(self) -> list[str]:
        ws = self._workspace()
        stacks = self._read(ws.list_stacks, "listing the stacks")
        return sorted(s.name for s in stacks)

    def resource_ids(self, stack: str) -> set[str]:
        """Ids from `pulumi stack export`: each resource's id and outputs, and the resources
        of operations a crash left pending (Pulumi knows of them; `refresh` settles them)."""
        ws = self._workspace()
        deployment = self._read(lambda: ws.export_stack(stack), f"exporting stack {stack}")
        state = deployment.deployment or {}
        ids: set[str] = set()
        resources = list(state.get("resources") or [])
        resources += [op.get("resource") or {} for op in state.get("pending_operations") or []]
        for resource in resources:
            collect_ids(resource.get("id"), ids)
            collect_ids(resource.get("outputs") or {}, ids)
        return ids


def _tail(text: str, lines: int = 15) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join("  " + line for line in kept)
