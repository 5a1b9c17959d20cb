"""A time span of a video: anonymize only from ``start`` to ``end`` seconds.

Seconds count from the first decoded frame (for a file that starts at a non-zero timestamp, or a
live stream, that is where it starts). The output is that span alone: its frames are renumbered
from 0 and their timestamps shifted so that the output starts at 0; the sidecar's times are the
output's, and the end line records where in the source the span began (``span.source_start``).
Frames before ``start`` are decoded and skipped (a long lead-in costs decoding time, not inference).

>>> from fractions import Fraction
>>> from recanon_sdk.types import Frame
>>> import numpy as np
>>> frames = [Frame(np.zeros((2, 2, 3), np.uint8), pts=i * 10, time_base=Fraction(1, 100), index=i)
...           for i in range(10)]                                    # 10 frames at 10 fps
>>> cut = TimeSpan(start=0.3, end=0.6).cut(frames)
>>> [(f.index, f.pts) for f in cut], cut.source_start
([(0, 0), (1, 10), (2, 20)], 0.3)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from recanon_sdk.types import Frame


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """From ``start`` (inclusive) to ``end`` (exclusive) seconds after the first frame; ``None`` = the
    beginning or the end of the input."""

    start: float | None = None
    end: float | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            ):
                raise ValueError(f"{name} must be a number of seconds, got {value!r}")
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end} s) must come after start ({self.start} s)")

    @property
    def whole(self) -> bool:
        """True when the span is the whole input."""
        return self.start is None and self.end is None

    def cut(self, frames: Iterable[Frame]) -> SpanCut:
        """The frames of ``frames`` inside the span, renumbered and shifted to start at 0."""
        return SpanCut(self, frames)

    def record(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


class SpanCut:
    """Iterates over the frames inside a span (once); :attr:`source_start` is the source time (s,
    after the first frame) of the first frame kept, once one was."""

    def __init__(self, span: TimeSpan, frames: Iterable[Frame]) -> None:
        self.span = span
        self._frames = frames
        self.source_start: float | None = None

    def __iter__(self) -> Iterator[Frame]:
        # Decimal, not binary: start=0.2 includes a frame at exactly 1/5 s (Fraction(0.2) is larger).
        start = None if self.span.start is None else Fraction(str(self.span.start))
        end = None if self.span.end is None else Fraction(str(self.span.end))
        first: int | None = None
        offset: int | None = None
        index = 0
        for frame in self._frames:
            if frame.pts is None:
                raise ValueError("a time span needs frames with timestamps")
            if first is None:
                first = frame.pts
            at = (frame.pts - first) * frame.time_base
            if start is not None and at < start:
                continue
            if end is not None and at >= end:
                return
            if offset is None:
                offset, self.source_start = frame.pts, float(at)
            yield Frame(image=frame.image, pts=frame.pts - offset, time_base=frame.time_base, index=index)
            index += 1
