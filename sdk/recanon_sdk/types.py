"""Data types that flow through the pipeline: a decoded :class:`Frame` and the :class:`People` in it.

``People`` is columnar, like supervision's ``Detections``: parallel NumPy arrays, validated once,
boolean-mask indexing returns a new object.

>>> import numpy as np
>>> people = People(xyxy=np.array([[10, 20, 50, 120]], dtype=np.float32), score=np.array([0.9]))
>>> len(people), people.keypoints.shape
(1, (1, 17, 3))
>>> len(people[people.score > 0.95])
0

Iterating gives one :class:`Person` record per row; ``to_supervision()``/``from_supervision()`` and
``to_pandas()`` convert to and from supervision's ``Detections``/``KeyPoints`` and pandas
(:mod:`recanon_sdk.conversions`).

>>> [(p.index, p.box) for p in people]
[(0, (10.0, 20.0, 50.0, 120.0))]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import supervision as sv

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


@dataclass(frozen=True, slots=True, eq=False)
class Person:
    """One person of a :class:`People` (what iterating over it yields): plain Python values.

    ``track_id`` is ``None`` until the track is confirmed; ``region`` is ``None`` before anonymization
    and ``(0, 0, 0, 0)`` for someone the hiding policy left visible (:attr:`hidden` is False).
    """

    index: int
    box: tuple[float, float, float, float]
    score: float
    keypoints: np.ndarray  # (17, 3) x, y, confidence
    track_id: int | None
    region: tuple[int, int, int, int] | None
    held: bool
    estimated: bool = False

    @property
    def hidden(self) -> bool:
        """Whether a region of this person was anonymized (False before anonymization)."""
        return self.region is not None and self.region[2] > self.region[0] and self.region[3] > self.region[1]


@dataclass(slots=True)
class People:
    """The people found in one frame, as parallel columns (one row per person).

    ``region`` is the rectangle that was anonymized: the person (``region="body"``, the default) or
    their head (``region="head"``), and ``(0, 0, 0, 0)`` for someone the hiding policy left visible
    (:mod:`recanon_sdk.policy`: ``keep_tracks``, zones, ``max_region``).
    """

    xyxy: np.ndarray  # (n, 4) float32, frame pixels
    score: np.ndarray  # (n,) float32
    keypoints: np.ndarray = field(default=None)  # type: ignore[assignment]  # (n, 17, 3): x, y, conf
    track_id: np.ndarray | None = None  # (n,) int64 once tracked; -1 = not yet confirmed
    region: np.ndarray | None = None  # (n, 4) int32 anonymized rectangle x0, y0, x1, y1 (exclusive)
    held: np.ndarray | None = None  # (n,) bool: True = not detected now, region kept from an earlier frame
    #: (n,) bool: True = carried from the last full detection by optical flow (box and keypoints
    #: estimated, :mod:`recanon_sdk.cadence`), not found by the detector on this frame
    estimated: np.ndarray | None = None

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
        for name in ("track_id", "region", "held", "estimated"):
            column = getattr(self, name)
            if column is not None and len(column) != n:
                raise ValueError(f"People.{name} has {len(column)} rows, expected {n}")
        if self.track_id is not None:
            self.track_id = np.asarray(self.track_id, dtype=np.int64)
        if self.region is not None:
            self.region = np.asarray(self.region, dtype=np.int32).reshape(-1, 4)
        if self.held is not None:
            self.held = np.asarray(self.held, dtype=bool)
        if self.estimated is not None:
            self.estimated = np.asarray(self.estimated, dtype=bool)

    def __len__(self) -> int:
        return len(self.xyxy)

    def __iter__(self) -> Iterator[Person]:
        """One :class:`Person` per row, in order."""
        for i in range(len(self)):
            region = None if self.region is None else tuple(int(v) for v in self.region[i])
            yield Person(
                index=i,
                box=tuple(float(v) for v in self.xyxy[i]),  # type: ignore[arg-type]
                score=float(self.score[i]),
                keypoints=self.keypoints[i].copy(),
                track_id=None if self.track_id is None or self.track_id[i] < 0 else int(self.track_id[i]),
                region=region,  # type: ignore[arg-type]
                held=bool(self.held[i]) if self.held is not None else False,
                estimated=bool(self.estimated[i]) if self.estimated is not None else False,
            )

    @property
    def hidden(self) -> np.ndarray:
        """``(n,)`` bool: whose region was anonymized (all False before anonymization).

        >>> people = People(xyxy=np.zeros((2, 4)), score=np.ones(2), region=[[0, 0, 5, 5], [0, 0, 0, 0]])
        >>> people.hidden.tolist()
        [True, False]
        """
        if self.region is None:
            return np.zeros(len(self), bool)
        return (self.region[:, 2] > self.region[:, 0]) & (self.region[:, 3] > self.region[:, 1])

    def to_supervision(self) -> tuple[sv.Detections, sv.KeyPoints]:
        """supervision's ``Detections`` (boxes, scores, track ids) and ``KeyPoints`` of these people
        (:func:`recanon_sdk.conversions.to_supervision`)."""
        from recanon_sdk.conversions import to_supervision

        return to_supervision(self)

    @classmethod
    def from_supervision(cls, detections: sv.Detections, keypoints: sv.KeyPoints | None = None) -> People:
        """People from supervision's ``Detections`` (and ``KeyPoints``, COCO-17, one row per detection)
        (:func:`recanon_sdk.conversions.from_supervision`)."""
        from recanon_sdk.conversions import from_supervision

        return from_supervision(detections, keypoints)

    def to_pandas(self, **columns: Any) -> pd.DataFrame:
        """One row per person (needs pandas; :func:`recanon_sdk.conversions.people_to_pandas`)."""
        from recanon_sdk.conversions import people_to_pandas

        return people_to_pandas(self, **columns)

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
            estimated=take(self.estimated),
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

        def flags(name: str) -> np.ndarray | None:  # a flag some parts lack is False there
            columns = [getattr(p, name) for p in parts]
            if all(c is None for c in columns):
                return None
            return np.concatenate(
                [np.zeros(len(p), bool) if c is None else c for p, c in zip(parts, columns, strict=True)]
            )

        return cls(
            xyxy=np.concatenate([p.xyxy for p in parts]),
            score=np.concatenate([p.score for p in parts]),
            keypoints=np.concatenate([p.keypoints for p in parts]),
            track_id=cat("track_id"),
            region=cat("region"),
            held=flags("held"),
            estimated=flags("estimated"),
        )
