"""Pre- and post-processing around an exported YOLO pose network, in NumPy, for every inference engine.

What Ultralytics' predictor does around the network: letterbox each RGB frame into the network input
(:func:`letterbox`, :func:`input_batch`), then turn the raw head output ``(batch, 56, anchors)`` (box
centre x, y, width, height, the person score and 17 keypoints × (x, y, confidence), in input pixels) into
:class:`~recanon_sdk.types.People` in frame pixels (:func:`decode_pose`: threshold, greedy NMS
(:func:`nms`), undo the letterbox, clip). No engine is imported here: ONNX Runtime and OpenVINO share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recanon_sdk.errors import ModelError
from recanon_sdk.types import People

#: Values per anchor in the YOLO pose head output: 4 box + 1 score + 17 × 3 keypoints.
POSE_ROW = 4 + 1 + 17 * 3
#: Candidates kept for NMS, highest scores first (as Ultralytics' ``max_nms``).
MAX_CANDIDATES = 30000


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How one frame was placed in the network input: scale per axis and the top-left padding."""

    gain_x: float
    gain_y: float
    pad_x: int
    pad_y: int
    width: int  # of the original frame
    height: int


def letterbox(
    image: np.ndarray, size: tuple[int, int], *, rect: bool, stride: int = 32
) -> tuple[np.ndarray, Letterbox]:
    """Resize ``image`` (H, W, C) into ``size`` (h, w) keeping its aspect, pad with 114, centred.

    With ``rect`` the padding is only what makes each side a multiple of ``stride`` (as Ultralytics
    does for a batch of equal shapes), so the result may be smaller than ``size``.

    >>> out, box = letterbox(np.zeros((720, 1280, 3), np.uint8), (960, 960), rect=True)
    >>> out.shape, box.pad_y
    ((544, 960, 3), 2)
    """
    import cv2

    h, w = image.shape[:2]
    r = min(size[0] / h, size[1] / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = size[1] - new_w, size[0] - new_h
    if rect:
        dw, dh = dw % stride, dh % stride
    top, bottom = round(dh / 2 - 0.1), round(dh / 2 + 0.1)
    left, right = round(dw / 2 - 0.1), round(dw / 2 + 0.1)
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if top or bottom or left or right:
        image = cv2.copyMakeBorder(
            image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114)
        )
    return image, Letterbox(new_w / w, new_h / h, left, top, w, h)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float, max_keep: int) -> np.ndarray:
    """Indices kept by greedy NMS (highest score first; a box goes if its IoU with a kept one > threshold).

    >>> boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], np.float32)
    >>> nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5, 10).tolist()
    [0, 2]
    """
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size and len(keep) < max_keep:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        ix = np.clip(
            np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None
        )
        iy = np.clip(
            np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None
        )
        inter = ix * iy
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_pose(
    output: np.ndarray, placement: Letterbox, *, conf: float, iou: float, max_people: int
) -> People:
    """The people in one image's raw head output ``(56, anchors)``, in the original frame's pixels.

    >>> raw = np.zeros((56, 3), np.float32)
    >>> raw[:4, 0] = [50, 50, 20, 40]; raw[4, 0] = 0.9          # one person box at (40, 30)-(60, 70)
    >>> people = decode_pose(raw, Letterbox(1.0, 1.0, 0, 0, 100, 100), conf=0.2, iou=0.6, max_people=10)
    >>> people.xyxy.tolist(), len(people)
    ([[40.0, 30.0, 60.0, 70.0]], 1)
    """
    if output.ndim != 2 or output.shape[0] != POSE_ROW:
        raise ModelError(f"pose model output has shape {output.shape}, expected ({POSE_ROW}, anchors)")
    scores = output[4]
    candidates = np.flatnonzero(scores > conf)
    if not candidates.size:
        return People.empty()
    if candidates.size > MAX_CANDIDATES:
        candidates = candidates[np.argsort(-scores[candidates], kind="stable")[:MAX_CANDIDATES]]
    rows = output[:, candidates].T.astype(np.float32)  # (n, 56)
    cx, cy, bw, bh = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
    keep = nms(xyxy, rows[:, 4], iou, max_people)
    xyxy, score = xyxy[keep], rows[keep, 4]
    keypoints = rows[keep, 5:].reshape(-1, 17, 3).copy()
    p = placement
    xyxy[:, [0, 2]] = ((xyxy[:, [0, 2]] - p.pad_x) / p.gain_x).clip(0, p.width)
    xyxy[:, [1, 3]] = ((xyxy[:, [1, 3]] - p.pad_y) / p.gain_y).clip(0, p.height)
    keypoints[:, :, 0] = ((keypoints[:, :, 0] - p.pad_x) / p.gain_x).clip(0, p.width)
    keypoints[:, :, 1] = ((keypoints[:, :, 1] - p.pad_y) / p.gain_y).clip(0, p.height)
    return People(xyxy=xyxy, score=score, keypoints=keypoints)


def input_batch(images: Sequence[np.ndarray], dtype: type = np.float32) -> np.ndarray:
    """Letterboxed ``(h, w, 3)`` uint8 images of one shape as the network input ``(n, 3, h, w)`` in [0, 1].

    >>> batch = input_batch([np.full((2, 4, 3), 255, np.uint8)] * 2)
    >>> batch.shape, float(batch.max()), batch.dtype.name
    ((2, 3, 2, 4), 1.0, 'float32')
    """
    import cv2

    h, w = images[0].shape[:2]
    batch = np.empty((len(images), 3, h, w), np.float32)
    for i, image in enumerate(images):
        for c, plane in enumerate(cv2.split(image)):  # contiguous planes: a third faster than a transpose
            batch[i, c] = plane
    batch /= 255.0
    return batch.astype(dtype, copy=False)
