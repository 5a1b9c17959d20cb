"""Person crops ↔ the fixed-size float batches GX and GY take (NumPy and OpenCV only).

One implementation for every backend, so torch and ONNX Runtime see the same input pixels: crops are
resized to the model's input size (area interpolation when shrinking, bilinear when enlarging),
scaled to [0, 1] and stacked as ``(B, 3, H, W)`` float32; outputs are clipped, rounded to uint8 and
resized back (bilinear) to each crop's shape.

>>> import numpy as np
>>> batch = crops_to_batch([np.full((150, 70, 3), 255, np.uint8)], (128, 64))
>>> batch.shape, float(batch.max())
((1, 3, 128, 64), 1.0)
>>> [c.shape for c in batch_to_crops(batch, [(150, 70, 3)])]
[(150, 70, 3)]
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def crops_to_batch(crops: Sequence[np.ndarray], size: tuple[int, int] | None) -> np.ndarray:
    """Stack uint8 RGB crops as float32 ``(B, 3, H, W)`` in [0, 1], each resized to ``size`` (h, w).

    ``size=None`` keeps the crops' own (equal) shapes. Raises :class:`ValueError` for anything but
    non-empty ``(h, w, 3)`` uint8 arrays.
    """
    images = []
    for crop in crops:
        if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3 or crop.size == 0:
            raise ValueError(f"crops must be non-empty (h, w, 3) uint8 arrays, got {crop.dtype} {crop.shape}")
        if size is not None and crop.shape[:2] != tuple(size):
            shrink = crop.shape[0] * crop.shape[1] > size[0] * size[1]
            crop = cv2.resize(
                crop, (size[1], size[0]), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            )
        images.append(crop)
    return np.stack(images).transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)


def batch_to_crops(batch: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """Inverse of :func:`crops_to_batch`: uint8 RGB images resized back to each crop's shape."""
    out = []
    for image, shape in zip(batch, shapes, strict=True):
        pixels = (
            (np.clip(np.asarray(image, np.float32).transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)
        )
        if pixels.shape[:2] != tuple(shape[:2]):
            pixels = cv2.resize(pixels, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
        out.append(pixels)
    return out


def head_pin_masks(
    heads: Sequence[np.ndarray | None] | None,
    shapes: Sequence[tuple[int, ...]],
    size: tuple[int, int],
    block: int = 8,
    *,
    head_scale: float = 0.0,
    whole_sigma: float = 1.0,
) -> np.ndarray:
    """Where a head-pinned GX pins its output: float32 ``(B, 1, H, W)``, 1 on every ``block × block``
    block of the ``size`` portrait that a head box touches, 0 elsewhere.

    ``heads[i]`` holds crop ``i``'s head boxes in its own pixels (``(k, 4)`` x0, y0, x1, y1, from
    :func:`recanon_sdk.geometry.heads_in_regions`), scaled here to the portrait. ``None`` (this
    person's head is unknown), or ``heads`` itself ``None``, pins the whole portrait: failing closed.

    With ``head_scale`` > 0 (a GX that sizes its blur to each head, ``PinConfig.head_scale``) a
    head's blocks hold that head's blur σ in portrait pixels instead of 1: ``head_scale`` × the
    longer side of its box (at least 1; the larger where boxes overlap), and a portrait whose head is
    unknown holds ``whole_sigma`` everywhere.

    >>> m = head_pin_masks([np.array([[4.0, 0, 12, 12]]), None], [(64, 32, 3), (64, 32, 3)], (128, 64))
    >>> m.shape, int(m[0].sum()) // 64, float(m[1].mean())   # 2 × 3 blocks of 8 × 8; all of it
    ((2, 1, 128, 64), 6, 1.0)
    >>> s = head_pin_masks([np.array([[4.0, 0, 12, 12]]), None], [(64, 32, 3)] * 2, (128, 64),
    ...                    head_scale=0.1, whole_sigma=12.8)
    >>> round(float(s[0].max()), 3), round(float(s[1].min()), 3)  # σ = 0.1 × 24 px; unknown: all
    (2.4, 12.8)
    """
    h, w = size
    fill = whole_sigma if head_scale else 1.0
    masks = np.full((len(shapes), 1, h, w), fill, np.float32)
    if heads is None:
        return masks
    for mask, boxes, shape in zip(masks, heads, shapes, strict=True):
        if boxes is None:
            continue
        mask[...] = 0
        sy, sx = h / shape[0], w / shape[1]
        for x0, y0, x1, y1 in np.asarray(boxes, np.float64).reshape(-1, 4):
            bx0, by0 = max(0, int(np.floor(x0 * sx / block))), max(0, int(np.floor(y0 * sy / block)))
            bx1, by1 = int(np.ceil(x1 * sx / block)), int(np.ceil(y1 * sy / block))
            value = max(1.0, head_scale * max((x1 - x0) * sx, (y1 - y0) * sy)) if head_scale else 1.0
            area = mask[0, by0 * block : by1 * block, bx0 * block : bx1 * block]
            np.maximum(area, value, out=area)
    return masks
