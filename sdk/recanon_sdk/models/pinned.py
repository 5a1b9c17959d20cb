"""GX's pinned output structure: outside the keyed band, GX's output *is* the desensitization.

A probe (research/LOG.md) found that a GX free to deviate from its blur target anywhere
puts person structure, useful to the pose estimator and to a face embedder alike, into components
the keyed band scrambling leaves readable: luma outside the scrambled DCT band, and chroma. A loss
cannot forbid that reliably, so :class:`PinnedOutput` forbids it by construction. Given the raw
portrait ``x`` and the network's free output ``u``::

    d = blur_σ(x)                         σ = blur · max(H, W), the Blur enhancer's rule
    c = up(avgpool_cell(u − d))           a coarse correction, one value per cell × cell
    b = band_Y(u − d − c)                 the luma of the keyed band only (added to R, G, B)
    GX(x) = S_k(d + c + b)

So everything outside the band is the desensitized target plus a correction with no detail finer
than ``cell`` pixels (at 128×64 a face is 10–12 px tall: one or two cells), and inside the band
sits whatever the network wrote, which the deployment key then scrambles across the image. What
the pose estimator may gain from GX has to travel in the coarse correction; what GY recovers has
to travel in the band (plus what it can infer).

>>> import torch
>>> from recanon_sdk.models.keyed import BandScrambler
>>> pin = PinnedOutput(BandScrambler(), blur=0.1, cell=8)
>>> x, u = torch.rand(2, 3, 64, 32), torch.rand(2, 3, 64, 32)
>>> out = pin(x, u)
>>> out.shape
torch.Size([2, 3, 64, 32])
>>> d = pin.target(x)  # outside the band, all that differs from the blur is the coarse correction:
>>> bool(torch.allclose(pin.outside_band(out - d), pin.outside_band(pin.coarse(u - d)), atol=1e-5))
True

Licence: AGPL-3.0-or-later (recanon).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recanon_sdk.models.keyed import BandScrambler, KeyedEnhancer, KeyedRecoverer
from recanon_sdk.models.losses import gaussian_blur

__all__ = ["PinConfig", "PinnedOutput", "wrap_generator"]


@dataclass(frozen=True)
class PinConfig:
    """``blur``: the target's Gaussian σ as a fraction of the portrait's longer side (0.1 is the
    Blur enhancer's default); ``cell``: the coarse correction's cell size in pixels; ``top``: the
    fraction of the portrait, from the top, that is pinned (whole 8-pixel block rows; 1.0 = all of
    it; a smaller value pins only where an upright person's head is and leaves the body free);
    ``head``: pin only the blocks a head box touches, given per portrait as a mask at run time
    (:func:`recanon_sdk.crops.head_pin_masks`, from the detector's face keypoints);
    without a mask the whole portrait is pinned (fail closed). ``head`` needs ``top = 1``.
    ``head_scale`` (> 0, needs ``head``): blur each head with σ = ``head_scale`` × its head box's
    longer side instead of the portrait-wide σ, so a small head stays a head-shaped blob (the pose
    estimator needs one) and a close-up face is blurred as strongly, relative to the face, as the
    Blur enhancer blurs a face that fills the region; the mask then carries each block's σ in
    pixels (0 = free) and a portrait whose head is unknown is blurred whole at the portrait-wide σ.
    ``cell = 0``: no coarse correction. ``clear_diag`` (> 0): pinned blocks show nothing of the
    anti-diagonals from ``clear_diag`` up to just below the keyed band (their luma there is zero), so a
    GX whose band starts high enough to leave the body's lower mid band visible (``min_diag`` 4) still
    shows a pinned head no finer than its band-free low band, as a ``min_diag`` 2 GX does; 0 = off."""

    blur: float = 0.1
    cell: int = 8
    top: float = 1.0
    head: bool = False
    head_scale: float = 0.0
    clear_diag: int = 0

    def __post_init__(self) -> None:
        if self.blur <= 0 or self.cell < 0 or not 0 < self.top <= 1 or self.head_scale < 0:
            raise ValueError(
                "need blur > 0, cell >= 0, 0 < top <= 1 and head_scale >= 0, got "
                f"{self.blur}, {self.cell}, {self.top}, {self.head_scale}"
            )
        if self.clear_diag < 0:
            raise ValueError(f"clear_diag is an anti-diagonal u+v >= 1 (0 = off), got {self.clear_diag}")
        if self.head and self.top != 1:
            raise ValueError("a head-pinned GX pins where the head is: leave top at 1")
        if self.head_scale and not self.head:
            raise ValueError("head_scale sizes the blur to each head: it needs head = true")

    def whole_sigma(self, height: int, width: int) -> float:
        """The portrait-wide blur σ in pixels (everywhere, or where the head is unknown)."""
        return self.blur * max(height, width)


class PinnedOutput(nn.Module):
    """Compose GX's output as desensitized target + coarse correction + keyed-band content.

    Where it pins: everywhere; the top rows (``top`` < 1); or, for a head-pinned GX (``head``), the
    blocks of the ``mask`` given to :meth:`forward` (everywhere when none is given).
    """

    def __init__(
        self,
        scrambler: BandScrambler,
        blur: float = 0.1,
        cell: int = 8,
        top: float = 1.0,
        head: bool = False,
        head_scale: float = 0.0,
        clear_diag: int = 0,
    ) -> None:
        super().__init__()
        self.scrambler = scrambler
        self.cfg = PinConfig(
            float(blur), int(cell), float(top), bool(head), float(head_scale), int(clear_diag)
        )
        if clear_diag and clear_diag >= scrambler.cfg.min_diag:
            raise ValueError(
                f"clear_diag {clear_diag} must lie below the keyed band (min_diag {scrambler.cfg.min_diag})"
            )

    def masks(
        self,
        heads: Sequence[np.ndarray | None] | None,
        shapes: Sequence[tuple[int, ...]],
        size: tuple[int, int],
    ) -> np.ndarray:
        """The ``(B, 1, H, W)`` pin masks this GX takes for crops of ``shapes`` with ``heads`` (see
        :func:`~recanon_sdk.crops.head_pin_masks`): 1/0, or σ per block with ``head_scale``."""
        from recanon_sdk.crops import head_pin_masks

        return head_pin_masks(
            heads,
            shapes,
            size,
            self.scrambler.cfg.block,
            head_scale=self.cfg.head_scale,
            whole_sigma=self.cfg.whole_sigma(*size),
        )

    def target(self, x: torch.Tensor) -> torch.Tensor:
        """The desensitized target ``d = blur_σ(x)``."""
        return gaussian_blur(x, self.cfg.whole_sigma(*x.shape[-2:]))

    def sigma_levels(self, height: int, width: int) -> list[float]:
        """The blur σs a head-scaled GX chooses from: 1, √2, 2, … below the portrait-wide σ, and it."""
        whole = self.cfg.whole_sigma(height, width)
        return [2 ** (j / 2) for j in range(64) if 2 ** (j / 2) < whole / 2**0.25] + [whole]

    def varying_target(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """``x`` blurred with the σ that ``sigma`` ``(B, 1, H, W)`` gives each pixel, rounded to the
        nearest of :meth:`sigma_levels` (in ratio); σ ≤ 0 is left as is (where GX is free)."""
        levels = self.sigma_levels(*x.shape[-2:])
        # level j covers σ between the geometric means of its neighbours
        index = torch.zeros_like(sigma)
        for low, high in itertools.pairwise(levels):
            index = index + (sigma > math.sqrt(low * high)).to(sigma.dtype)
        out = torch.zeros_like(x)
        tracing = torch.jit.is_tracing()
        for j, level in enumerate(levels):
            chosen = ((index == j) & (sigma > 0)).to(x.dtype)
            if not tracing and not bool(chosen.any()):
                continue  # eager: blur only at the σs this batch uses (an export keeps them all)
            out = out + chosen * gaussian_blur(x, level)
        return out

    def coarse(self, r: torch.Tensor) -> torch.Tensor:
        """``r`` averaged over ``cell × cell`` cells and bilinearly upsampled back (0 with ``cell = 0``)."""
        if not self.cfg.cell:
            return torch.zeros_like(r)
        h, w = r.shape[-2:]
        small = F.avg_pool2d(r, self.cfg.cell, ceil_mode=True)
        return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)

    def outside_band(self, r: torch.Tensor) -> torch.Tensor:
        """``r`` without its keyed-band luma component."""
        return r - self.scrambler.band_luma(r)

    def pinned_rows(self, height: int) -> int:
        """How many pixel rows from the top are pinned (whole blocks)."""
        block = self.scrambler.cfg.block
        return min(height, math.ceil(self.cfg.top * height / block) * block)

    def forward(self, x: torch.Tensor, u: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Pinned output for raw ``x`` and free output ``u``; ``mask`` ``(B, 1, H, W)``: 1 = pinned.

        The band projection is per 8×8 block, so a mask constant on whole blocks mixes exactly;
        a mask is used only by a head-pinned GX (others ignore it). With ``head_scale`` the mask holds
        each pixel's blur σ (0 = free; no mask: the portrait-wide σ everywhere).
        """
        if self.cfg.head_scale and mask is not None:  # σ per pixel; the pinned pixels are σ > 0
            d = self.varying_target(x, mask)
            mask = (mask > 0).to(x.dtype)
        else:
            d = self.target(x)
        c = self.coarse(u - d)
        pinned = d + c + self.scrambler.band_luma(u - d - c)
        if self.cfg.clear_diag:  # nothing between clear_diag and the band where it pins
            pinned = pinned - self.scrambler.diagonals_luma(
                d + c, self.cfg.clear_diag, self.scrambler.cfg.min_diag - 1
            )
        if self.cfg.head:
            return pinned if mask is None else mask * pinned + (1 - mask) * u
        rows = self.pinned_rows(x.shape[-2])
        if rows == x.shape[-2]:
            return pinned
        return torch.cat([pinned[..., :rows, :], u[..., rows:, :]], dim=-2)


def wrap_generator(
    net: nn.Module, role: str, scrambler: BandScrambler | None, pin: PinConfig | Mapping[str, Any] | None
) -> nn.Module:
    """Wrap a generator network as GX (``role="gx"``, optionally pinned) or GY (``role="gy"``)."""
    if role == "gy":
        if pin:
            raise ValueError("only GX has a pinned output; GY takes none")
        return KeyedRecoverer(net, scrambler)
    if isinstance(pin, Mapping):
        pin = PinConfig(**pin)
    if pin is None:
        return KeyedEnhancer(net, scrambler)
    return KeyedEnhancer(
        net,
        scrambler,
        PinnedOutput(scrambler, pin.blur, pin.cell, pin.top, pin.head, pin.head_scale, pin.clear_diag),
    )
