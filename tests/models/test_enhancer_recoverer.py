"""LearnedEnhancer (the Enhancer protocol) and GYRecoverer: shapes, keys, and key dependence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from recanon_sdk.enhance.base import Enhancer
from recanon_sdk.enhance.learned import LearnedEnhancer
from recanon_sdk.models import GYRecoverer, create_model, recover_crops, save_model

torch.set_num_threads(1)
H, W = 64, 32
SECRET, OTHER = bytes(range(32)), bytes(range(1, 33))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


@pytest.fixture(scope="module")
def identity_pair(tmp_path_factory) -> tuple[str, str]:
    """GX and GY whose networks are the identity (residual U-Nets at initialisation), so GX is pure
    keyed scrambling and GY pure unscrambling: recovery is exact with the right secret only."""
    d = tmp_path_factory.mktemp("w")
    gx = create_model("gx_unet_s", residual=True)
    gy = create_model("gy_unet_s")
    gx_path = save_model(d / "gx.safetensors", gx, "gx_unet_s", {"residual": True}, input_size=(H, W))
    gy_path = save_model(d / "gy.safetensors", gy, "gy_unet_s", {}, input_size=(H, W))
    return str(gx_path), str(gy_path)


def _crops(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.uniform(90, 160, (n, H // 8, W // 8, 3))
    smooth = np.repeat(np.repeat(base, 8, 1), 8, 2)
    return [np.clip(c + rng.normal(0, 6, c.shape), 0, 255).astype(np.uint8) for c in smooth]


def test_learned_enhancer_implements_the_protocol(identity_pair) -> None:
    enh = LearnedEnhancer(identity_pair[0], SECRET)
    assert isinstance(enh, Enhancer)
    assert enh.name == "gx" and enh.input_size == (H, W)


def test_enhance_keeps_shapes_and_leaves_inputs_untouched(identity_pair) -> None:
    enh = LearnedEnhancer(identity_pair[0], SECRET)
    crops = [*_crops(2), np.full((37, 21, 3), 128, np.uint8)]
    before = [c.copy() for c in crops]
    out = enh.enhance(crops)
    assert [o.shape for o in out] == [c.shape for c in crops]
    assert all(o.dtype == np.uint8 for o in out)
    assert all(np.array_equal(a, b) for a, b in zip(crops, before, strict=True))
    assert enh.enhance([]) == []


def test_only_the_right_secret_recovers(identity_pair) -> None:
    gx_path, gy_path = identity_pair
    crops = _crops(3)
    enhanced = LearnedEnhancer(gx_path, SECRET).enhance(crops)
    right = GYRecoverer(gy_path, SECRET).recover(enhanced)
    wrong = recover_crops(enhanced, OTHER, gy_path)
    for raw, y, r, w in zip(crops, enhanced, right, wrong, strict=True):
        assert _psnr(y, raw) < 40  # the scrambling visibly changed the crop
        assert _psnr(r, raw) > 40  # the right secret undoes it (up to 8-bit rounding)
        assert _psnr(w, raw) < _psnr(r, raw) - 10  # a wrong secret does not


def test_keyed_models_demand_a_secret(identity_pair) -> None:
    with pytest.raises(ValueError, match="secret"):
        LearnedEnhancer(identity_pair[0], None)
    with pytest.raises(ValueError, match="secret"):
        GYRecoverer(identity_pair[1], None)


def test_unkeyed_enhancer_accepts_no_secret() -> None:
    gx = create_model("gx_unet_s", keyed=False)
    enh = LearnedEnhancer(
        gx.state_dict(), None, arch="gx_unet_s", input_size=(H, W), model_kwargs={"keyed": False}
    )
    out = enh.enhance(_crops(1))
    assert out[0].shape == (H, W, 3)


def test_missing_weights_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no weights file"):
        LearnedEnhancer(tmp_path / "nope.safetensors", SECRET)
