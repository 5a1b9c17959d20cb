"""Streaming in constant memory: decode thread → (caller's thread: inference) → encode thread.

Frames flow through two small bounded queues, so memory does not grow with video length, and an
error in any thread stops the others and is raised in the caller's thread.

>>> list(batches(iter(range(5)), 2))
[[0, 1], [2, 3], [4]]
>>> list(limited(iter(range(5)), 3))
[0, 1, 2]
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def limited(items: Iterable[T], limit: int | None) -> Iterator[T]:
    """The first ``limit`` items (all of them when ``limit`` is ``None``)."""
    for count, item in enumerate(items):
        if limit is not None and count >= limit:
            return
        yield item


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last one may be shorter)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_END = object()


class ThreadedPipeline:
    """Decode thread → (main thread: inference) → encode thread, joined by bounded queues."""

    def __init__(self, queue_size: int) -> None:
        self._decoded: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._processed: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._reader_stop = threading.Event()
        self._errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def _put(self, q: queue.Queue[Any], item: Any) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def start_reader(self, frames: Iterable[Any]) -> Iterator[Any]:
        def run() -> None:
            try:
                for frame in frames:
                    if self._reader_stop.is_set() or not self._put(self._decoded, frame):
                        return
            except BaseException as error:
                self._errors.append(error)
            finally:
                self._put(self._decoded, _END)

        thread = threading.Thread(target=run, name="recanon-decode", daemon=True)
        thread.start()
        self._threads.append(thread)

        def consume() -> Iterator[Any]:
            while True:
                try:
                    item = self._decoded.get(timeout=0.1)
                except queue.Empty:
                    self._raise_errors()
                    if self._stop.is_set():
                        return
                    continue
                if item is _END:
                    self._raise_errors()
                    return
                yield item

        return consume()

    def start_writer(self, write: Callable[[Any], None]) -> None:
        def run() -> None:
            try:
                while True:
                    try:
                        item = self._processed.get(timeout=0.1)
                    except queue.Empty:
                        if self._stop.is_set():
                            return
                        continue
                    if item is _END:
                        return
                    write(item)
            except BaseException as error:
                self._errors.append(error)
                self._stop.set()

        thread = threading.Thread(target=run, name="recanon-encode", daemon=True)
        thread.start()
        self._threads.append(thread)

    def put(self, item: Any) -> None:
        self._raise_errors()
        self._put(self._processed, item)
        self._raise_errors()

    def _raise_errors(self) -> None:
        if self._errors:
            self._stop.set()
            raise self._errors[0]

    def stop_reader(self) -> None:
        """Stop decoding (live stream interrupted) but let the writer drain what is queued."""
        reader = self._threads[0]
        self._reader_stop.set()
        # Drain the decode queue so the reader is not blocked on it; frames still queued are dropped.
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                self._decoded.get(timeout=0.1)

    def finish(self) -> None:
        self._put(self._processed, _END)
        for thread in self._threads:
            thread.join()
        self._raise_errors()

    def abort(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
