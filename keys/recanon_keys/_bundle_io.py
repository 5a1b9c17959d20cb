"""File plumbing shared by sealing, opening, re-wrapping and rotating bundles (no cryptography here).

Sources are bytes or paths; outputs to files are atomic (``_atomic``); plaintext is read in STREAM
chunks of exactly 64 KiB so that the encryptor sees the layout the header promises.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from . import _atomic
from ._format.stream import CHUNK_SIZE

Source = bytes | bytearray | memoryview | str | os.PathLike[str]
BUNDLE_MODE = 0o644
T = TypeVar("T")


def opened(source: Source) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        return open(source, "rb")
    raise TypeError("a bundle is given as bytes or as a path")


def what(source: Source) -> str:
    return f"the bundle {os.fspath(source)}" if isinstance(source, str | os.PathLike) else "the bundle"


def read_exact(src: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        part = src.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def plain_chunks(src: BinaryIO) -> Iterator[bytes]:
    first = True
    while True:
        buf = read_exact(src, CHUNK_SIZE)
        if buf or first:
            yield buf
        first = False
        if len(buf) < CHUNK_SIZE:
            return


def hashing(chunks: Iterable[bytes], hasher: hashlib._Hash) -> Iterator[bytes]:
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk


class Tee(io.RawIOBase):
    """Reads from ``src`` and copies every byte read to ``dst``."""

    def __init__(self, src: BinaryIO, dst: BinaryIO) -> None:
        self.src, self.dst = src, dst

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        data = self.src.read(n)
        self.dst.write(data)
        return data


def bundle_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    stream: Callable[[BinaryIO, BinaryIO], T],
    *,
    overwrite: bool,
    refuse_in_place: bool,
) -> T:
    """Run ``stream(fin, fout)`` from the file ``src`` into ``dst`` (atomic); return what it returns.

    ``dst`` appears only if ``stream`` returns; it is never clobbered unless ``overwrite``. With
    ``refuse_in_place``, ``src`` and ``dst`` naming the same file is refused up front (before any
    reading) unless ``overwrite``.
    """
    if refuse_in_place and Path(src).resolve() == Path(dst).resolve() and not overwrite:
        raise FileExistsError(f"{dst} already exists")
    with open(src, "rb") as fin, _atomic.atomic_output(dst, mode=BUNDLE_MODE, overwrite=overwrite) as fout:
        return stream(fin, fout)


def sha256_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            hasher.update(block)
            size += len(block)
    return hasher.hexdigest(), size
