"""Track ids for detected people, and the hold that keeps a lost person's region anonymized.

Ids come from recanon's own ByteTrack (:mod:`recanon_sdk.detect.bytetrack`, NumPy only, so the
anonymizing path loads neither SciPy nor supervision, and the same tracker runs in the torch-free
runtime install and in the full one).
Tracking never decides *whether* a person is anonymized: every detection is, confirmed track or
not (unconfirmed ones get id -1). A track the detector loses keeps its last region anonymized for
``hold_frames`` frames, so a face never flickers into view for a frame when a detection drops out.

>>> import numpy as np
>>> from recanon_sdk.types import People
>>> tracker = PersonTracker(TrackerConfig(hold_frames=2))
>>> person = People(xyxy=np.array([[10.0, 10, 50, 90]]), score=np.array([0.9]))
>>> [tracker.update(person).track_id.tolist() for _ in range(3)]
[[-1], [1], [1]]
>>> lost = tracker.update(People.empty())      # the detector missed the person: the region is held
>>> lost.track_id.tolist(), lost.held.tolist()
([1], [True])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recanon_sdk.detect.bytetrack import ByteTrack
from recanon_sdk.types import People

#: The tracker's name in the sidecar header (``models.tracker``).
TRACKER_NAME = "bytetrack (recanon)"


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """ByteTrack settings plus recanon's region hold.

    ``high_threshold`` splits detections into the first (high) and second (low) association stage,
    ``activation_threshold`` is the score a detection needs to start a track, ``min_iou`` the
    overlap (IoU) a detection needs with a track's predicted box (a low-confidence detection needs
    at least 0.5, as in ByteTrack's reference code), ``confirm_frames`` the consecutive
    hits before a track gets an id, ``lost_buffer`` how many frames (at 30 fps) a lost track may
    still be re-found. The detector's own confidence threshold (0.1–0.2) already removes weaker
    boxes. ``hold_frames`` is recanon's: how long a lost track's region stays anonymized.
    """

    hold_frames: int = 15
    high_threshold: float = 0.25
    activation_threshold: float = 0.25
    min_iou: float = 0.2
    confirm_frames: int = 2
    lost_buffer: int = 30


class PersonTracker:
    """Assigns track ids and adds held regions of recently lost tracks."""

    def __init__(self, config: TrackerConfig | None = None, frame_rate: float = 30.0) -> None:
        self.config = config or TrackerConfig()
        self._frame_rate = frame_rate if frame_rate > 0 else 30.0
        self._max_id = 0  # the largest id given: a restarted ByteTrack continues after it
        self._tracker = self._bytetrack()
        self._last_seen: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # id → (frame, xyxy, keypoints)
        self._frame = 0

    def _bytetrack(self) -> ByteTrack:
        return ByteTrack(
            high_threshold=self.config.high_threshold,
            activation_threshold=self.config.activation_threshold,
            min_iou=self.config.min_iou,
            low_min_iou=max(self.config.min_iou, 0.5),
            confirm_frames=self.config.confirm_frames,
            lost_buffer=self.config.lost_buffer,
            frame_rate=self._frame_rate,
            first_id=self._max_id + 1,
        )

    def restart(self) -> None:
        """Start association afresh (after a fault) but keep holding the regions of lost people.

        A failure must never reduce what is held: the regions of recently seen tracks stay
        anonymized for the rest of their ``hold_frames``; new ids continue after the old ones.

        >>> tracker = PersonTracker(TrackerConfig(hold_frames=2))
        >>> person = People(xyxy=np.array([[10.0, 10, 50, 90]]), score=np.array([0.9]))
        >>> _ = [tracker.update(person) for _ in range(3)]
        >>> tracker.restart()
        >>> tracker.update(People.empty()).held.tolist()
        [True]
        """
        self._tracker = self._bytetrack()

    def update(self, people: People) -> People:
        """Return ``people`` with ``track_id`` set (−1 if unconfirmed) plus held rows for lost tracks."""
        self._frame += 1
        track_id = self._tracker.update(people.xyxy, people.score)
        current = People(
            xyxy=people.xyxy,
            score=people.score,
            keypoints=people.keypoints,
            track_id=track_id,
            held=np.zeros(len(people), bool),
            estimated=people.estimated,
        )
        self._max_id = max(self._max_id, int(track_id.max(initial=0)))
        for tid, xyxy, kpts in zip(track_id, people.xyxy, people.keypoints, strict=True):
            if tid >= 0:
                self._last_seen[int(tid)] = (self._frame, xyxy.copy(), kpts.copy())
        held_rows = []
        for tid, (frame, xyxy, kpts) in list(self._last_seen.items()):
            age = self._frame - frame
            if age == 0:
                continue
            if age > self.config.hold_frames:
                del self._last_seen[tid]
                continue
            held_rows.append((tid, xyxy, kpts))
        if not held_rows:
            return current
        held = People(
            xyxy=np.stack([r[1] for r in held_rows]),
            score=np.zeros(len(held_rows), np.float32),
            keypoints=np.stack([r[2] for r in held_rows]) * np.array([1, 1, 0], np.float32),
            track_id=np.array([r[0] for r in held_rows], np.int64),
            held=np.ones(len(held_rows), bool),
        )
        return People.merge([current, held])
