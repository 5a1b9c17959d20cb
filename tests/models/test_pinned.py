"""GX's pinned output: outside the keyed band it is the blur plus a coarse correction, nothing finer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from recanon_sdk.enhance.learned import LearnedEnhancer
from recanon_sdk.export.generators import export_generator_onnx
from recanon_sdk.models import create_model
from recanon_sdk.models.keyed import block_dct, dct_matrix
from recanon_sdk.models.pinned import PinnedOutput
from recanon_sdk.models.weights import load_model, save_model
from recanon_sdk.runtime.onnx_generator import OnnxGenerator

SECRET = bytes(range(32))
PIN = {"blur": 0.1, "cell": 8}


def _detail_energy(img: torch.Tensor) -> tuple[float, float]:
    """Mean energy of the luma's high DCT band (anti-diagonals ≥ 6, above the scrambled band) and of
    the chroma's (anti-diagonals ≥ 3): the fine detail a face embedder reads."""
    d = dct_matrix(8)
    r, g, b = img[:, 0:1], img[:, 1:2], img[:, 2:3]
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    u = torch.arange(8)
    high = (u[:, None] + u[None, :]) >= 6
    ac = (u[:, None] + u[None, :]) >= 3
    luma_high = block_dct(luma, d)[..., high].pow(2).mean()
    chroma = torch.cat([b - luma, r - luma], 1)
    chroma_high = block_dct(chroma, d)[..., ac].pow(2).mean()
    return float(luma_high), float(chroma_high)


def _unscrambled(gx: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    key = gx.key_for_secret(SECRET, *x.shape[-2:])
    with torch.no_grad():
        return gx.scrambler.unscramble(gx(x, key), key.expand(x.shape[0]))


def test_a_pinned_gx_adds_no_fine_detail_outside_the_band_whatever_its_weights() -> None:
    torch.manual_seed(0)
    x = torch.rand(4, 3, 128, 64)  # noise: all the fine detail a network could pass through
    free, pinned = create_model("gx_unet_s"), create_model("gx_unet_s", pin=PIN)
    for p in free.net.parameters():  # weights that copy plenty of detail from the input
        p.data.normal_(0, 0.2)
    pinned.net.load_state_dict(free.net.state_dict())
    pin = PinnedOutput(pinned.scrambler, **PIN)
    target = pin.target(x)
    with torch.no_grad():
        u = free.net(x)
    # exactly: outside the band, the pinned output is the blur plus the coarse correction of u
    deviation = pin.outside_band(_unscrambled(pinned, x) - target)
    expected = pin.outside_band(pin.coarse(u - target))
    assert (deviation - expected).abs().lt(1e-4).float().mean() > 0.99  # all but clamped pixels
    # so far less fine detail than the same network unpinned passes through
    free_high, free_chroma = _detail_energy(_unscrambled(free, x) - target)
    pinned_high, pinned_chroma = _detail_energy(_unscrambled(pinned, x) - target)
    assert free_high > 1e-5 and free_chroma > 1e-5
    assert pinned_high < free_high / 100 and pinned_chroma < free_chroma / 100


def test_pinned_output_needs_the_keyed_band_and_only_gx_takes_it() -> None:
    with pytest.raises(ValueError, match="keyed"):
        create_model("gx_unet_s", keyed=False, pin=PIN)
    with pytest.raises(ValueError, match="only GX"):
        create_model("gy_unet_s", pin=PIN)
    with pytest.raises(ValueError, match="blur > 0"):
        create_model("gx_resnet_s", pin={"blur": 0.0, "cell": 8})


def test_a_pinned_gx_file_reloads_pinned_and_exports_to_onnx_with_parity(tmp_path) -> None:
    torch.manual_seed(1)
    gx = create_model("gx_unet_s", pin=PIN)
    path = save_model(tmp_path / "gx.safetensors", gx, "gx_unet_s", {"pin": PIN}, (128, 64), {})
    reloaded, _ = load_model(path)
    assert reloaded.pin is not None and reloaded.pin.cfg.blur == 0.1 and reloaded.pin.cfg.cell == 8
    x = torch.rand(2, 3, 128, 64)
    key = reloaded.key_for_secret(SECRET, 128, 64)
    with torch.no_grad():
        expected = reloaded(x, key.expand(2)).numpy()
    got = OnnxGenerator(export_generator_onnx(path, SECRET)).session.run(None, {"portraits": x.numpy()})[0]
    assert np.abs(got - expected).max() < 1e-4
    crop = (np.random.default_rng(0).random((200, 90, 3)) * 255).astype(np.uint8)
    assert LearnedEnhancer(path, SECRET).enhance([crop])[0].shape == crop.shape


def test_pinning_only_the_top_leaves_the_rest_of_the_portrait_to_the_network() -> None:
    torch.manual_seed(2)
    scrambler = create_model("gx_unet_s").scrambler
    x, u = torch.rand(2, 3, 128, 64), torch.rand(2, 3, 128, 64)
    whole = PinnedOutput(scrambler, blur=0.1, cell=8)
    top = PinnedOutput(scrambler, blur=0.1, cell=8, top=0.2)
    assert top.pinned_rows(128) == 32  # 0.2 × 128 = 25.6 rows, rounded up to whole 8-pixel blocks
    out = top(x, u)
    assert torch.equal(out[..., 32:, :], u[..., 32:, :])
    assert torch.allclose(out[..., :32, :], whole(x, u)[..., :32, :], atol=1e-6)
    with pytest.raises(ValueError, match="top"):
        PinnedOutput(scrambler, top=0.0)
