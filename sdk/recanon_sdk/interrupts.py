"""A stop request that cannot get lost: set by a signal handler, checked by the pipelines at safe points.

Python raises ``KeyboardInterrupt`` wherever the main thread happens to be when the signal arrives;
if that is inside a finalizer (``__del__``, a weakref callback), the exception is printed and
*swallowed*, and the run would go on. The ``recanon`` command therefore also records the request
here, and the anonymizer and the recoverer check it between batches and before they commit their
outputs, so Ctrl-C and ``kill`` always end a run cleanly.

>>> clear(); requested()
False
>>> request(); requested()
True
>>> clear()
"""

from __future__ import annotations

import threading

__all__ = ["check", "clear", "request", "requested"]

_requested = threading.Event()


def request() -> None:
    """Ask every running pipeline to stop (safe to call from a signal handler)."""
    _requested.set()


def requested() -> bool:
    return _requested.is_set()


def clear() -> None:
    _requested.clear()


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a stop was requested."""
    if _requested.is_set():
        raise KeyboardInterrupt
