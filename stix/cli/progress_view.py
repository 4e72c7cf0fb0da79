"""Live engine progress on stderr: a status line while resources change, a line per
resource done or failed, engine errors verbatim."""

from __future__ import annotations

from typing import Any

from stix.cli import render
from stix.engine.base import ResourceEvent
from stix.engine.progress import Progress


class ProgressView:
    def __init__(self) -> None:
        self.progress = Progress()
        self._status: Any = None
        console = render.err_console()
        if console.is_terminal:
            self._status = console.status("starting the engine…")
            self._status.start()

    def __call__(self, event: ResourceEvent) -> None:
        from rich.markup import escape

        self.progress.feed(event)
        console = render.err_console()
        if event.kind == "done" and event.op not in ("same", "read", ""):
            console.print(f"[green]✓[/] {escape(event.op)} {escape(event.type)} "
                          f"{escape(event.name)} ({self.progress.elapsed:.0f}s)")
        elif event.kind == "failed":
            console.print(f"[red]✗[/] {escape(event.op)} {escape(event.type)} {escape(event.name)}")
        elif event.kind == "diagnostic" and event.severity == "error":
            console.print(f"[red]  {escape(event.message)}[/]")
        if self._status is not None:
            self._status.update(escape(self.progress.line()))

    def close(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
