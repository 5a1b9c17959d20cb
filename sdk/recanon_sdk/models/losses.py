"""Losses of the joint training, and the conventional desensitizations that guide GX.

Notation: ``x`` raw portrait, ``d = D(x)`` its conventional desensitization (blur / pixelation /
noise), ``y = GX(x)`` the privacy-enhanced portrait, ``ỹ = C(y)`` after the codec stand-in,
``x̂ = GY(ỹ)`` the recovery. All images are ``(B, 3, H, W)`` in [0, 1].

* ``L_XY`` (:func:`desensitization_loss`), the desensitization guidance of arXiv 2409.02715: a
  Huber-like loss with a free tolerance ``τ`` per pixel and quadratic zone ``δ``::

      e = max(|y − d| − τ, 0)
      ρ(e) = e² / (2δ)     if e < δ
             e − δ/2       otherwise
      L_XY = mean ρ(e)

  Deviations up to ``τ`` cost nothing and small ones only quadratically, so GX may keep the faint
  information pose estimation and recovery need while looking desensitized; large deviations
  (visible detail) cost linearly. ``τ = 0`` gives SmoothL1 with ``β = δ``.
* ``L_rec = ‖x̂ − x‖₁ + λ_ssim (1 − SSIM(x̂, x))``.
* Adversarial (least squares GAN, Mao et al. 2017): ``L_D = ½E[(D(c, real) − 1)²] + ½E[D(c, fake)²]``,
  ``L_G = ½E[(D(c, fake) − 1)²]``.

>>> import torch
>>> x = torch.rand(1, 3, 32, 32)
>>> float(desensitization_loss(x, x, delta=0.05, tolerance=0.0))
0.0
>>> round(float(psnr(x, x.clamp(0, 0.5))), 1) > 0
True
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

__all__ = [
    "desensitization_loss",
    "desensitize",
    "gaussian_blur",
    "lsgan_d_loss",
    "lsgan_g_loss",
    "pixelate",
    "psnr",
    "ssim",
]

Desensitization = Literal["blur", "pixelate", "noise", "blur+noise"]


# --- conventional desensitization (the targets GX is guided towards) ------------------------------


def _gaussian_kernel(sigma: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    # computed in Python so that an ONNX trace records the taps as constants
    radius = max(1, math.ceil(3 * sigma))
    taps = [math.exp(-0.5 * (t / sigma) ** 2) for t in range(-radius, radius + 1)]
    total = sum(taps)
    return torch.tensor([t / total for t in taps], device=device, dtype=dtype)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with reflection padding (σ in pixels)."""
    if sigma <= 0:
        return x
    k = _gaussian_kernel(sigma, x.device, x.dtype)
    c = int(x.shape[1])
    r = k.numel() // 2
    mode = "reflect" if min(x.shape[-2:]) > r else "replicate"
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode=mode), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode=mode), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def pixelate(x: torch.Tensor, block: int) -> torch.Tensor:
    """Average over ``block × block`` cells, then nearest-neighbour back to the input size."""
    h, w = x.shape[-2:]
    small = F.adaptive_avg_pool2d(x, (max(1, h // block), max(1, w // block)))
    return F.interpolate(small, size=(h, w), mode="nearest")


def desensitize(
    x: torch.Tensor,
    kind: Desensitization = "blur",
    blur_sigma: float = 5.0,
    pixel_block: int = 8,
    noise_sigma: float = 0.1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The conventional desensitization ``D(x)`` that GX is guided towards, clamped to [0, 1]."""
    if kind == "blur":
        out = gaussian_blur(x, blur_sigma)
    elif kind == "pixelate":
        out = pixelate(x, pixel_block)
    elif kind in ("noise", "blur+noise"):
        base = gaussian_blur(x, blur_sigma) if kind == "blur+noise" else x
        noise = torch.randn(x.shape, generator=generator, device="cpu").to(x) * noise_sigma
        out = base + noise
    else:
        raise ValueError(f"unknown desensitization {kind!r}")
    return out.clamp(0, 1)


# --- guidance and reconstruction losses -----------------------------------------------------------


def desensitization_loss(
    y: torch.Tensor, d: torch.Tensor, delta: float = 0.05, tolerance: float = 0.0
) -> torch.Tensor:
    """``L_XY``: tolerant Huber distance between GX's output and the desensitized target."""
    if delta <= 0:
        raise ValueError("delta must be positive")
    e = ((y - d).abs() - tolerance).clamp_min(0)
    return torch.where(e < delta, 0.5 * e * e / delta, e - 0.5 * delta).mean()


def _ssim_window(size: int, sigma: float, channels: int, like: torch.Tensor) -> torch.Tensor:
    k = _gaussian_kernel(sigma, like.device, like.dtype)
    k = k[(k.numel() - size) // 2 :][:size] if k.numel() > size else k
    w2 = k[:, None] * k[None, :]
    return w2.expand(channels, 1, *w2.shape).contiguous()


def ssim(
    a: torch.Tensor, b: torch.Tensor, window: int = 11, sigma: float = 1.5, data_range: float = 1.0
) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004) over batch, channels and valid windows; Gaussian window."""
    c = a.shape[1]
    win = _ssim_window(window, sigma, c, a)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, win, groups=c)

    mu_a, mu_b = filt(a), filt(b)
    saa = filt(a * a) - mu_a**2
    sbb = filt(b * b) - mu_b**2
    sab = filt(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2))
    return s.mean()


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB over the whole batch (mean squared error pooled)."""
    mse = F.mse_loss(a.float(), b.float()).clamp_min(1e-12)
    return 10 * torch.log10(data_range**2 / mse)


# --- adversarial ----------------------------------------------------------------------------------


def lsgan_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss: real → 1, fake → 0."""
    return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits**2).mean()


def lsgan_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss: make the discriminator say 1."""
    return 0.5 * ((fake_logits - 1) ** 2).mean()
