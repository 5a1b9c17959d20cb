"""The conventional desensitizers: Gaussian blur, pixelation and a solid mask.

Their strength scales with each person's size: a fixed blur sigma that hides a 60 px pedestrian
leaves a 600 px face recognizable. ``strength`` is a fraction of the crop's longer side.

The default 0.1 is the weakest setting measured to hide faces from an independent face detector
(YuNet, after a libx264 CRF 23 round trip) on face crops that fill the region: blur 0.06 left 48 %
of ORL faces detectable, 0.1 none; pixelation 0.08 left 2 %, 0.12 none (``benchmarks/privacy_floor.py``).

>>> import numpy as np
>>> crop = np.random.default_rng(0).integers(0, 255, (160, 80, 3), dtype=np.uint8)
>>> [e.enhance([crop])[0].shape for e in (Blur(), Pixelate(), Mask())]
[(160, 80, 3), (160, 80, 3), (160, 80, 3)]
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from recanon_sdk.enhance.base import check_crops


@dataclass(frozen=True, slots=True)
class Blur:
    """Gaussian blur with ``sigma = strength × longer side`` (at least ``min_sigma`` pixels), or with
    a fixed ``sigma_px`` pixels for every crop when that is given.

    A fixed sigma is the same for a 60 px pedestrian and a 600 px face: one that hides the
    pedestrian leaves the close face recognizable. Prefer the relative ``strength``; use
    ``sigma_px`` where every person has about the same size (a fixed camera), after checking it.
    Large sigmas are computed on a downscaled copy (the result is the same blur up to resampling,
    at a fraction of the cost).

    >>> Blur(sigma_px=12).sigma_for(600, 300), Blur().sigma_for(600, 300)
    (12.0, 60.0)
    """

    strength: float = 0.1
    min_sigma: float = 3.0
    name: str = "blur"
    input_size: tuple[int, int] | None = None
    sigma_px: float | None = None

    def __post_init__(self) -> None:
        if self.strength <= 0 or self.min_sigma <= 0:
            raise ValueError("Blur strength and min_sigma must be positive")
        if self.sigma_px is not None and not self.sigma_px > 0:
            raise ValueError(f"Blur sigma_px must be positive, got {self.sigma_px}")

    def sigma_for(self, height: int, width: int) -> float:
        if self.sigma_px is not None:
            return float(self.sigma_px)
        return max(self.min_sigma, self.strength * max(height, width))

    def enhance(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        check_crops(crops)
        return [self._blur(crop) for crop in crops]

    def _blur(self, crop: np.ndarray) -> np.ndarray:
        h, w = crop.shape[:2]
        sigma = self.sigma_for(h, w)
        scale = min(1.0, 2.5 / sigma) if sigma > 5 else 1.0
        if scale < 1.0:
            small = cv2.resize(
                crop, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
            )
            small = cv2.GaussianBlur(small, (0, 0), sigma * scale, borderType=cv2.BORDER_REPLICATE)
            return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.GaussianBlur(crop, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)


@dataclass(frozen=True, slots=True)
class Pixelate:
    """Mosaic with square cells of ``strength × longer side`` pixels (at least ``min_cell``), or of a
    fixed ``cell_px`` pixels when that is given (the same caveat as :class:`Blur`'s ``sigma_px``).

    >>> Pixelate(cell_px=16).cell_for(600, 300), Pixelate().cell_for(600, 300)
    (16, 60)
    """

    strength: float = 0.1
    min_cell: int = 4
    name: str = "pixelate"
    input_size: tuple[int, int] | None = None
    cell_px: int | None = None

    def __post_init__(self) -> None:
        if self.strength <= 0 or self.min_cell < 1:
            raise ValueError("Pixelate strength must be positive and min_cell at least 1")
        if self.cell_px is not None and self.cell_px < 1:
            raise ValueError(f"Pixelate cell_px must be at least 1, got {self.cell_px}")

    def cell_for(self, height: int, width: int) -> int:
        if self.cell_px is not None:
            return int(self.cell_px)
        return max(self.min_cell, round(self.strength * max(height, width)))

    def enhance(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        check_crops(crops)
        out = []
        for crop in crops:
            h, w = crop.shape[:2]
            cell = self.cell_for(h, w)
            small = cv2.resize(
                crop, (max(1, -(-w // cell)), max(1, -(-h // cell))), interpolation=cv2.INTER_AREA
            )
            out.append(cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST))
        return out


@dataclass(frozen=True, slots=True)
class Mask:
    """A solid fill (default mid grey): hides everything, keeps nothing for pose estimation."""

    color: tuple[int, int, int] = (128, 128, 128)
    name: str = "mask"
    input_size: tuple[int, int] | None = None

    def enhance(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        check_crops(crops)
        return [np.full_like(crop, np.asarray(self.color, np.uint8)) for crop in crops]
