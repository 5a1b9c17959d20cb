"""Portraits: a person cut out of a frame at a fixed size, and what the pose model sees on it.

The portraits ``recanon eval`` measures and the scene stage of ``recanon train`` fine-tunes on are
made the same way: :func:`portrait_crops` cuts each :class:`~recanon_sdk.datasets.Record`'s box
plus a 0.15 margin out at ``size`` (:func:`crop_person`) and moves its keypoints into crop pixels;
:func:`portrait_poses` runs the pose model P on them; :func:`portrait_heads` turns P's people into
the head boxes a head-pinned GX gets (:func:`detected_heads` does both for raw portraits).

>>> image = np.zeros((200, 100, 3), np.uint8)
>>> crop, m = crop_person(image, np.array([25, 50, 75, 150]), (128, 64), margin=0.0)
>>> crop.shape, (np.array([25, 50]) @ m[:, :2].T + m[:, 2]).round(1).tolist()
((128, 64, 3), [0.0, 0.0])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["crop_person", "detected_heads", "portrait_crops", "portrait_heads", "portrait_poses"]


def crop_person(
    image: np.ndarray,
    box: np.ndarray,
    size: tuple[int, int],
    margin: float = 0.15,
    fit: str = "expand",
    jitter: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``box`` (+ relative ``margin``) out of ``image`` at ``size`` = (H, W).

    ``jitter`` = (dx, dy, log-scale) shifts/scales the crop window (fractions of its size). Returns
    the crop and the 2×3 affine matrix mapping image pixels to crop pixels.
    """
    out_h, out_w = size
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = max(x2 - x1, 1.0) * (1 + 2 * margin), max(y2 - y1, 1.0) * (1 + 2 * margin)
    aspect = out_w / out_h
    if (bw / bh > aspect) == (fit == "expand"):
        bh = bw / aspect
    else:
        bw = bh * aspect
    dx, dy, ds = jitter
    s = math.exp(ds)
    cx, cy = (x1 + x2) / 2 + dx * bw, (y1 + y2) / 2 + dy * bh
    bw, bh = bw * s, bh * s
    sx, sy = out_w / bw, out_h / bh
    m = np.array([[sx, 0, -(cx - bw / 2) * sx], [0, sy, -(cy - bh / 2) * sy]], dtype=np.float64)
    interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(image, m, (out_w, out_h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    return crop, m


def portrait_crops(
    records: Sequence[Any], size: tuple[int, int]
) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Crops at ``size`` (margin 0.15) and the ground-truth keypoints moved into crop pixels (``None``
    if unlabelled): the portraits ``recanon eval`` measures (and the scene stage trains on)."""
    crops, keypoints = [], []
    for record in records:
        crop, m = crop_person(
            record.load(), record.box, size, margin=0.15, fit=getattr(record, "fit", "expand")
        )
        crops.append(np.ascontiguousarray(crop))
        if record.keypoints is None:
            keypoints.append(None)
            continue
        kp = np.asarray(record.keypoints, np.float64).copy()
        xy = kp[:, :2] @ m[:, :2].T + m[:, 2]
        kp[:, :2] = np.where(kp[:, 2:3] > 0, xy, 0)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < size[1]) & (xy[:, 1] >= 0) & (xy[:, 1] < size[0])
        kp[~inside, 2] = 0
        keypoints.append(kp)
    return crops, keypoints


#: One pose detector per weights file, shared by every method and source of a run.
_POSE: dict[str, Any] = {}


def portrait_poses(
    crops: Sequence[np.ndarray], size: tuple[int, int], weights: str | None = None
) -> list[Any]:
    """P's people on each portrait (320 px, confidence 0.05, one cached detector per model);
    ``weights`` another pose model (``None``: the packaged default)."""
    from recanon_sdk.detect.pose import DEFAULT_POSE_MODEL, DetectorConfig, PoseDetector

    name = weights or DEFAULT_POSE_MODEL
    if name not in _POSE:  # one model per weights file for every method and source
        _POSE[name] = PoseDetector(DetectorConfig(weights=name, imgsz=320, conf=0.05, zoom_out=0))
    out = []
    for start in range(0, len(crops), 16):
        out.extend(_POSE[name].detect(list(crops[start : start + 16])))
    return out


def detected_heads(crops: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray | None]:
    """The head boxes a head-pinned GX gets for each raw portrait, as the pipeline and ``recanon
    eval`` give them: :func:`portrait_heads` of the packaged pose model's people on it (portraits
    resized to ``size``, (H, W)). ``None`` where the head is unknown (pin the whole portrait).

    >>> detected_heads([np.zeros((128, 64, 3), np.uint8)], (128, 64))  # nobody there
    [None]
    """
    return [portrait_heads(people) for people in portrait_poses(crops, size)]


def portrait_heads(people: Any, min_score: float = 0.25) -> np.ndarray | None:
    """The head boxes a head-pinned GX gets for one portrait, from P's people on the raw portrait
    (score ≥ ``min_score``, the detector's default): every known head, or ``None`` (pin the whole
    portrait) when no person is found or the most confident one's head is unknown
    (:func:`recanon_sdk.geometry.head_boxes`: no face keypoint, or no body seen below it).

    >>> from recanon_sdk.types import People
    >>> kpts = np.zeros((1, 17, 3), np.float32); kpts[0, 0] = (32, 20, 0.9); kpts[0, 11] = (32, 80, 0.8)
    >>> portrait_heads(People(np.array([[10, 5, 54, 120]], np.float32), np.array([0.8]), kpts)).shape
    (1, 4)
    >>> portrait_heads(People.empty()) is None
    True
    """
    from recanon_sdk.geometry import head_boxes

    keep = np.asarray(people.score) >= min_score
    if not keep.any():
        return None
    heads = head_boxes(people.keypoints[keep], people.xyxy[keep])
    if np.isnan(heads[int(np.argmax(np.asarray(people.score)[keep]))]).any():
        return None
    return heads[~np.isnan(heads).any(axis=1)]
