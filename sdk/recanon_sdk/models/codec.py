"""Codec-like degradations between GX and GY/P, so the hidden information survives real video coding.

The privacy-enhanced portrait is pasted into the frame and the frame is encoded (libx264); GY and
the pose estimator see a decoded, possibly rescaled copy. Training inserts a stand-in ``C``
between GX and GY/P (``ỹ = C(y)``) that is differentiable (straight-through where it rounds):

* **JPEG-like quantisation**: RGB → YCbCr (JFIF), 4:2:0 chroma subsampling, 8×8 orthonormal DCT,
  division by the IJG quantisation tables scaled for a random quality ``q``, rounding with a
  straight-through gradient (``round(z) = z + sg(round(z) − z)``), dequantisation, inverse DCT,
  chroma upsampling. H.264 uses 4×4/8×8 integer transforms, prediction and deblocking; JPEG at
  q≈50–95 is a rough, cheap stand-in for CRF 18–28.
* **Resampling**: bilinear down-scaling by a random factor and back up (the pipeline resizes crops).
* **Noise** and final **8-bit quantisation** (straight-through).

:func:`real_jpeg` runs the real libjpeg (OpenCV), :func:`real_x264` the real libx264 (PyAV: the batch
as consecutive frames, as ``recanon eval`` measures) in the forward pass with an identity gradient
(``codec.kind = "jpeg"`` / ``"x264"``). The real codecs block no gradient but give GX only a
straight-through one; they are meant above all for stages that train GY alone on GX's real output.

>>> import torch
>>> y = torch.rand(2, 3, 32, 32)
>>> c = CodecStandIn(CodecConfig(kind="standin"))
>>> out = c(y, generator=torch.Generator().manual_seed(0))
>>> tuple(out.shape), bool(out.min() >= 0)
((2, 3, 32, 32), True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from recanon_sdk.models.keyed import block_dct, block_idct, dct_matrix, straight_through_clamp

__all__ = [
    "CodecConfig",
    "CodecStandIn",
    "jpeg_like",
    "quant_tables",
    "real_jpeg",
    "real_x264",
    "round_ste",
    "x264_encode",
    "x264_roundtrip",
]

# IJG (libjpeg) base tables, Annex K of ITU-T T.81.
_LUMA_Q = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]  # fmt: skip
_CHROMA_Q = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, *([99] * 32),
]  # fmt: skip


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity gradient."""
    return x + (torch.round(x) - x).detach()


def quant_tables(quality: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """IJG-scaled luma and chroma tables for qualities ``(B,)`` in [1, 100] → two ``(B, 8, 8)``."""
    q = quality.float().clamp(1, 100)
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q)[:, None, None]
    luma = torch.tensor(_LUMA_Q, dtype=torch.float32, device=q.device).view(1, 8, 8)
    chroma = torch.tensor(_CHROMA_Q, dtype=torch.float32, device=q.device).view(1, 8, 8)
    return (
        torch.floor((luma * scale + 50) / 100).clamp(1, 255),
        torch.floor((chroma * scale + 50) / 100).clamp(1, 255),
    )


def _rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return torch.stack([y, cb, cr], 1)


def _ycbcr_to_rgb(x: torch.Tensor) -> torch.Tensor:
    y, cb, cr = x[:, 0], x[:, 1] - 128, x[:, 2] - 128
    r = y + 1.402 * cr
    g = y - 0.344136 * cb - 0.714136 * cr
    b = y + 1.772 * cb
    return torch.stack([r, g, b], 1)


def _quantize(plane: torch.Tensor, table: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    coef = block_dct(plane - 128, d)  # (B, 1, nby, nbx, 8, 8)
    t = table[:, None, None, None]
    return block_idct(round_ste(coef / t) * t, d) + 128


def jpeg_like(x: torch.Tensor, quality: torch.Tensor, chroma_subsample: bool = True) -> torch.Tensor:
    """Differentiable JPEG-like round trip of ``x`` (``(B, 3, H, W)`` in [0, 1]) at per-sample ``quality``."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % 16, (-w) % 16
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    d = dct_matrix(8, x.device)
    ycc = _rgb_to_ycbcr(x * 255)
    luma_t, chroma_t = quant_tables(quality.to(x.device))
    y = _quantize(ycc[:, :1], luma_t, d)
    chroma = ycc[:, 1:]
    if chroma_subsample:
        chroma = F.avg_pool2d(chroma, 2)
    cb = _quantize(chroma[:, :1], chroma_t, d)
    cr = _quantize(chroma[:, 1:], chroma_t, d)
    chroma = torch.cat([cb, cr], 1)
    if chroma_subsample:
        chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)
    out = _ycbcr_to_rgb(torch.cat([y, chroma], 1)) / 255
    return out[:, :, :h, :w]


def _straight_through_uint8(
    x: torch.Tensor, roundtrip: Callable[[list[np.ndarray]], Sequence[np.ndarray]]
) -> torch.Tensor:
    """Run a real codec on ``x`` as uint8 RGB images in the forward pass; identity gradient."""
    images = list((x.detach().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy())
    dec = torch.from_numpy(np.stack(roundtrip(images)).copy()).permute(0, 3, 1, 2).to(x) / 255
    return x + (dec - x).detach()


def real_jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Real libjpeg round trip (OpenCV, 4:2:0) in the forward pass; identity gradient."""
    import cv2

    def roundtrip(images: list[np.ndarray]) -> list[np.ndarray]:
        outs = []
        for img in images:
            ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
            if not ok:
                raise RuntimeError("JPEG encoding failed")
            outs.append(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
        return outs

    return _straight_through_uint8(x, roundtrip)


def x264_encode(crops: Sequence[np.ndarray], crf: int = 23, fps: int = 10) -> bytes:
    """Encode equally sized uint8 RGB crops as consecutive frames with libx264 (yuv420p) into MP4 bytes."""
    import io

    import av

    h, w = crops[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for c in crops:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(c), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def x264_roundtrip(crops: Sequence[np.ndarray], crf: int = 23, fps: int = 10) -> list[np.ndarray]:
    """:func:`x264_encode` then decode: the crops after a real H.264 round trip."""
    import io

    import av

    with av.open(io.BytesIO(x264_encode(crops, crf, fps))) as inp:
        return [f.to_ndarray(format="rgb24") for f in inp.decode(video=0)]


def real_x264(x: torch.Tensor, crf: int) -> torch.Tensor:
    """Real libx264 round trip (yuv420p, the batch as consecutive frames) in the forward pass; identity
    gradient. Sizes must be even (yuv420p)."""
    return _straight_through_uint8(x, lambda images: x264_roundtrip(images, crf=int(crf)))


@dataclass(frozen=True)
class CodecConfig:
    """Which degradations to apply between GX and GY/P, and their random ranges."""

    kind: Literal["standin", "jpeg", "x264", "none"] = "standin"
    quality: tuple[int, int] = (50, 95)  # JPEG quality range (uniform, per sample)
    crf: tuple[int, int] = (20, 26)  # libx264 CRF range for kind "x264" (uniform integer, per batch)
    p_resize: float = 0.5
    resize_scale: tuple[float, float] = (0.6, 1.0)
    p_noise: float = 0.5
    noise_sigma: float = 2.0 / 255
    chroma_subsample: bool = True


class CodecStandIn(nn.Module):
    """``ỹ = C(y)``: resampling → JPEG-like (or real JPEG or libx264) → noise → 8-bit quantisation."""

    def __init__(self, cfg: CodecConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or CodecConfig()

    def forward(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        cfg = self.cfg
        if cfg.kind == "none":
            return y
        b, _, h, w = y.shape

        def rand(n: int = 1) -> torch.Tensor:
            return torch.rand(n, generator=generator)

        if cfg.p_resize > 0:
            rows = []
            for i in range(b):
                yi = y[i : i + 1]
                if float(rand()) < cfg.p_resize:
                    lo, hi = cfg.resize_scale
                    s = lo + (hi - lo) * float(rand())
                    size = (max(8, round(h * s)), max(8, round(w * s)))
                    yi = F.interpolate(yi, size=size, mode="bilinear", align_corners=False, antialias=True)
                    yi = F.interpolate(yi, size=(h, w), mode="bilinear", align_corners=False)
                rows.append(yi)
            y = torch.cat(rows)
        lo_q, hi_q = cfg.quality
        if cfg.kind == "standin":
            q = (lo_q + (hi_q - lo_q) * rand(b)).to(y.device)
            y = jpeg_like(y, q, cfg.chroma_subsample)
        elif cfg.kind == "jpeg":
            y = real_jpeg(y, round(lo_q + (hi_q - lo_q) * float(rand())))
        elif cfg.kind == "x264":
            lo_c, hi_c = cfg.crf
            y = real_x264(y, lo_c + int(torch.randint(0, hi_c - lo_c + 1, (1,), generator=generator)))
        else:
            raise ValueError(f"unknown codec kind {cfg.kind!r}")
        if cfg.p_noise > 0:
            mask = (rand(b) < cfg.p_noise).float().view(b, 1, 1, 1).to(y)
            y = y + mask * cfg.noise_sigma * torch.randn(y.shape, generator=generator).to(y)
        y = straight_through_clamp(y)
        return round_ste(y * 255) / 255
