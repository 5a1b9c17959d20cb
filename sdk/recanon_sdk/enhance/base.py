"""The enhancer interface: person crops in, privacy-enhanced crops out, batched.

Every way of hiding a person (blur, pixelate, mask, the learned GX) implements :class:`Enhancer`.
The pipeline's :class:`~recanon_sdk.geometry.CropGeometry` cuts the crops and pastes the results
back; an enhancer never sees the whole frame.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Enhancer(Protocol):
    """Turns person crops into privacy-enhanced renderings of the same size.

    ``input_size`` is the (height, width) that crops are resized to before :meth:`enhance`, or
    ``None`` when the enhancer works at each crop's native size (its strength then scales with it).

    An enhancer that treats heads differently (a head-pinned GX) sets ``wants_heads = True`` and
    accepts ``enhance(crops, heads=...)``: per crop, the head boxes inside it in its own pixels
    (:func:`recanon_sdk.geometry.heads_in_regions`), ``None`` where the person's head is unknown.

    An enhancer that draws the pose (the ``skeleton`` enhancer) sets ``wants_keypoints = True`` and
    accepts ``enhance(crops, keypoints=...)``: per crop, that person's ``(17, 3)`` keypoints in the
    crop's own pixels (scaled like the crop when ``input_size`` resizes it), ``None`` where there are
    none. Either way the crop must come back fully replaced: nothing of the person may stay raw.
    """

    name: str
    input_size: tuple[int, int] | None

    def enhance(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Each crop ``(h, w, 3)`` uint8 RGB in, a new array of the same shape out (inputs untouched)."""
        ...


def check_crops(crops: list[np.ndarray]) -> None:
    """Raise ``ValueError`` unless every crop is a non-empty ``(h, w, 3)`` uint8 array."""
    for i, crop in enumerate(crops):
        if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3 or crop.size == 0:
            raise ValueError(
                f"crop {i} must be a non-empty (h, w, 3) uint8 array, got {crop.dtype} {crop.shape}"
            )
