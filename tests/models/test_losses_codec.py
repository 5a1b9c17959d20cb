"""Losses, desensitizations and the codec stand-in."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from recanon_sdk.models.codec import (
    CodecConfig,
    CodecStandIn,
    jpeg_like,
    quant_tables,
    real_jpeg,
    real_x264,
    x264_roundtrip,
)
from recanon_sdk.models.losses import (
    desensitization_loss,
    desensitize,
    gaussian_blur,
    lsgan_d_loss,
    lsgan_g_loss,
    pixelate,
    psnr,
    ssim,
)

torch.set_num_threads(1)


def _textured(h: int = 64, w: int = 32, seed: int = 0) -> torch.Tensor:
    """A natural-ish test image: smooth colour gradients, edges and some noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.3 * np.sin(6 * xx + c) * np.cos(4 * yy) for c in range(3)], -1)
    img[h // 4 : h // 2, w // 4 : 3 * w // 4] = rng.uniform(0.2, 0.8, 3)
    img += rng.normal(0, 0.02, img.shape)
    return torch.from_numpy(np.clip(img, 0, 1)).float().permute(2, 0, 1)[None]


@pytest.mark.parametrize(
    ("error", "tolerance", "delta"),
    [(0.0, 0.0, 0.05), (0.005, 0.01, 0.05), (0.03, 0.0, 0.05), (0.03, 0.01, 0.05), (0.2, 0.01, 0.05)],
)
def test_desensitization_loss_follows_its_definition(error: float, tolerance: float, delta: float) -> None:
    d = torch.full((1, 3, 8, 8), 0.5)
    y = d + error
    e = max(error - tolerance, 0.0)
    expected = e * e / (2 * delta) if e < delta else e - delta / 2
    assert float(desensitization_loss(y, d, delta, tolerance)) == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_desensitization_loss_is_cheap_for_small_and_linear_for_large_deviations() -> None:
    d = torch.zeros(1, 1, 4, 4)
    small, large = desensitization_loss(d + 0.01, d, 0.05), desensitization_loss(d + 0.5, d, 0.05)
    assert float(small) < 0.01 / 5  # far below the L1 price of 0.01
    grad_gap = float(desensitization_loss(d + 0.6, d, 0.05) - large)
    assert grad_gap == pytest.approx(0.1, rel=1e-4)  # slope 1 in the linear zone


def test_ssim_and_psnr() -> None:
    x = _textured()
    assert float(ssim(x, x)) == pytest.approx(1.0, abs=1e-5)
    noisy = (x + 0.1 * torch.randn_like(x, generator=None)).clamp(0, 1)
    assert float(ssim(x, noisy)) < 0.9
    y = x + 0.01
    assert float(psnr(x, y)) == pytest.approx(10 * math.log10(1 / 1e-4), rel=1e-3)


def test_blur_and_pixelate() -> None:
    flat = torch.full((1, 3, 32, 16), 0.3)
    assert torch.allclose(gaussian_blur(flat, 5.0), flat, atol=1e-6)
    x = _textured()
    p = pixelate(x, 8)
    assert torch.equal(p[..., :8, :8], p[..., :1, :1].expand_as(p[..., :8, :8]))
    blurred = desensitize(x, "blur", blur_sigma=5.0)
    assert float(psnr(blurred, x)) < 30  # a σ=5 blur is far from the raw portrait
    with pytest.raises(ValueError, match="unknown desensitization"):
        desensitize(x, "swirl")  # type: ignore[arg-type]


def test_lsgan_losses() -> None:
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    assert float(lsgan_d_loss(ones, zeros)) == 0.0
    assert float(lsgan_g_loss(ones)) == 0.0
    assert float(lsgan_d_loss(zeros, ones)) == pytest.approx(1.0)


def test_quant_tables_follow_ijg_scaling() -> None:
    luma50, _ = quant_tables(torch.tensor([50.0]))
    luma100, chroma100 = quant_tables(torch.tensor([100.0]))
    assert luma50[0, 0, 0] == 16 and luma50[0, 7, 7] == 99
    assert float(luma100.max()) == 1.0 and float(chroma100.max()) == 1.0


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_jpeg_like_matches_real_libjpeg(quality: int) -> None:
    x = (_textured(64, 64) * 255).round() / 255
    ours = jpeg_like(x, torch.tensor([float(quality)]))
    real = real_jpeg(x, quality)
    loss = float(psnr(real, x))  # measured 32.3-33.2 dB at q50-q90 on this texture
    assert loss < 40  # real JPEG does lose something
    # the stand-in lands far closer to libjpeg's own decode than that decode is to the input
    assert float(psnr(ours, real)) > loss + 10  # measured 46.5-51.0 dB


def test_codec_standin_is_differentiable_and_8bit() -> None:
    x = _textured(64, 32).repeat(3, 1, 1, 1).requires_grad_(True)
    codec = CodecStandIn(CodecConfig(kind="standin", p_resize=1.0, p_noise=1.0))
    out = codec(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and float(out.detach().min()) >= 0 and float(out.detach().max()) <= 1
    levels = out.detach() * 255
    assert torch.allclose(levels, levels.round(), atol=1e-4)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_higher_quality_keeps_more() -> None:
    x = _textured(64, 64)
    errs = [float(psnr(jpeg_like(x, torch.tensor([q])), x)) for q in (30.0, 60.0, 95.0)]
    assert errs[0] < errs[1] < errs[2]


def test_real_jpeg_passes_gradients_straight_through() -> None:
    x = _textured(32, 32).requires_grad_(True)
    real_jpeg(x, 80).sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))


def test_real_x264_is_the_evaluation_round_trip_with_a_straight_through_gradient() -> None:
    x = ((_textured(64, 32).repeat(3, 1, 1, 1) * 255).round() / 255).requires_grad_(True)
    out = real_x264(x, 23)
    arr = (x.detach() * 255).round().byte().permute(0, 2, 3, 1).numpy()
    expected = torch.from_numpy(np.stack(x264_roundtrip(list(arr), crf=23))).permute(0, 3, 1, 2) / 255
    assert torch.allclose(out.detach(), expected, atol=1e-6)  # the very decode recanon eval measures
    assert 20 < float(psnr(out.detach(), x.detach())) < 60  # lossy but close
    worse = real_x264(x.detach(), 40)
    assert float(psnr(worse, x.detach())) < float(psnr(out.detach(), x.detach()))  # CRF matters
    out.sum().backward()
    assert torch.allclose(x.grad, torch.ones_like(x))


def test_codec_x264_draws_its_crf_from_the_configured_range() -> None:
    x = _textured(64, 32).repeat(2, 1, 1, 1)
    codec = CodecStandIn(CodecConfig(kind="x264", crf=(23, 23), p_resize=0.0, p_noise=0.0))
    out = codec(x, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, real_x264(x, 23), atol=1e-6)


def test_codec_none_is_identity() -> None:
    x = _textured()
    assert torch.equal(CodecStandIn(CodecConfig(kind="none"))(x), x)


def test_test_image_is_decodable_by_opencv() -> None:
    # guards the helper the JPEG tests rely on
    arr = (_textured()[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    ok, buf = cv2.imencode(".png", arr)
    assert ok and cv2.imdecode(buf, cv2.IMREAD_COLOR).shape == arr.shape
