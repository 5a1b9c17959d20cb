"""Keep the ``recanon`` process's resident memory close to what it uses (glibc's allocator).

With several threads (decode, inference, encode) glibc gives each its own heap arena and keeps freed
frame buffers (about 1 MB at 768 × 432, 6 MB at 1080p) for reuse, so the resident size drifts above
what is live. Two allocator settings, applied once at start-up before any thread exists, bring a
default run on the bundled sample from 406 to 381 MiB peak (``/usr/bin/time -f %M``, 2026-12-06):
at most two arenas, and buffers of 128 KiB or more taken from and returned to the system directly.
Elsewhere (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: glibc's mallopt parameters (malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def limit_heap_growth(arenas: int = 2, mmap_threshold: int = 128 * 1024) -> bool:
    """Apply the allocator settings; ``True`` where glibc took them.

    >>> isinstance(limit_heap_growth(), bool)
    True
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas)) and bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold))
