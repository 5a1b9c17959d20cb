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


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: object, limit: int = 2000) -> str:
    """``text`` as printable characters only, at most ``limit`` of them: control and format characters
    (terminal escape sequences, bidi overrides, TABs) are shown as ``\\xNN``/``\\uNNNN``, so that
    names from files and URLs cannot drive the terminal.

    >>> clean("cam\\x1b]8;;https://evil\\x07[/]")
    'cam\\\\x1b]8;;https://evil\\\\x07[/]'
    >>> clean("a\\u202eb"), clean("x" * 10, limit=4)
    ('a\\\\u202eb', 'xxx…')
    """
    text = str(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\n" else _escape(c) for c in text)


def print_error(message: str, *hints: str) -> None:
    """Print ``recanon: error: message`` and one ``recanon: hint:`` line per hint, on stderr."""
    stderr.print(f"recanon: error: {clean(message, limit=4000)}", markup=False)
    for hint in hints:
        stderr.print(f"recanon: hint: {clean(hint, limit=4000)}", markup=False)


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
    stderr.print(f"recanon: warning: {clean(message, limit=4000)}", markup=False)


def is_interactive() -> bool:
    return sys.stderr.isatty()
