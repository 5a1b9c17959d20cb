"""Who and when to recover: a set of track ids (or everyone) and a time range (or the whole video)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recanon_sdk.timecode import format_clock
from recanon_sdk.video.sidecar import FramePoses

__all__ = ["Selection"]


@dataclass(frozen=True, slots=True)
class Selection:
    """Who and when to recover: ``tracks`` (``None`` = everyone), seconds ``start``..``end`` (inclusive).

    >>> Selection(tracks=frozenset({7}), start=1.0, end=2.0).covers(1.5)
    True
    >>> Selection(start=1.0).covers(0.5)
    False
    """

    tracks: frozenset[int] | None = None
    start: float | None = None
    end: float | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the time range ends ({self.end} s) before it starts ({self.start} s)")

    def covers(self, seconds: float | None) -> bool:
        if seconds is None:
            return self.start is None and self.end is None
        return (self.start is None or seconds >= self.start) and (self.end is None or seconds <= self.end)

    def people_mask(self, poses: FramePoses) -> np.ndarray:
        people = poses.people
        if self.tracks is None:
            return np.ones(len(people), bool)
        ids = people.track_id if people.track_id is not None else np.full(len(people), -1)
        return np.isin(ids, sorted(self.tracks))

    def describe(self) -> str:
        who = "everyone" if self.tracks is None else "track " + ", ".join(map(str, sorted(self.tracks)))
        return f"{who}, {self.describe_time()}"

    def describe_time(self) -> str:
        """``the whole video`` or ``00:01:10 to end``."""
        if self.start is None and self.end is None:
            return "the whole video"
        start = format_clock(self.start) if self.start is not None else "start"
        end = format_clock(self.end) if self.end is not None else "end"
        return f"{start} to {end}"
