"""Printing text that came from files (sidecars, manifests, names on disk): never markup, never escapes.

A sidecar field like ``[link=https://…]`` or ``\\x1b]8;;…`` must reach the terminal as those
characters, not as a link, a colour or a crash. :func:`clean` (from :mod:`recanon_cli._console`)
shows control and format characters as escapes; :func:`say` prints through Rich as a plain ``Text``
(no markup, no emoji codes, no highlighting).
"""

from __future__ import annotations

from typing import NoReturn

from rich.console import Console
from rich.text import Text

from recanon_cli._console import clean, fail

__all__ = ["clean", "fail_clean", "say"]


def say(console: Console, text: object, *, style: str | None = None) -> None:
    """Print one line of (partly) untrusted text: cleaned, as plain text, optionally styled as a whole."""
    console.print(Text(clean(text), style=style or ""), soft_wrap=True)


def fail_clean(message: object, *hints: object, code: int = 1) -> NoReturn:
    """:func:`recanon_cli._console.fail` for messages that quote files: cleaned first."""
    fail(clean(message), *(clean(hint) for hint in hints if hint), code=code)
