"""The ``skeleton`` enhancer ("desensitize" look): each person becomes a plain fill plus their skeleton.

Nothing of the person's appearance is kept: the whole region is filled with the colours of the
background around the person (each row takes the mean of the region's leftmost and rightmost pixel
in that row, smoothed from top to bottom: the margin beside the person, so a wall above a floor stays
a wall above a floor) or with one colour you choose, and the COCO-17 skeleton the detector found is
drawn on it. For pose datasets and demos where only the
motion matters (OpenPose's and MediaPipe's "skeleton only" outputs).

An enhancer sees crops, not people: this one sets ``wants_keypoints = True`` and the anonymizer
passes, per crop, that person's keypoints in the crop's own pixels (``None`` where there are none,
e.g. a region held for someone the detector lost: then the crop is the plain fill alone). Wrong
keypoints raise, so the frame fails closed like any enhancer fault.

>>> import numpy as np
>>> crop = np.full((100, 50, 3), 40, np.uint8); crop[10:90, 10:40] = 200     # a bright "person"
>>> points = np.zeros((17, 3)); points[[5, 11]] = [(25, 20, 0.9), (25, 70, 0.9)]  # shoulder → hip
>>> out = Skeleton().enhance([crop], keypoints=[points])[0]
>>> out[90, 20].tolist(), out[45, 25].tolist()        # the fill (background colour), the limb
([40, 40, 40], [255, 255, 255])
>>> Skeleton().enhance([crop])[0][45, 25].tolist()      # no keypoints: the plain fill alone
[40, 40, 40]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from recanon_sdk.enhance.base import check_crops


@dataclass(frozen=True, slots=True)
class Skeleton:
    """A plain fill plus the person's skeleton.

    ``fill``: ``"background"`` (per row, the mean of the crop's first and last column, smoothed
    along the rows over 5 % of its height: the margin beside the person) or an RGB colour (a
    silhouette colour). ``line``: the skeleton's RGB colour (default: white or black, whichever
    contrasts with the fill). Keypoints below ``keypoint_conf`` are not drawn.
    """

    fill: str | tuple[int, int, int] = "background"
    line: tuple[int, int, int] | None = None
    keypoint_conf: float = 0.3
    name: str = "skeleton"
    input_size: tuple[int, int] | None = None
    wants_keypoints: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if isinstance(self.fill, str):
            if self.fill != "background":
                raise ValueError(f"Skeleton fill must be 'background' or an RGB colour, got {self.fill!r}")
        elif len(self.fill) != 3 or not all(0 <= int(v) <= 255 for v in self.fill):
            raise ValueError(f"Skeleton fill must be an RGB colour (0-255 each), got {self.fill!r}")
        if self.line is not None and (len(self.line) != 3 or not all(0 <= int(v) <= 255 for v in self.line)):
            raise ValueError(f"Skeleton line must be an RGB colour (0-255 each), got {self.line!r}")

    def fill_for(self, crop: np.ndarray) -> np.ndarray:
        """The fill of one crop: ``(h, 1, 3)`` uint8, one colour per row (broadcast over the row)."""
        h = crop.shape[0]
        if not isinstance(self.fill, str):
            return np.broadcast_to(np.asarray(self.fill, np.uint8), (h, 1, 3))
        sides = (crop[:, 0].astype(np.float32) + crop[:, -1].astype(np.float32)) / 2  # (h, 3)
        sigma = max(2.0, 0.05 * h)
        smooth = cv2.GaussianBlur(
            sides[:, None, :], (0, 0), sigmaX=0.1, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE
        )
        return np.clip(smooth.reshape(h, 1, 3) + 0.5, 0, 255).astype(np.uint8)

    def enhance(
        self, crops: list[np.ndarray], keypoints: Sequence[np.ndarray | None] | None = None
    ) -> list[np.ndarray]:
        """Each crop as its fill plus, where ``keypoints[i]`` is given ((17, 3) in the crop's pixels),
        the skeleton. Raises ``ValueError`` for keypoints of the wrong number, shape or value."""
        from recanon_sdk.draw import draw_skeleton

        check_crops(crops)
        if keypoints is None:
            keypoints = [None] * len(crops)
        if len(keypoints) != len(crops):
            raise ValueError(f"got keypoints for {len(keypoints)} crops, expected {len(crops)}")
        out = []
        for crop, points in zip(crops, keypoints, strict=True):
            fill = self.fill_for(crop)
            plain = np.empty_like(crop)
            plain[...] = fill
            if points is None:
                out.append(plain)
                continue
            points = np.asarray(points, np.float32)
            if points.shape != (17, 3) or not np.isfinite(points).all():
                raise ValueError(f"keypoints must be a finite (17, 3) array per crop, got {points.shape}")
            line = self.line
            if line is None:  # black on a light fill, white on a dark one
                light = float(fill.reshape(-1, 3).mean(axis=0) @ (0.299, 0.587, 0.114)) > 140
                line = (0, 0, 0) if light else (255, 255, 255)
            h, w = crop.shape[:2]
            thickness = max(2, round(max(h, w) / 80))
            out.append(
                draw_skeleton(plain, points, line, keypoint_conf=self.keypoint_conf, thickness=thickness)  # type: ignore[arg-type]
            )
        return out
