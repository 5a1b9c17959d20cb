"""Files pinned at first read: every later read returns exactly the bytes first read, or fails.

Recovery checks its inputs and then uses them. Between the two, a file could be replaced (renamed
over) or rewritten in place, and the recovery would then show another video under an audit entry
that names the first one's hash. A :class:`PinnedFile` closes that gap:

* it keeps the file open, so a rename over its path does not change what is read;
* it records the SHA-256 of every 1 MiB block the first time that block is read (first reads go
  strictly in order from the start, so the recorded blocks always form a prefix of the file);
* every later read of a block reads it again and checks it against the recorded hash
  (:class:`FileChanged` if it differs), so in-place rewrites are caught as they are read;
* :meth:`PinnedFile.check_unchanged` says whether the path still names the same, unmodified file.

Everything a verifier hashes through :meth:`PinnedFile.reader` is therefore exactly what a later
user of another reader of the same :class:`PinnedFile` gets.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "a.bin")
>>> with open(path, "wb") as handle:
...     _ = handle.write(b"verified bytes")
>>> pinned = PinnedFile(path)
>>> pinned.reader().read()
b'verified bytes'
>>> with open(path, "r+b") as handle:   # rewritten in place after the check
...     _ = handle.write(b"VERIFIED")
>>> pinned.reader().read()                 # still what was verified, never the new bytes
b'verified bytes'
>>> try:
...     pinned.check_unchanged()
... except FileChanged as error:
...     print(error.message)
'a.bin' changed on disk after it was verified
>>> pinned.close()
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import stat
import threading
from collections import OrderedDict
from pathlib import Path

from recanon_sdk.errors import InputError

__all__ = ["BLOCK_SIZE", "FileChanged", "PinnedFile", "PinnedFiles"]

BLOCK_SIZE = 1 << 20
_CACHED_BLOCKS = 4


class FileChanged(InputError):
    """A pinned file was replaced or rewritten after it was first read (checked)."""


class PinnedFile:
    """One file, opened once; its blocks hashed when first read and checked on every later read.

    Raises ``OSError`` if the file cannot be opened or is not a regular file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))  # OSError as usual
        first = os.fstat(self._fd)
        if not stat.S_ISREG(first.st_mode):
            os.close(self._fd)
            self._fd = -1
            raise OSError(errno.EINVAL, "not a regular file", str(self.path))
        self._opened = first
        self._hashes: list[bytes] = []
        self._size: int | None = None  # known once the last (short) block has been recorded
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._lock = threading.Lock()
        #: Set once a read found the file changed (see :meth:`PinnedFiles.raise_if_changed`).
        self.changed = False

    # -- blocks ----------------------------------------------------------------------------------

    def _pread(self, index: int) -> bytes:
        parts, offset, wanted = [], index * BLOCK_SIZE, BLOCK_SIZE
        while wanted:
            part = os.pread(self._fd, wanted, offset)
            if not part:
                break
            parts.append(part)
            offset += len(part)
            wanted -= len(part)
        return b"".join(parts)

    def _changed(self) -> FileChanged:
        self.changed = True  # sticky: a reader (e.g. FFmpeg's) may swallow the exception
        return FileChanged(
            f"'{self.path.name}' changed on disk after it was verified",
            hint="nothing is used from a file that changes while recanon reads it; "
            "stop whatever writes to it and run the command again",
        )

    def block(self, index: int) -> bytes:
        """Block ``index`` (``BLOCK_SIZE`` bytes; the last one shorter, past the end empty)."""
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached
            while self._size is None and len(self._hashes) <= index:  # first reads: in order
                n = len(self._hashes)
                data = self._pread(n)
                self._hashes.append(hashlib.sha256(data).digest())
                if len(data) < BLOCK_SIZE:
                    self._size = n * BLOCK_SIZE + len(data)
                if n == index:
                    self._remember(n, data)
                    return data
            if index >= len(self._hashes):
                return b""
            data = self._pread(index)
            if hashlib.sha256(data).digest() != self._hashes[index]:
                raise self._changed()
            self._remember(index, data)
            return data

    def _remember(self, index: int, data: bytes) -> None:
        self._cache[index] = data
        while len(self._cache) > _CACHED_BLOCKS:
            self._cache.popitem(last=False)

    @property
    def size(self) -> int:
        """The pinned length (reads the file to its end first, if it was not read that far yet)."""
        while self._size is None:
            self.block(len(self._hashes))
        return self._size

    # -- use -------------------------------------------------------------------------------------

    def reader(self) -> io.BufferedReader:
        """A new binary file object (own position, seekable) over the pinned bytes."""
        return io.BufferedReader(_PinnedRaw(self), buffer_size=64 * 1024)

    def check_unchanged(self) -> None:
        """Raise :class:`FileChanged` if the path names another file now or the file was modified.

        Compares the path's identity, the size and modification time, and reads every recorded
        block again against its hash (so a rewrite within the clock's resolution is caught too).
        """
        try:
            now_path = os.stat(self.path)
        except OSError:
            raise self._changed() from None
        now = os.fstat(self._fd)
        if (
            (now_path.st_dev, now_path.st_ino) != (self._opened.st_dev, self._opened.st_ino)
            or (now.st_size, now.st_mtime_ns) != (self._opened.st_size, self._opened.st_mtime_ns)
            or (self._size is not None and self._size != now.st_size)
        ):
            raise self._changed()
        with self._lock:
            for index, recorded in enumerate(self._hashes):
                if hashlib.sha256(self._pread(index)).digest() != recorded:
                    raise self._changed()

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._cache.clear()

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


class _PinnedRaw(io.RawIOBase):
    def __init__(self, pinned: PinnedFile) -> None:
        self._pinned = pinned
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        view = memoryview(buffer).cast("B")
        block = self._pinned.block(self._position // BLOCK_SIZE)
        start = self._position % BLOCK_SIZE
        count = max(0, min(len(view), len(block) - start))
        view[:count] = block[start : start + count]
        self._position += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._pinned.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def tell(self) -> int:
        return self._position


class PinnedFiles:
    """The pinned files of one operation, by resolved path: :meth:`open` is an opener for readers.

    >>> files = PinnedFiles()              # doctest: +SKIP
    >>> files.open("out.mp4").read(4)      # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._files: dict[Path, PinnedFile] = {}

    def pin(self, path: str | os.PathLike[str]) -> PinnedFile:
        key = Path(os.path.abspath(path))
        pinned = self._files.get(key)
        if pinned is None:
            pinned = self._files[key] = PinnedFile(path)
        return pinned

    def open(self, path: str | os.PathLike[str]) -> io.BufferedReader:
        """A reader of ``path``'s pinned bytes (pinned at the first call for that path)."""
        return self.pin(path).reader()

    def raise_if_changed(self) -> None:
        """Raise :class:`FileChanged` if any read so far found a file changed (cheap; no reading)."""
        for pinned in self._files.values():
            if pinned.changed:
                raise pinned._changed()

    def check_unchanged(self) -> None:
        """:meth:`PinnedFile.check_unchanged` for every file (reads them all again)."""
        self.raise_if_changed()
        for pinned in self._files.values():
            pinned.check_unchanged()

    def close(self) -> None:
        for pinned in self._files.values():
            pinned.close()
        self._files.clear()
