"""Atomic file output: write a temp file in the destination's folder, fsync, then rename into place.

A reader never sees a half-written file, a crash leaves at most a ``.*.tmp`` file behind (removed on
any exception we see), and an existing file is replaced only when ``overwrite=True``.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(d / "a.key", b"secret", mode=0o600, overwrite=False)
>>> oct((d / "a.key").stat().st_mode & 0o777)
'0o600'
>>> write_atomic(d / "a.key", b"again", mode=0o600, overwrite=False)
Traceback (most recent call last):
FileExistsError: ...
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, mode: int, overwrite: bool) -> Iterator[BinaryIO]:
    """Yield a binary file; on normal exit it becomes ``path`` (mode ``mode``), on error it vanishes."""
    dest = Path(path)
    if not overwrite and dest.exists():
        raise FileExistsError(f"{dest} already exists")
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)  # fails if dest appeared meanwhile: never clobber
            except FileExistsError:
                raise FileExistsError(f"{dest} already exists") from None
            except OSError:  # file systems without hard links
                if dest.exists():
                    raise FileExistsError(f"{dest} already exists") from None
                os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int, overwrite: bool) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``."""
    with atomic_output(path, mode=mode, overwrite=overwrite) as fh:
        fh.write(data)
