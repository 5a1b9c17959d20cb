"""Terminal output shared by every command: errors as one clear sentence, hints, and no tracebacks.

Diagnostics go to stderr as ``recanon: error: …`` followed by ``recanon: hint: …`` lines.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


class CommandFailed(Exception):
    """Raised inside a command to end it with one error sentence, hints and an exit code."""

    def __init__(self, message: str, *hints: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hints = hints
        self.code = code


def terminal_safe(text: object) -> str:
    r"""``text`` with control characters (escape sequences, TABs, carriage returns) written as ``\xNN``,
    so that names from files and URLs cannot drive the terminal.

    >>> print(terminal_safe("clip\x1b[2J.mp4"))
    clip\x1b[2J.mp4
    """
    shown = "".join(
        f"\\x{ord(c):02x}" if (ord(c) < 32 and c != "\n") or 127 <= ord(c) < 160 else c for c in str(text)
    )
    return shown.encode("utf-8", "backslashreplace").decode("utf-8")


def print_error(message: str, *hints: str) -> None:
    """Print ``recanon: error: message`` and one ``recanon: hint:`` line per hint, on stderr."""
    stderr.print(f"recanon: error: {terminal_safe(message)}", markup=False)
    for hint in hints:
        stderr.print(f"recanon: hint: {terminal_safe(hint)}", markup=False)


def fail(message: str, *hints: str, code: int = 1) -> NoReturn:
    """End the command: print the error and hints, exit with ``code`` (never a traceback)."""
    print_error(message, *hints)
    raise SystemExit(code)


def require_torch(what: str) -> None:
    """End the command with one sentence when the torch extra (torch, Ultralytics) is not installed."""
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.extras import require_torch as check

    try:
        check(what)
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))


def warn(message: str) -> None:
    stderr.print(f"recanon: warning: {terminal_safe(message)}", markup=False)


def is_interactive() -> bool:
    return sys.stderr.isatty()
