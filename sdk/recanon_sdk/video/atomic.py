"""Outputs appear complete or not at all: write to a hidden temporary name, rename when done."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from recanon_sdk.errors import OutputError


def check_output(path: Path, *, overwrite: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Raise :class:`OutputError` if ``path`` exists (without ``overwrite``), is an input or is unwritable."""
    resolved = path.resolve()
    for source in inputs:
        if Path(source).exists() and Path(source).resolve() == resolved:
            raise OutputError(
                f"output '{path}' is the input file; refusing to overwrite the input",
                hint="choose another output name with -o",
            )
    if path.exists() and not overwrite:
        raise OutputError(
            f"output '{path}' exists already", hint="pass --overwrite to replace it, or choose -o"
        )
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write '{path}': folder '{parent}' does not exist", hint="create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write '{path}': folder '{parent}' is not writable")


def temporary_name(path: Path) -> Path:
    """A hidden sibling of ``path`` that keeps its suffix (FFmpeg picks the muxer from it)."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}.partial{path.suffix}")


def commit(temporary: Path, final: Path) -> None:
    """Atomically move a finished temporary file to its final name (same folder, same filesystem)."""
    os.replace(temporary, final)


def discard(temporary: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
