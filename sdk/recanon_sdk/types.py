"""Data types that flow through the pipeline: a decoded :class:`Frame` and the :class:`People` in it.

``People`` is columnar, like supervision's ``Detections``: parallel NumPy arrays, validated once,
boolean-mask indexing returns a new object.

>>> import numpy as np
>>> people = People(xyxy=np.array([[10, 20, 50, 120]], dtype=np.float32), score=np.array([0.9]))
>>> len(people), people.keypoints.shape
(1, (1, 17, 3))
>>> len(people[people.score > 0.95])
0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

#: COCO-17 keypoint names, in the order the pose model outputs them.
KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

#: COCO-17 skeleton as pairs of 0-based keypoint indices.
SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded video frame.

    ``pts`` is the presentation timestamp in units of ``time_base`` exactly as the demuxer gave it
    (never re-derived from a frame rate); ``index`` is the decode order, not a time.
    """

    image: np.ndarray  # (H, W, 3) uint8 RGB
    pts: int | None
    time_base: Fraction
    index: int

    @property
    def seconds(self) -> float | None:
        """Presentation time in seconds (for display only; ``pts`` is the exact value)."""
        return None if self.pts is None else float(self.pts * self.time_base)


@dataclass(slots=True)
class People:
    """The people found in one frame, as parallel columns (one row per person)."""

    xyxy: np.ndarray  # (n, 4) float32, frame pixels
    score: np.ndarray  # (n,) float32
    keypoints: np.ndarray = field(default=None)  # type: ignore[assignment]  # (n, 17, 3): x, y, conf
    track_id: np.ndarray | None = None  # (n,) int64 once tracked; -1 = not yet confirmed
    region: np.ndarray | None = None  # (n, 4) int32 anonymized rectangle x0, y0, x1, y1 (exclusive)
    held: np.ndarray | None = None  # (n,) bool: True = not detected now, region kept from an earlier frame

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        self.score = np.asarray(self.score, dtype=np.float32).reshape(-1)
        if len(self.score) != n:
            raise ValueError(f"People.score has {len(self.score)} rows, expected {n} (one per box)")
        if self.keypoints is None:
            self.keypoints = np.zeros((n, 17, 3), dtype=np.float32)
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        if self.keypoints.shape != (n, 17, 3):
            raise ValueError(f"People.keypoints has shape {self.keypoints.shape}, expected ({n}, 17, 3)")
        for name in ("track_id", "region", "held"):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"People.{name} has {len(column)} rows, expected {n}")
        if self.track_id is not None:
            self.track_id = np.asarray(self.track_id, dtype=np.int64)
        if self.region is not None:
            self.region = np.asarray(self.region, dtype=np.int32).reshape(-1, 4)
        if self.held is not None:
            self.held = np.asarray(self.held, dtype=bool)

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: np.ndarray | slice | list[int]) -> People:
        def take(column: np.ndarray | None) -> np.ndarray | None:
            return None if column is None else column[index]

        return People(
            xyxy=self.xyxy[index],
            score=self.score[index],
            keypoints=self.keypoints[index],
            track_id=take(self.track_id),
            region=take(self.region),
            held=take(self.held),
        )

    @classmethod
    def empty(cls) -> People:
        """No people.

        >>> len(People.empty())
        0
        """
        return cls(xyxy=np.zeros((0, 4), np.float32), score=np.zeros(0, np.float32))

    @classmethod
    def merge(cls, parts: list[People]) -> People:
        """Concatenate several ``People`` (columns that some parts lack are dropped)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()

        def cat(name: str) -> np.ndarray | None:
            columns = [getattr(p, name) for p in parts]
            return None if any(c is None for c in columns) else np.concatenate(columns)

        return cls(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            score=np.concatenate([p.score for p in parts]),
            keypoints=np.concatenate([p.keypoints for p in parts]),
            track_id=cat("track_id"),
            region=cat("region"),
            held=cat("held"),
        )
