"""Read a live camera without ever stalling it: a thread that connects, reads, and reconnects.

Frames go into a small buffer that drops its **oldest** frame when full (a camera does not wait for a
slow consumer, and a stalled reader makes servers drop the connection); drops are counted, and a
dropped frame is never written anywhere (so never shown raw). Each connection has its own number
(``generation``): the consumer ends a segment when the connection it started on ends.

When the stream ends or fails, the grabber waits and connects again: ``backoff`` seconds first,
doubling up to ``backoff_max``, back to ``backoff`` after a connection that delivered frames. Memory
is bounded by ``buffer_frames`` frames, whatever the uptime.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from recanon_sdk.names import redact_url
from recanon_sdk.types import Frame


@dataclass(frozen=True, slots=True)
class Connection:
    """One connection to the camera: its number, what the source said about itself, its rotation."""

    generation: int
    info: Any  # recanon_sdk.video.reader.SourceInfo
    rotation: int


class FrameGrabber:
    """Reads ``url`` in a daemon thread into a bounded, drop-oldest buffer (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        buffer_frames: int = 16,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        stream_timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        self.buffer_frames = buffer_frames
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.stream_timeout_s = stream_timeout_s
        self.dropped = 0
        self.frames_read = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self._items: collections.deque[tuple[Connection, Frame]] = collections.deque()
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._connection: Connection | None = None
        self._generation = 0
        self._thread = threading.Thread(target=self._run, name="recanon-grab", daemon=True)

    # -- the reading thread ----------------------------------------------------------------------

    def start(self) -> FrameGrabber:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        from recanon_sdk.video.reader import VideoSource

        delay = self.backoff
        while not self._stop.is_set():
            delivered = 0
            try:
                source = VideoSource(self.url, stream_timeout_s=self.stream_timeout_s)
                self._generation += 1
                connection = None
                for frame in source:
                    if self._stop.is_set():
                        break
                    if connection is None:  # the rotation is known once the first frame is decoded
                        connection = Connection(self._generation, source.info, source.rotation)
                        with self._lock:
                            self._connection = connection
                    self._push(connection, frame)
                    delivered += 1
                self.last_error = source.stopped_early or "the stream ended"
            except Exception as error:  # a camera that is down, refuses, or sends garbage
                self.last_error = redact_url(getattr(error, "message", None) or str(error))[:300]
            with self._lock:
                self._connection = None
                self._lock.notify_all()
            if self._stop.is_set():
                return
            self.reconnects += 1
            delay = self.backoff if delivered else min(self.backoff_max, delay * 2)
            self._stop.wait(delay * random.uniform(0.8, 1.2))

    def _push(self, connection: Connection, frame: Frame) -> None:
        with self._lock:
            if len(self._items) >= self.buffer_frames:
                self._items.popleft()
                self.dropped += 1
            self._items.append((connection, frame))
            self.frames_read += 1
            self._lock.notify_all()

    # -- the consumer ----------------------------------------------------------------------------

    def get(self, timeout: float) -> tuple[Connection, Frame] | None:
        """The oldest buffered frame and its connection, or ``None`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self._items:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop.is_set():
                    return None
                self._lock.wait(left)
            return self._items.popleft()

    def unget(self, item: tuple[Connection, Frame]) -> None:
        """Put back a frame the consumer took but did not use (it belongs to the next segment)."""
        with self._lock:
            self._items.appendleft(item)

    def connected(self, generation: int) -> bool:
        """Whether connection ``generation`` is still delivering (or may still have buffered frames)."""
        with self._lock:
            live = self._connection is not None and self._connection.generation == generation
            buffered = any(c.generation == generation for c, _ in self._items)
        return live or buffered

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()
