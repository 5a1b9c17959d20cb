"""ByteTrack in NumPy: track ids for boxes, associating every detection box, weak ones included.

After Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection Box" (ECCV
2022), written for recanon from the paper (AGPL-3.0 like the rest of recanon). Each frame:

1. every track's box is predicted by a constant-velocity Kalman filter on (cx, cy, aspect, h);
2. high-confidence detections (score ≥ ``high_threshold``) are matched to the confirmed tracks,
   tracked and lost alike, by IoU with an optimal assignment;
3. low-confidence detections are matched to the confirmed tracks still unmatched that were tracked
   on the previous frame (lost ones are not revived by a weak box); unmatched low ones get no track;
4. unconfirmed tracks (not yet matched on ``confirm_frames`` consecutive frames) take the high
   detections left; an unconfirmed track that finds none is dropped;
5. the high detections still left with a score ≥ ``activation_threshold`` start unconfirmed tracks;
6. a confirmed track unmatched for more than ``lost_buffer`` frames (at 30 fps, scaled to the
   video's rate) is forgotten.

A track gets an id once it has been matched on ``confirm_frames`` consecutive frames; ids count
from ``first_id`` in the order tracks are confirmed, so they have no gaps. A match needs an IoU of
at least ``min_iou`` between the predicted box and the detection (``low_min_iou`` for a
low-confidence one: 0.5 in the paper's reference code, as a weak box is more often a false one).

>>> import numpy as np
>>> tracker = ByteTrack()
>>> box = np.array([[10.0, 10, 50, 90]])
>>> [tracker.update(box + 2 * t, np.array([0.9])).tolist() for t in range(3)]
[[-1], [1], [1]]
>>> tracker.update(box + 6, np.array([0.15])).tolist()    # a weak box extends the track
[1]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# -- optimal assignment --------------------------------------------------------------------------


def linear_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows and columns of a minimum-cost assignment of a (possibly rectangular) cost matrix.

    Every row is assigned if there are no more rows than columns, otherwise every column
    (the shortest-augmenting-path Hungarian method of Kuhn, Munkres and Jonker-Volgenant with dual
    potentials, O(n² m)). Rows are returned in increasing order.

    >>> rows, cols = linear_assignment(np.array([[4.0, 1, 3], [2, 0, 5], [3, 2, 2]]))
    >>> rows.tolist(), cols.tolist()
    ([0, 1, 2], [1, 0, 2])
    """
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 2:
        raise ValueError(f"the cost matrix must be 2-D, got shape {cost.shape}")
    if not np.isfinite(cost).all():
        raise ValueError("the cost matrix must hold finite numbers only")
    transposed = cost.shape[0] > cost.shape[1]
    if transposed:
        cost = cost.T
    n, m = cost.shape
    if n == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty
    # 1-based as in the textbook statement: column 0 is a virtual start, row_of[j] the row that
    # holds column j (0 = none), u and v the row and column potentials.
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    row_of = np.zeros(m + 1, np.int64)
    came_from = np.zeros(m + 1, np.int64)
    for row in range(1, n + 1):
        row_of[0] = row
        col = 0
        slack = np.full(m + 1, np.inf)
        done = np.zeros(m + 1, bool)
        while row_of[col] != 0:  # grow a shortest path from ``row`` until it reaches a free column
            done[col] = True
            reduced = cost[row_of[col] - 1] - u[row_of[col]] - v[1:]
            better = ~done[1:] & (reduced < slack[1:])
            slack[1:][better] = reduced[better]
            came_from[1:][better] = col
            candidates = np.where(done[1:], np.inf, slack[1:])
            nxt = int(np.argmin(candidates)) + 1
            delta = candidates[nxt - 1]
            u[row_of[done]] += delta
            v[done] -= delta
            slack[1:][~done[1:]] -= delta
            col = nxt
        while col:  # flip the path: every column on it takes the row of the one before
            prev = came_from[col]
            row_of[col] = row_of[prev]
            col = prev
    cols = np.flatnonzero(row_of[1:]).astype(np.int64)
    rows = row_of[1:][cols] - 1
    if transposed:
        rows, cols = cols, rows
    order = np.argsort(rows)
    return rows[order], cols[order]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The (len(a), len(b)) IoU matrix of two sets of x0, y0, x1, y1 boxes.

    >>> boxes = np.array([[5.0, 0, 15, 10], [20, 20, 30, 30]])
    >>> box_iou(np.array([[0.0, 0, 10, 10]]), boxes).round(3).tolist()
    [[0.333, 0.0]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    wh = np.clip(
        np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None
    )
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(iou: np.ndarray, min_iou: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs (row, column) of an IoU matrix, each with an IoU of at least ``min_iou`` (and above 0),
    that maximize the total of their IoUs above ``min_iou``; plus the unmatched rows and columns.

    This is the gated assignment of ByteTrack's reference code (a pair is worth its margin over the
    gate), so one good pair may win over two that barely pass:

    >>> match(np.array([[0.9, 0.5], [0.6, 0.0]]), 0.3)
    ([(0, 0)], [1], [1])
    """
    n, m = iou.shape
    if n == 0 or m == 0:
        return [], list(range(n)), list(range(m))
    allowed = (iou >= min_iou) & (iou > 0)
    # Leaving a row or column unmatched is worth 0, so a pair below the gate is worth 0 as well: the
    # best full assignment of the margins is the best partial matching once those pairs are dropped.
    # The 1e-9 keeps a pair exactly at the gate ahead of no pair.
    margin = np.where(allowed, iou - min_iou + 1e-9, 0.0)
    pairs = []
    for group_rows, group_cols in _linked_groups(allowed):  # small problems, however crowded the frame
        rows, cols = linear_assignment(-margin[np.ix_(group_rows, group_cols)])
        pairs += [(int(group_rows[r]), int(group_cols[c])) for r, c in zip(rows, cols, strict=True)]
    pairs = sorted(p for p in pairs if allowed[p])
    used_rows, used_cols = {r for r, _ in pairs}, {c for _, c in pairs}
    return pairs, [r for r in range(n) if r not in used_rows], [c for c in range(m) if c not in used_cols]


def _linked_groups(allowed: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The rows and columns of each connected group of allowed pairs: a matching never links two
    groups, so each can be solved alone."""
    groups = []
    grouped = np.zeros(allowed.shape[0], bool)
    for start in np.flatnonzero(allowed.any(axis=1)):
        if grouped[start]:
            continue
        rows = np.zeros(allowed.shape[0], bool)
        rows[start] = True
        while True:
            cols = allowed[rows].any(axis=0)
            grown = rows | allowed[:, cols].any(axis=1)
            if (grown == rows).all():
                break
            rows = grown
        grouped |= rows
        groups.append((np.flatnonzero(rows), np.flatnonzero(cols)))
    return groups


# -- motion model ----------------------------------------------------------------------------------

# Noise of the box filter, proportional to the box height (the values of SORT/DeepSORT, which ByteTrack
# uses): position in pixels per pixel of height, velocity per frame.
_POSITION_STD = 1.0 / 20
_VELOCITY_STD = 1.0 / 160
_TRANSITION = np.eye(8) + np.eye(8, k=4)  # x' = x + v over one frame
_OBSERVE = np.eye(4, 8)


def _to_xyah(xyxy: np.ndarray) -> np.ndarray:
    w, h = xyxy[2] - xyxy[0], xyxy[3] - xyxy[1]
    return np.array([xyxy[0] + w / 2, xyxy[1] + h / 2, w / h, h])


def _to_xyxy(xyah: np.ndarray) -> np.ndarray:
    cx, cy, aspect, h = xyah[:4]
    w = aspect * h
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def _std(h: float, position: float, aspect: float) -> np.ndarray:
    return np.array([position * h, position * h, aspect, position * h])


@dataclass(slots=True)
class _Track:
    """One track: a Kalman state (cx, cy, aspect, h and their velocities) and its bookkeeping."""

    mean: np.ndarray
    covariance: np.ndarray
    last_frame: int
    hits: int = 1  # consecutive frames matched
    track_id: int = -1  # -1 until confirmed

    @classmethod
    def start(cls, xyxy: np.ndarray, frame: int) -> _Track:
        z = _to_xyah(xyxy)
        std = np.concatenate([2 * _std(z[3], _POSITION_STD, 1e-2), 10 * _std(z[3], _VELOCITY_STD, 1e-5)])
        return cls(np.concatenate([z, np.zeros(4)]), np.diag(std**2), frame)

    @property
    def confirmed(self) -> bool:
        return self.track_id >= 0

    def predict(self, frame: int) -> None:
        if frame - self.last_frame > 1:
            self.mean[7] = 0.0  # a lost track keeps its place and size, not its growth
        h = self.mean[3]
        q = np.concatenate([_std(h, _POSITION_STD, 1e-2), _std(h, _VELOCITY_STD, 1e-5)]) ** 2
        self.mean = _TRANSITION @ self.mean
        self.covariance = _TRANSITION @ self.covariance @ _TRANSITION.T + np.diag(q)

    def correct(self, xyxy: np.ndarray, frame: int) -> None:
        z = _to_xyah(xyxy)
        r = np.diag(_std(self.mean[3], _POSITION_STD, 1e-1) ** 2)
        projected = _OBSERVE @ self.covariance @ _OBSERVE.T + r
        gain = np.linalg.solve(projected, _OBSERVE @ self.covariance).T  # P Hᵀ S⁻¹ (S symmetric)
        self.mean = self.mean + gain @ (z - _OBSERVE @ self.mean)
        self.covariance = self.covariance - gain @ projected @ gain.T
        self.hits = self.hits + 1 if frame - self.last_frame == 1 else 1
        self.last_frame = frame

    @property
    def xyxy(self) -> np.ndarray:
        return _to_xyxy(self.mean)


# -- the tracker -----------------------------------------------------------------------------------


class ByteTrack:
    """ByteTrack over a sequence of frames: call :meth:`update` once per frame, in order.

    ``high_threshold`` splits detections into the first (high) and second (low) association,
    ``activation_threshold`` is the score a detection needs to start a track, ``min_iou`` the IoU
    with a track's predicted box a high detection needs (``low_min_iou`` a low one),
    ``confirm_frames`` the consecutive matched frames before a track gets an id, ``lost_buffer``
    how many frames at 30 fps a lost track may still be re-found (scaled by ``frame_rate``).
    """

    def __init__(
        self,
        *,
        high_threshold: float = 0.25,
        activation_threshold: float = 0.25,
        min_iou: float = 0.2,
        low_min_iou: float = 0.5,
        confirm_frames: int = 2,
        lost_buffer: int = 30,
        frame_rate: float = 30.0,
        first_id: int = 1,
    ) -> None:
        if confirm_frames < 1 or lost_buffer < 0 or first_id < 0:
            raise ValueError(
                f"confirm_frames must be ≥ 1 (got {confirm_frames}), lost_buffer ≥ 0 (got {lost_buffer}) "
                f"and first_id ≥ 0 (got {first_id})"
            )
        if not (math.isfinite(frame_rate) and frame_rate > 0):
            raise ValueError(f"frame_rate must be a positive number, got {frame_rate}")
        self.high_threshold = high_threshold
        self.activation_threshold = activation_threshold
        self.min_iou = min_iou
        self.low_min_iou = low_min_iou
        self.confirm_frames = confirm_frames
        #: frames a confirmed track may go unmatched and still be re-found
        self.max_lost = 0 if lost_buffer == 0 else max(1, math.ceil(frame_rate / 30.0 * lost_buffer))
        self.next_id = first_id
        self.frame = 0
        self.tracks: list[_Track] = []

    def update(self, xyxy: np.ndarray, score: np.ndarray) -> np.ndarray:
        """Track one frame's detections; returns each row's track id (−1: no confirmed track).

        ``xyxy`` is ``(n, 4)`` x0, y0, x1, y1 in pixels and ``score`` ``(n,)`` confidences.
        """
        boxes = np.asarray(xyxy, np.float64).reshape(-1, 4)
        scores = np.asarray(score, np.float64).reshape(-1)
        if len(scores) != len(boxes):
            raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
        if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
            raise ValueError("boxes and scores must be finite numbers")
        self.frame += 1
        frame = self.frame
        ids = np.full(len(boxes), -1, np.int64)
        usable = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])  # a box with no area: no track
        high = np.flatnonzero(usable & (scores >= self.high_threshold))
        low = np.flatnonzero(usable & (scores < self.high_threshold))
        for track in self.tracks:
            track.predict(frame)
        pool = [t for t in self.tracks if t.confirmed]
        unconfirmed = [t for t in self.tracks if not t.confirmed]

        def assign(tracks: list[_Track], rows: np.ndarray, min_iou: float) -> tuple[list[int], list[int]]:
            predicted = np.array([t.xyxy for t in tracks]).reshape(-1, 4)
            pairs, free_tracks, free_rows = match(box_iou(predicted, boxes[rows]), min_iou)
            for t, r in pairs:
                tracks[t].correct(boxes[rows[r]], frame)
                if not tracks[t].confirmed and tracks[t].hits >= self.confirm_frames:
                    tracks[t].track_id = self._new_id()
                ids[rows[r]] = tracks[t].track_id
            return free_tracks, free_rows

        free_pool, free_high = assign(pool, high, self.min_iou)
        was_tracked = [pool[i] for i in free_pool if pool[i].last_frame == frame - 1]
        assign(was_tracked, low, self.low_min_iou)
        free_unconfirmed, free_high = assign(unconfirmed, high[free_high], self.min_iou)
        dropped = {id(unconfirmed[i]) for i in free_unconfirmed}
        for row in high[free_high]:
            if scores[row] >= self.activation_threshold:
                track = _Track.start(boxes[row], frame)
                if self.confirm_frames <= 1:
                    track.track_id = ids[row] = self._new_id()
                self.tracks.append(track)
        self.tracks = [
            t for t in self.tracks if id(t) not in dropped and frame - t.last_frame <= self.max_lost
        ]
        return ids

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1
