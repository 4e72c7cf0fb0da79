"""Process-wide CLI settings and error reporting."""

from __future__ import annotations

import os
import sys
import traceback

from stix.errors import StixError

debug = False


def env_debug() -> bool:
    return os.environ.get("STIX_DEBUG", "") not in ("", "0", "false")


def err(message: str) -> None:
    from stix.cli.render import error

    error(message)


def report(exc: BaseException) -> int:
    """Print `exc` for a person and return the exit code it deserves."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, StixError):
        err(str(exc))
        return exc.exit_code
    err(f"internal error: {type(exc).__name__}: {exc}"
        + ("" if debug else "\n  (run with --debug for the traceback, and please report it)"))
    return 1
