"""Printing text that came from files (sidecars, manifests, names on disk): never markup, never escapes.

A sidecar field like ``[link=https://…]`` or ``\\x1b]8;;…`` must reach the terminal as those
characters, not as a link, a colour or a crash. :func:`clean` shows control and format characters
(terminal escape sequences, bidi overrides) as ``\\xNN``/``\\uNNNN`` and cuts very long text;
:func:`say` prints through Rich as a plain ``Text`` (no markup, no emoji codes, no highlighting).
"""

from __future__ import annotations

from typing import NoReturn

from rich.console import Console
from rich.text import Text

from recanon_cli._console import fail

__all__ = ["clean", "fail_clean", "say"]


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: object, limit: int = 2000) -> str:
    """``text`` as printable characters only, at most ``limit`` of them.

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
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def say(console: Console, text: object, *, style: str | None = None) -> None:
    """Print one line of (partly) untrusted text: cleaned, as plain text, optionally styled as a whole."""
    console.print(Text(clean(text), style=style or ""), soft_wrap=True)


def fail_clean(message: object, *hints: object, code: int = 1) -> NoReturn:
    """:func:`recanon_cli._console.fail` for messages that quote files: cleaned first."""
    fail(clean(message), *(clean(hint) for hint in hints if hint), code=code)
