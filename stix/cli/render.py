"""Small output helpers shared by the commands."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@cache
def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


@cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def ok(message: str) -> None:
    from rich.markup import escape

    console().print(f"[green]✓[/] {escape(message)}")


def error(message: str) -> None:
    from rich.markup import escape

    err_console().print(f"[bold red]error:[/] {escape(message)}")


def warn(message: str) -> None:
    from rich.markup import escape

    err_console().print(f"[yellow]warning:[/] {escape(message)}")


def progress(message: str) -> None:
    """A dimmed progress line on stderr (what a command is doing, not its answer)."""
    from rich.markup import escape

    err_console().print(f"[dim]·[/] {escape(message)}")


def plain(message: str) -> None:
    """A line on stderr exactly as given (no markup: messages may hold brackets)."""
    err_console().print(message, markup=False, highlight=False)
