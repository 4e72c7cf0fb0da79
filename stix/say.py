"""How library code tells the user what it is doing: a `Say` callback the CLI renders
(the API's callers pass their own, or nothing: `quiet`)."""

from __future__ import annotations

from collections.abc import Callable

Say = Callable[[str], None]


def quiet(_: str) -> None:
    """The default `say`: a caller that passes none hears nothing."""
    return None
