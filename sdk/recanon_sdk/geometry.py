"""Crop geometry in one place: box → anonymized region → crop → (resize) → paste back with a feathered edge.

The anonymizer uses it to cut people out of a frame and paste their enhanced renderings back; the
recoverer (later) uses the very same regions, read from the pose sidecar, to paste recoveries back.

>>> import numpy as np
>>> geometry = CropGeometry(margin=0.1, feather=0.0)
>>> regions = geometry.regions(np.array([[10, 10, 30, 50]], np.float32), frame_size=(100, 100))
>>> regions.tolist()
[[8, 6, 32, 54]]
>>> image = np.zeros((100, 100, 3), np.uint8)
>>> crops = geometry.extract(image, regions)
>>> crops[0].shape
(48, 24, 3)
>>> out = geometry.paste(image, regions, [np.full_like(crops[0], 255)])
>>> int(out[30, 20, 0]), int(out[0, 0, 0]), int(image[30, 20, 0])
(255, 0, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class CropGeometry:
    """How a person box becomes the rectangle that gets anonymized.

    ``margin`` widens the box by that fraction of its width (each side) and height (each side), so
    hair, hands and the outline are covered even when the box is tight. ``feather`` is the width of
    the soft edge as a fraction of the region's shorter side: the paste-back blends from the
    rendering (inside) to the original (outside) across the outer part of the margin only, so the
    person box itself is always fully replaced.
    """

    #: 0.2 by default. Measured on crowd composites (``benchmarks/crowd_coverage.py``): people partly
    #: hidden behind others stick out of their neighbours' regions; 0.12 left 1.6 % of 498 pasted
    #: people < 90 % covered, 0.2 left 0.8 %.
    margin: float = 0.2
    feather: float = 0.06

    def __post_init__(self) -> None:
        if not 0.0 <= self.margin <= 2.0:
            raise ValueError(f"margin must be within [0, 2], got {self.margin}")
        if not 0.0 <= self.feather <= 0.25:
            raise ValueError(f"feather must be within [0, 0.25], got {self.feather}")
        if self.feather > self.margin / (1 + 2 * self.margin):
            # The feather ramp must stay inside the margin: otherwise raw pixels of the person would mix in.
            object.__setattr__(self, "feather", self.margin / (1 + 2 * self.margin))

    def regions(
        self, xyxy: np.ndarray, frame_size: tuple[int, int], keypoints: np.ndarray | None = None
    ) -> np.ndarray:
        """Integer regions ``(n, 4)`` x0, y0, x1, y1 (x1, y1 exclusive), clipped to ``frame_size`` (h, w).

        With ``keypoints`` (n, 17, 3), each box is first grown by :func:`cover_head` so that the head
        is inside even when the detector's box leaves it out (close-ups often do).
        """
        height, width = frame_size
        boxes = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
        if keypoints is not None:
            boxes = cover_head(boxes, np.asarray(keypoints, dtype=np.float64).reshape(-1, 17, 3))
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        x0 = np.floor(boxes[:, 0] - self.margin * w)
        y0 = np.floor(boxes[:, 1] - self.margin * h)
        x1 = np.ceil(boxes[:, 2] + self.margin * w)
        y1 = np.ceil(boxes[:, 3] + self.margin * h)
        out = np.stack([x0, y0, x1, y1], axis=1)
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, width)
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, height)
        # Degenerate boxes still cover at least one pixel when they lie inside the frame.
        out[:, 2] = np.maximum(out[:, 2], np.minimum(out[:, 0] + 1, width))
        out[:, 3] = np.maximum(out[:, 3], np.minimum(out[:, 1] + 1, height))
        return out.astype(np.int32)

    def extract(
        self, image: np.ndarray, regions: np.ndarray, size: tuple[int, int] | None = None
    ) -> list[np.ndarray]:
        """Copy each region out of ``image``; resize to ``size`` (h, w) when given."""
        crops = []
        for x0, y0, x1, y1 in np.asarray(regions).reshape(-1, 4):
            crop = image[y0:y1, x0:x1]
            if size is not None and crop.shape[:2] != tuple(size):
                interpolation = cv2.INTER_AREA if crop.shape[0] > size[0] else cv2.INTER_LINEAR
                crop = cv2.resize(crop, (size[1], size[0]), interpolation=interpolation)
            crops.append(np.ascontiguousarray(crop))
        return crops

    def paste(
        self,
        image: np.ndarray,
        regions: np.ndarray,
        patches: list[np.ndarray],
        protect: np.ndarray | None = None,
    ) -> np.ndarray:
        """Return a copy of ``image`` with each patch blended into its region (never mutates ``image``).

        ``protect`` (n, 4): the person boxes inside the regions; every pixel of them is taken from
        the patch whatever the feather (see :meth:`paste_inplace`).
        """
        out = image.copy()
        self.paste_inplace(out, regions, patches, protect)
        return out

    def paste_inplace(
        self,
        out: np.ndarray,
        regions: np.ndarray,
        patches: list[np.ndarray],
        protect: np.ndarray | None = None,
    ) -> None:
        """Blend each patch into ``out`` in place; patches of another size are resized to their region.

        The feathered edge lies in the margin around the person: a side of the region that touches
        the frame border has no margin to blend in (the person may reach the border), so it gets no
        ramp and is replaced fully up to the border. With ``protect`` (the person boxes, one per
        region, frame pixels), every pixel of each box is replaced fully as well, whatever the
        margin and the rounding: the rendering never mixes with raw pixels of the person.

        >>> geometry = CropGeometry(margin=0.1, feather=0.08)
        >>> image = np.zeros((40, 40, 3), np.uint8)
        >>> regions = geometry.regions(np.array([[0.0, 0, 20, 30]]), image.shape[:2])
        >>> out = geometry.paste(image, regions, [np.full((33, 22, 3), 200, np.uint8)])
        >>> regions.tolist(), int(out[0, 0, 0]), int(out[32, 10, 0]) < 200   # at the border: no ramp
        ([[0, 0, 22, 33]], 200, True)
        """
        frame_h, frame_w = out.shape[:2]
        boxes = None if protect is None else np.asarray(protect, np.float64).reshape(-1, 4)
        for i, ((x0, y0, x1, y1), patch) in enumerate(
            zip(np.asarray(regions).reshape(-1, 4), patches, strict=True)
        ):
            h, w = int(y1 - y0), int(x1 - x0)
            if h <= 0 or w <= 0:
                continue
            if patch.shape[:2] != (h, w):
                interpolation = cv2.INTER_AREA if patch.shape[0] > h else cv2.INTER_LINEAR
                patch = cv2.resize(patch, (w, h), interpolation=interpolation)
            feather_px = round(self.feather * min(h, w))
            target = out[y0:y1, x0:x1]
            if feather_px < 1:
                target[...] = patch
                continue
            ramps = (x0 > 0, y0 > 0, x1 < frame_w, y1 < frame_h)  # sides with room for a margin
            alpha = _feather_mask(h, w, feather_px, ramps)
            if boxes is not None and i < len(boxes):
                alpha = _protected(alpha, boxes[i], (int(x0), int(y0), int(x1), int(y1)))
            # inside the ramps alpha is exactly 1: copy the patch there, blend only the edge strips
            left, top, right, bottom = (feather_px if ramp else 0 for ramp in ramps)
            cy0, cy1, cx0, cx1 = top, h - bottom, left, w - right
            if cy1 <= cy0 or cx1 <= cx0:
                _blend(target, patch, alpha)
                continue
            target[cy0:cy1, cx0:cx1] = patch[cy0:cy1, cx0:cx1]
            for rows, cols in (
                (slice(0, cy0), slice(0, w)),
                (slice(cy1, h), slice(0, w)),
                (slice(cy0, cy1), slice(0, cx0)),
                (slice(cy0, cy1), slice(cx1, w)),
            ):
                _blend(target[rows, cols], patch[rows, cols], alpha[rows, cols])


def _blend(target: np.ndarray, patch: np.ndarray, alpha: np.ndarray) -> None:
    """``target`` ← ``alpha`` × ``patch`` + (1 − ``alpha``) × ``target``, rounded, in place."""
    if target.size:
        blended = alpha * patch.astype(np.float32) + (1.0 - alpha) * target.astype(np.float32)
        target[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _protected(alpha: np.ndarray, box: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """``alpha`` with 1 on every pixel of ``box`` (frame pixels, any part of a pixel counts)."""
    if not np.isfinite(box).all():
        return np.ones_like(alpha)  # fail closed: no ramp anywhere
    x0, y0, x1, y1 = region
    bx0 = int(np.clip(np.floor(box[0]) - x0, 0, x1 - x0))
    by0 = int(np.clip(np.floor(box[1]) - y0, 0, y1 - y0))
    bx1 = int(np.clip(np.ceil(box[2]) - x0, 0, x1 - x0))
    by1 = int(np.clip(np.ceil(box[3]) - y0, 0, y1 - y0))
    if bx1 <= bx0 or by1 <= by0 or alpha[by0:by1, bx0:bx1].min() >= 1.0:
        return alpha
    alpha = alpha.copy()
    alpha[by0:by1, bx0:bx1] = 1.0
    return alpha


#: COCO-17 indices of the face keypoints (nose, eyes, ears).
FACE_KEYPOINTS = (0, 1, 2, 3, 4)
#: Hips and knees: a head box is placed only for people the detector sees this much of.
LOWER_BODY_KEYPOINTS = (11, 12, 13, 14)


def cover_head(boxes: np.ndarray, keypoints: np.ndarray, *, keypoint_conf: float = 0.3) -> np.ndarray:
    """Grow person boxes so that they surely contain the head (a missed face is a privacy leak).

    Three rules, measured on close-up portraits where YOLO's person box starts at the shoulders or
    at the nose:

    1. every keypoint with confidence ≥ ``keypoint_conf`` lies inside the box (plus 10 % of the box
       width around it);
    2. the top reaches at least 0.6 box widths above the highest confident face keypoint (nose,
       eyes, ears): a face that fills the frame is often boxed from the nose down (ORL crops);
    3. unless a face keypoint with confidence ≥ 0.5 lies inside the box at least 10 % of the box
       width below its top (the head is evidently inside), the box is extended upwards by
       ``min(0.6 × width, 0.35 × height)``: the head sits on top of the body.

    >>> box = np.array([[100.0, 300.0, 300.0, 800.0]])          # shoulders down, head above
    >>> cover_head(box, np.zeros((1, 17, 3))).round().tolist()
    [[100.0, 180.0, 300.0, 800.0]]
    >>> kpts = np.zeros((1, 17, 3)); kpts[0, 0] = (200, 500, 0.9)   # nose well inside: room above it
    >>> cover_head(box, kpts).round().tolist()
    [[100.0, 300.0, 300.0, 800.0]]
    >>> kpts[0, 0] = (200, 340, 0.9)                               # nose near the top: grow upwards
    >>> cover_head(box, kpts).round().tolist()
    [[100.0, 220.0, 300.0, 800.0]]
    """
    out = boxes.astype(np.float64).copy()
    for i, (box, points) in enumerate(zip(boxes, keypoints, strict=True)):
        x0, y0, x1, y1 = box
        w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        confident = points[points[:, 2] >= keypoint_conf, :2]
        if len(confident):
            pad = 0.1 * w
            out[i, 0] = min(out[i, 0], confident[:, 0].min() - pad)
            out[i, 1] = min(out[i, 1], confident[:, 1].min() - pad)
            out[i, 2] = max(out[i, 2], confident[:, 0].max() + pad)
            out[i, 3] = max(out[i, 3], confident[:, 1].max() + pad)
        face = points[list(FACE_KEYPOINTS)]
        seen = face[face[:, 2] >= keypoint_conf]
        if len(seen):
            out[i, 1] = min(out[i, 1], seen[:, 1].min() - 0.6 * w)
        evident = (
            (face[:, 2] >= 0.5)
            & (face[:, 0] >= x0)
            & (face[:, 0] <= x1)
            & (face[:, 1] >= y0 + 0.1 * w)
            & (face[:, 1] <= y1)
        )
        if not evident.any():
            out[i, 1] = min(out[i, 1], y0 - min(0.6 * w, 0.35 * h))
    return out


def head_boxes(
    keypoints: np.ndarray, boxes: np.ndarray, *, keypoint_conf: float = 0.3, bust_conf: float = 0.5
) -> np.ndarray:
    """Where each person's head is, generously, from the face keypoints: ``(n, 4)`` x0, y0, x1, y1.

    The centre is the mean of the confident face keypoints (nose, eyes, ears; confidence ≥
    ``keypoint_conf``); the half-size ``r`` is the largest of 0.75 × their spread, 0.35 × the
    shoulder width (both shoulders confident), 0.07 × the person box height and 0.15 × its width
    (a standing person's head is about an eighth of their height); the box reaches ``1.3 r`` left
    and right, ``1.6 r`` up (hair) and ``1.3 r`` down (chin).

    A person seen from the waist up (no hip or knee; a "bust") gets a head box too when the face is
    seen whole and square above shoulders as wide as a body's (:func:`_is_bust`, every keypoint
    involved ≥ ``bust_conf``); then ``r`` is at least 0.45 × the shoulder width and 0.25 × the
    person box width (a head is about 0.4 shoulder widths wide).

    A row is NaN — the head's place is unknown, and whoever uses the boxes must treat the whole
    person as head (fail closed) — where no face keypoint is confident, or neither a body (hip or
    knee) nor a bust (shoulders as above) is seen, or the hips and knees seen lie closer to the face
    than a torso (4 ``r``; 2 ``r`` when the person box is wider than tall, someone lying down): the
    keypoints place heads well only on people whose body the detector sees. On close-ups (ORL's
    faces filling the frame) YOLO11n-pose puts the face keypoints on one eye or the nose, and hips
    inside the face, and boxes from them covered on average 65 % of the face YuNet finds (a quarter
    of the faces less than half).

    >>> box = np.array([[0.0, 0.0, 60.0, 200.0]])
    >>> kpts = np.zeros((1, 17, 3)); kpts[0, 0] = (30, 20, 0.9)     # the nose ...
    >>> kpts[0, 11] = (25, 110, 0.8)                                 # ... and a hip are seen
    >>> head_boxes(kpts, box).round(1).tolist()
    [[11.8, -2.4, 48.2, 38.2]]
    >>> kpts[0, 11, 2] = 0.1                                         # no hip or knee ...
    >>> bool(np.isnan(head_boxes(kpts, box)).all())
    True
    >>> kpts[0, 1:5] = [(26, 17, 0.9), (34, 17, 0.9), (22, 19, 0.9), (38, 19, 0.9)]
    >>> kpts[0, 5:7] = [(10, 50, 0.9), (50, 50, 0.9)]               # ... but face and shoulders: a bust
    >>> head_boxes(kpts, box).round(1).tolist()
    [[6.6, -10.4, 53.4, 41.8]]
    >>> bool(np.isnan(head_boxes(np.zeros((1, 17, 3)), box)).all())  # no face keypoint: unknown
    True
    """
    keypoints = np.asarray(keypoints, np.float64).reshape(-1, 17, 3)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    out = np.full((len(keypoints), 4), np.nan)
    for i, (points, box) in enumerate(zip(keypoints, boxes, strict=True)):
        face = points[list(FACE_KEYPOINTS)]
        seen = face[face[:, 2] >= keypoint_conf, :2]
        body = points[list(LOWER_BODY_KEYPOINTS)]
        below = body[body[:, 2] >= keypoint_conf, :2]
        if not len(seen):
            continue
        cx, cy = seen.mean(axis=0)
        spread = float((seen.max(axis=0) - seen.min(axis=0)).max())
        r = max(0.75 * spread, 0.07 * (box[3] - box[1]), 0.15 * (box[2] - box[0]), 1.0)
        shoulders = points[[5, 6]]
        width = float(np.hypot(*(shoulders[0, :2] - shoulders[1, :2])))
        if (shoulders[:, 2] >= keypoint_conf).all():
            r = max(r, 0.35 * width)
        if not len(below):
            if not _is_bust(points, width, float(box[2] - box[0]), bust_conf):
                continue
            r = max(r, 0.45 * width, 0.25 * (box[2] - box[0]))
            out[i] = (cx - 1.3 * r, cy - 1.6 * r, cx + 1.3 * r, cy + 1.3 * r)
            continue
        # a body, not a face mistaken for one: the hips/knees lie a torso away from the face
        # (4 r upright; 2 r for someone lying down, whose box is wider than tall)
        torso = 4.0 if box[3] - box[1] >= box[2] - box[0] else 2.0
        if float(np.hypot(*(below.mean(axis=0) - (cx, cy)))) < torso * r:
            continue
        out[i] = (cx - 1.3 * r, cy - 1.6 * r, cx + 1.3 * r, cy + 1.3 * r)
    return out


def _is_bust(points: np.ndarray, width: float, box_width: float, conf: float) -> bool:
    """A person seen from the waist up, not a close-up read as a body: all five face keypoints and both
    shoulders confident (≥ ``conf``), the shoulders (``width`` apart) at least half their width below
    the lowest face keypoint and on either side of the face, as wide as half the person box at least,
    and the face (ear to ear) no wider than 0.6 of them. Measured on the shared clips and ORL's close-ups
    (research/LOG.md, "Where should the head pin go?")."""
    face, shoulders = points[list(FACE_KEYPOINTS)], points[[5, 6]]
    if not ((face[:, 2] >= conf).all() and (shoulders[:, 2] >= conf).all()):
        return False
    spread = float(np.ptp(face[:, 0]))
    left, right = sorted(shoulders[:, 0])
    return bool(
        shoulders[:, 1].min() - face[:, 1].max() >= 0.5 * width
        and ((face[:, 0] >= left) & (face[:, 0] <= right)).all()
        and width >= 0.5 * box_width
        and spread <= 0.6 * width
    )


def heads_in_regions(
    regions: np.ndarray, heads: np.ndarray, size: tuple[int, int] | None = None
) -> list[np.ndarray | None]:
    """For each region, the head boxes that overlap it, in the region's own pixel coordinates (or,
    with ``size`` (h, w), in those of the region resized to ``size``, as :meth:`CropGeometry.extract`
    cuts it).

    ``regions`` (n, 4) and ``heads`` (n, 4) (from :func:`head_boxes`, NaN = unknown) are per person
    in frame coordinates. Region ``i`` gets ``None`` when its own person's head is unknown (treat the
    whole region as head); otherwise an ``(k, 4)`` array with every head that overlaps it, its own
    and other people's (a bystander's face inside a crop needs protecting too). A person whose head
    is unknown counts as head all over: their whole region is a "head box" in everyone else's crop
    (the crops are pasted one over another, and an overlapping crop must not show their face).

    >>> regions = np.array([[0, 0, 50, 100], [40, 0, 90, 100]])
    >>> heads = np.array([[10.0, 5, 30, 25], [45, 5, 65, 25]])
    >>> [h.tolist() for h in heads_in_regions(regions, heads)]
    [[[10.0, 5.0, 30.0, 25.0], [45.0, 5.0, 65.0, 25.0]], [[5.0, 5.0, 25.0, 25.0]]]
    >>> heads_in_regions(regions, heads, size=(200, 100))[1].tolist()   # the crops resized 2×
    [[10.0, 10.0, 50.0, 50.0]]
    >>> unknown = heads_in_regions(regions, np.array([[np.nan] * 4, [45, 5, 65, 25]]))
    >>> unknown[0] is None, unknown[1].tolist()   # person 0's whole region is head in region 1
    (True, [[-40.0, 0.0, 10.0, 100.0], [5.0, 5.0, 25.0, 25.0]])
    """
    regions = np.asarray(regions, np.float64).reshape(-1, 4)
    heads = np.asarray(heads, np.float64).reshape(-1, 4)
    known = np.where(np.isnan(heads).any(axis=1, keepdims=True), regions, heads)
    out: list[np.ndarray | None] = []
    for region, own in zip(regions, heads, strict=True):
        if np.isnan(own).any():
            out.append(None)
            continue
        x0, y0, x1, y1 = region
        inside = (known[:, 2] > x0) & (known[:, 0] < x1) & (known[:, 3] > y0) & (known[:, 1] < y1)
        boxes = known[inside] - np.array([x0, y0, x0, y0])
        if size is not None:
            sx, sy = size[1] / max(x1 - x0, 1.0), size[0] / max(y1 - y0, 1.0)
            boxes = boxes * np.array([sx, sy, sx, sy])
        out.append(boxes)
    return out


@lru_cache(maxsize=256)
def _feather_mask(
    h: int, w: int, feather_px: int, ramps: tuple[bool, bool, bool, bool] = (True, True, True, True)
) -> np.ndarray:
    """(h, w, 1) float32: 1 inside, a linear ramp to ~0 over ``feather_px`` pixels at each edge whose
    flag in ``ramps`` (left, top, right, bottom) is set; the other edges stay at 1 up to the border."""
    left, top, right, bottom = ramps
    inf_x, inf_y = np.full(w, np.inf), np.full(h, np.inf)
    from_left = np.arange(w) + 1.0 if left else inf_x
    from_right = np.arange(w)[::-1] + 1.0 if right else inf_x
    from_top = np.arange(h) + 1.0 if top else inf_y
    from_bottom = np.arange(h)[::-1] + 1.0 if bottom else inf_y
    ramp_x = np.clip(np.minimum(from_left, from_right) / (feather_px + 1), 0, 1)
    ramp_y = np.clip(np.minimum(from_top, from_bottom) / (feather_px + 1), 0, 1)
    mask = np.minimum(ramp_y[:, None], ramp_x[None, :]).astype(np.float32)[:, :, None]
    mask.setflags(write=False)
    return mask


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union of boxes ``a`` (n, 4) and ``b`` (m, 4), x0, y0, x1, y1: (n, m).

    >>> boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    >>> box_iou(np.array([[0, 0, 10, 10]]), boxes).round(3).tolist()
    [[1.0, 0.333, 0.0]]
    """
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


#: The fail-closed rendering's cell size, as a fraction of the frame's longer side.
OBSCURE_CELL = 0.2


def obscure_whole_frame(image: np.ndarray, cell: float = OBSCURE_CELL) -> np.ndarray:
    """The fail-closed rendering: a frame so coarse that no person can be recognized in it.

    Pixelates to cells of ``cell`` (0.2) × the frame's longer side (1920 × 1080 keeps 5 × 3 colours),
    then smooths over one cell, so only the broad colours of the scene remain. The size is relative
    to the frame because a person may fill it: on ORL close-ups (a face filling a 92 × 112 frame,
    libx264 CRF 23) the former 12 cells across the shorter side left YuNet 78 % of the faces and
    dlib an AUC of 0.88 against the person's other photos; 0.2 leaves none and 0.52, as the Blur
    enhancer's (``benchmarks/fail_closed_faces.py``; docs/results.md, "Failed-closed frames").

    >>> frame = np.random.default_rng(0).integers(0, 255, (90, 160, 3), dtype=np.uint8)
    >>> out = obscure_whole_frame(frame)
    >>> out.shape == frame.shape and float(np.abs(out.astype(int) - frame).mean()) > 30
    True
    """
    h, w = image.shape[:2]
    px = max(1, round(cell * max(h, w)))
    small = cv2.resize(image, (max(1, round(w / px)), max(1, round(h / px))), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.blur(coarse, (px, px))
