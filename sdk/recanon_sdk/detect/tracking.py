"""Track ids for detected people, and the hold that keeps a lost person's region anonymized.

Ids come from the ByteTrack implementation Ultralytics ships. Tracking never decides *whether* a
person is anonymized: every detection is, confirmed track or not (unconfirmed ones get id -1).
A track the detector loses keeps its last region anonymized for ``hold_frames`` frames, so a face
never flickers into view for a frame when a detection drops out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from recanon_sdk.types import People


class _Detections:
    """The minimal Results-like view ByteTrack reads: ``conf``, ``cls``, ``xywh``, boolean indexing."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray) -> None:
        self.xyxy = xyxy
        self.conf = conf
        self.cls = np.zeros(len(conf), np.float32)

    @property
    def xywh(self) -> np.ndarray:
        wh = self.xyxy[:, 2:4] - self.xyxy[:, 0:2]
        return np.concatenate([self.xyxy[:, 0:2] + wh / 2, wh], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: np.ndarray) -> _Detections:
        return _Detections(self.xyxy[index], self.conf[index])


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """ByteTrack settings (Ultralytics' defaults) plus recanon's region hold."""

    hold_frames: int = 15
    track_high_thresh: float = 0.25
    track_low_thresh: float = 0.1
    new_track_thresh: float = 0.25
    track_buffer: int = 30
    match_thresh: float = 0.8
    fuse_score: bool = True


class PersonTracker:
    """Assigns track ids and adds held regions of recently lost tracks."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace

        self.config = config or TrackerConfig()
        args = IterableSimpleNamespace(
            tracker_type="bytetrack",
            track_high_thresh=self.config.track_high_thresh,
            track_low_thresh=self.config.track_low_thresh,
            new_track_thresh=self.config.new_track_thresh,
            track_buffer=self.config.track_buffer,
            match_thresh=self.config.match_thresh,
            fuse_score=self.config.fuse_score,
        )
        self._tracker = BYTETracker(args)
        self._last_seen: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}  # id → (frame, xyxy, keypoints)
        self._frame = 0

    def update(self, people: People) -> People:
        """Return ``people`` with ``track_id`` set (−1 if unconfirmed) plus held rows for lost tracks."""
        self._frame += 1
        track_id = np.full(len(people), -1, np.int64)
        if len(people):
            tracks = self._tracker.update(_Detections(people.xyxy.copy(), people.score.copy()))
            for row in np.asarray(tracks).reshape(-1, 8):
                track_id[int(row[7])] = int(row[4])
        else:
            self._tracker.update(_Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32)))
        current = People(
            xyxy=people.xyxy,
            score=people.score,
            keypoints=people.keypoints,
            track_id=track_id,
            held=np.zeros(len(people), bool),
        )
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
