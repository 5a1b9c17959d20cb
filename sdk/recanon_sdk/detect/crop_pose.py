"""The cheap steps between full detections: the pose network on crops, around each tracked person
(:func:`pose_in_crops`) or around where something uncovered moved (:func:`people_in_windows`).

A full detection runs the network on the whole frame at 960 or 1280 px (about 120–160 ms on two CPU
cores). A person already being tracked only needs re-measuring where they are: a crop around their
carried box, grown by a margin, at ``size`` px on its longer side (about 5–8 ms at 256 px). The
network's person in the crop that overlaps the carried box gives that row its box and keypoints for
this frame; where the crop shows nobody that matches, the row stays as it was carried (optical flow),
so nobody is ever dropped by this step. People the step cannot see (someone entering) are the motion
gate's job (:mod:`recanon_sdk.cadence`).

>>> import numpy as np
>>> from recanon_sdk.types import People
>>> carried = People(xyxy=np.array([[40.0, 20, 80, 120]]), score=np.array([0.8]))
>>> crop_windows(carried.xyxy, (200, 300), margin=0.25).tolist()
[[30, 0, 90, 145]]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recanon_sdk.geometry import box_iou
from recanon_sdk.types import People

__all__ = ["MIN_MATCH_IOU", "crop_size", "crop_windows", "people_in_windows", "pose_in_crops", "shift_people"]

#: A crop's person is taken for the carried one when their boxes overlap at least this much (IoU).
#: The carried box spans where the person was and where the flow moved them, so it is larger than
#: the person; a neighbour who stands in the crop overlaps it far less.
MIN_MATCH_IOU = 0.4

Predict = Callable[[list[np.ndarray], int, float], list[People]]


def shift_people(people: People, dx: float, dy: float) -> None:
    """Move ``people`` (boxes and keypoints, in place) by ``dx``, ``dy`` pixels: from a crop's or a
    tile's pixels into the frame's.

    >>> people = People(xyxy=np.array([[0.0, 10, 20, 50]]), score=np.array([0.9]))
    >>> shift_people(people, 50, 5)
    >>> people.xyxy.tolist()
    [[50.0, 15.0, 70.0, 55.0]]
    """
    people.xyxy[:, [0, 2]] += dx
    people.xyxy[:, [1, 3]] += dy
    people.keypoints[:, :, 0] += dx
    people.keypoints[:, :, 1] += dy


def crop_windows(boxes: np.ndarray, shape: tuple[int, int], *, margin: float) -> np.ndarray:
    """Integer windows ``(n, 4)`` x0, y0, x1, y1: each box grown by ``margin`` × its size (at least
    4 px) on every side, clipped to a frame of ``shape`` (h, w)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    h, w = shape
    grow_x = np.maximum(margin * (boxes[:, 2] - boxes[:, 0]), 4.0)
    grow_y = np.maximum(margin * (boxes[:, 3] - boxes[:, 1]), 4.0)
    x0 = np.clip(np.floor(boxes[:, 0] - grow_x), 0, w)
    y0 = np.clip(np.floor(boxes[:, 1] - grow_y), 0, h)
    x1 = np.clip(np.ceil(boxes[:, 2] + grow_x), 0, w)
    y1 = np.clip(np.ceil(boxes[:, 3] + grow_y), 0, h)
    return np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)


def crop_size(window: np.ndarray, scale: float | None, cap: int) -> int:
    """The network input size (longer side, a multiple of 32, 64 to ``cap``) for a crop ``window``:
    the crop at ``scale`` (the full pass's input pixels per frame pixel, so that the person looks as
    large to the network as in a full detection), or ``cap`` when ``scale`` is ``None``.

    >>> crop_size(np.array([0, 0, 60, 150]), 1.25, 320), crop_size(np.array([0, 0, 60, 150]), None, 256)
    (192, 256)
    """
    if scale is None:
        return cap
    longer = max(int(window[2] - window[0]), int(window[3] - window[1]))
    return int(np.clip(-(-longer * scale // 32) * 32, 64, cap))


def pose_in_crops(
    predict: Predict,
    image: np.ndarray,
    people: People,
    *,
    size: int,
    conf: float,
    margin: float,
    scale: float | None = None,
) -> tuple[People, np.ndarray]:
    """``people`` re-measured on crops of ``image``; and which rows the network matched.

    ``predict(crops, size, conf)`` is the detector's network pass (one :class:`People` per crop, in
    crop pixels). Each crop goes in at :func:`crop_size` (``size`` is the cap; with ``scale``, the
    crop keeps the full pass's scale). Row ``i`` of the result is row ``i`` of ``people`` (same
    track id), with the matched crop person's score and keypoints in frame pixels and a box that
    spans both the carried box and theirs, or unchanged where none matched (``IoU`` with the carried
    box below :data:`MIN_MATCH_IOU`).
    """
    out = People(
        xyxy=people.xyxy.astype(np.float32).copy(),
        score=people.score.astype(np.float32).copy(),
        keypoints=people.keypoints.astype(np.float32).copy(),
        track_id=people.track_id,
        estimated=people.estimated,
    )
    matched = np.zeros(len(people), bool)
    if not len(people):
        return out, matched
    windows = crop_windows(people.xyxy, image.shape[:2], margin=margin)
    for i, window in enumerate(windows):
        x0, y0, x1, y1 = (int(v) for v in window)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        candidates = predict([image[y0:y1, x0:x1]], crop_size(window, scale, size), conf)[0]
        if not len(candidates):
            continue
        candidates = candidates[np.arange(len(candidates))]  # a copy, shifted into frame pixels
        shift_people(candidates, x0, y0)
        boxes = candidates.xyxy.astype(np.float64)
        overlap = box_iou(out.xyxy[i : i + 1].astype(np.float64), boxes)[0]
        best = int(np.argmax(overlap))
        if overlap[best] < MIN_MATCH_IOU:
            continue
        # the box keeps the carried one as well (where the person was and where the flow puts them):
        # a crop box a little off for someone moving fast still leaves them inside the region
        out.xyxy[i, :2] = np.minimum(out.xyxy[i, :2], boxes[best, :2])
        out.xyxy[i, 2:] = np.maximum(out.xyxy[i, 2:], boxes[best, 2:])
        out.score[i] = candidates.score[best]
        out.keypoints[i] = candidates.keypoints[best]
        matched[i] = True
    return out, matched


def people_in_windows(
    predict: Predict, image: np.ndarray, windows: np.ndarray, *, scale: float, cap: int, conf: float
) -> tuple[People, bool]:
    """The people the network finds in each window ``(n, 4)`` of ``image`` (x0, y0, x1, y1, frame
    pixels), each window at ``scale`` (the full pass's input pixels per frame pixel, at most
    ``cap`` px), in frame pixels; and whether any of them touches a window side that is not the
    frame's (a person the window cuts, whom only a full detection sees whole).

    >>> import numpy as np
    >>> def predict(crops, size, conf):  # one person at the window's left side
    ...     return [People(xyxy=np.array([[0.0, 10, 20, 50]]), score=np.array([0.9]))]
    >>> image = np.zeros((100, 200, 3), np.uint8)
    >>> window = np.array([[50, 0, 120, 60]])
    >>> found, cut = people_in_windows(predict, image, window, scale=1.0, cap=640, conf=0.2)
    >>> found.xyxy.tolist(), cut
    ([[50.0, 10.0, 70.0, 50.0]], True)
    """
    h, w = image.shape[:2]
    parts, cut = [], False
    for window in np.asarray(windows, np.int64).reshape(-1, 4):
        x0, y0, x1, y1 = (int(v) for v in window)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        found = predict([image[y0:y1, x0:x1]], crop_size(window, scale, cap), conf)[0]
        if not len(found):
            continue
        found = found[np.arange(len(found))]  # a copy, shifted into frame pixels
        shift_people(found, x0, y0)
        inner = [x0 > 0, y0 > 0, x1 < w, y1 < h]  # window sides inside the frame
        edge = np.stack(
            [
                found.xyxy[:, 0] <= x0 + 2,
                found.xyxy[:, 1] <= y0 + 2,
                found.xyxy[:, 2] >= x1 - 2,
                found.xyxy[:, 3] >= y1 - 2,
            ],
            axis=1,
        )
        cut |= bool((edge & np.array(inner)).any())
        parts.append(found)
    return (People.merge(parts) if parts else People.empty()), cut
