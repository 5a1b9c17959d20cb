"""One segment of a live camera, as a source the anonymizer reads like any other.

A :class:`LiveSegment` takes frames from a :class:`~recanon_sdk.live.grabber.FrameGrabber` until the
segment is full (``max_frames``, or ``max_seconds`` of wall time), the connection it started on ends,
or the recorder is stopped. Frames are renumbered from 0 and their timestamps shifted so that each
segment starts at 0: every segment is a file of its own, playable alone. ``stopped_early`` says why a
segment ended before it was full (recorded in the sidecar's end line).

Segment files are named ``CAMERA-YYYYMMDDTHHMMSSZ.mp4`` (UTC start) in the camera's folder.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from recanon_sdk.live.grabber import Connection, FrameGrabber
from recanon_sdk.types import Frame
from recanon_sdk.video.reader import VideoSource

#: Seconds a segment waits for the next frame before it asks whether its connection is still up.
POLL_S = 0.5


class LiveSegment(VideoSource):
    """Frames of one segment (see the module docstring); ``first`` is the frame that opened it."""

    def __init__(
        self,
        grabber: FrameGrabber,
        first: tuple[Connection, Frame],
        *,
        max_frames: int | None,
        max_seconds: float | None,
    ) -> None:
        connection, _ = first
        self.source = grabber.url
        self.stopped_early = None
        self.rotation = connection.rotation
        self.dropped_non_monotonic = 0
        self._kind = "stream"
        self._images = []
        self._stream_timeout_s = grabber.stream_timeout_s
        self.info = dataclasses.replace(connection.info, frames=None)
        self.connection = connection
        self.frames = 0
        self.dropped_at_start = grabber.dropped
        self._grabber = grabber
        self._first: tuple[Connection, Frame] | None = first
        self._max_frames = max_frames
        self._max_seconds = max_seconds

    def __iter__(self) -> Iterator[Frame]:
        started = time.monotonic()
        origin: int | None = None
        while True:
            if self._max_frames is not None and self.frames >= self._max_frames:
                return
            if self._max_seconds is not None and time.monotonic() - started >= self._max_seconds:
                return
            item = self._take()
            if item is None:
                if self._grabber.stopped:
                    self.stopped_early = "the recorder was stopped"
                    return
                if not self._grabber.connected(self.connection.generation):
                    self.stopped_early = f"the stream dropped ({self._grabber.last_error})"
                    return
                continue
            connection, frame = item
            if connection.generation != self.connection.generation:
                self._grabber.unget(item)  # the next connection's first frame opens the next segment
                self.stopped_early = f"the stream dropped ({self._grabber.last_error})"
                return
            pts = frame.pts if frame.pts is not None else self.frames
            origin = pts if origin is None else origin
            yield Frame(image=frame.image, pts=pts - origin, time_base=frame.time_base, index=self.frames)
            self.frames += 1

    def _take(self) -> tuple[Connection, Frame] | None:
        if self._first is not None:
            item, self._first = self._first, None
            return item
        return self._grabber.get(POLL_S)


def segment_path(folder: Path, camera: str, started: datetime | None = None, suffix: str = ".mp4") -> Path:
    """A new file name in ``folder`` for a segment of ``camera`` that started at ``started`` (UTC).

    >>> segment_path(Path("rec"), "lobby", datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)).as_posix()
    'rec/lobby-20250301T120005Z.mp4'
    """
    stamp = (started or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{camera}-{stamp}{suffix}"
    number = 1
    while path.exists() or path.with_name(f"{path.stem}.pose.jsonl").exists():
        path = folder / f"{camera}-{stamp}-{number}{suffix}"
        number += 1
    return path
