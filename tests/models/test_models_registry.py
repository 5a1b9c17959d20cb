"""Every registered model: forward pass, output shape, no NaN, gradients reach every parameter."""

from __future__ import annotations

import pytest
import torch
from recanon_sdk.models import (
    KeyedEnhancer,
    KeyedRecoverer,
    create_model,
    list_models,
    load_model,
    save_model,
)
from recanon_sdk.models.patchgan import PatchGANDiscriminator
from recanon_sdk.models.registry import register_variant, split_model_name

torch.set_num_threads(1)
H, W = 64, 32


@pytest.mark.parametrize("name", list_models())
def test_forward_shape_finite_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name)
    x = torch.rand(2, 3, H, W, requires_grad=True)
    if isinstance(model, PatchGANDiscriminator):
        out = model(torch.rand(2, 3, H, W), x)
        assert out.shape[:2] == (2, 1) and out.shape[2] >= 1 and out.shape[3] >= 1
    else:
        assert isinstance(model, KeyedEnhancer | KeyedRecoverer)
        key = model.random_key(2, H, W, torch.Generator().manual_seed(1))
        out = model(x, key)
        assert out.shape == x.shape
        assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0
    assert torch.isfinite(out).all()
    out.square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient reached {missing[:3]}"


@pytest.mark.parametrize("name", [n for n in list_models() if not n.startswith("d_")])
def test_generators_unkeyed_variant_runs_without_a_key(name: str) -> None:
    model = create_model(name, keyed=False)
    assert not model.keyed
    assert model(torch.rand(1, 3, H, W)).shape == (1, 3, H, W)


def test_keyed_generator_refuses_to_run_without_key() -> None:
    with pytest.raises(ValueError, match="DeploymentKey"):
        create_model("gx_unet_s")(torch.rand(1, 3, H, W))


def test_code_conditioning_uses_the_code() -> None:
    gx = create_model("gx_unet_s", code_dim=8)
    torch.nn.init.normal_(gx.net.film.proj.weight)  # FiLM starts as identity; make it act
    x = torch.rand(1, 3, H, W)
    k1 = gx.key_for_secret(bytes(32), H, W)
    k2 = gx.key_for_secret(bytes(range(32)), H, W)
    assert k1.code is not None and k1.code.shape == (1, 8)
    assert not torch.equal(gx(x, k1), gx(x, k2))


def test_weights_round_trip_rebuilds_identical_model(tmp_path) -> None:
    gx = create_model("gx_resnet_s", code_dim=4).eval()
    path = save_model(tmp_path / "gx.safetensors", gx, "gx_resnet_s", {"code_dim": 4}, input_size=(H, W))
    again, meta = load_model(path)
    assert (
        meta["arch"] == "gx_resnet_s" and meta["input_size"] == [H, W] and meta["kwargs"] == {"code_dim": 4}
    )
    x = torch.rand(1, 3, H, W)
    key = gx.key_for_secret(b"s" * 32, H, W)
    assert torch.equal(gx(x, key), again(x, key))


def test_create_model_with_registered_variant(tmp_path) -> None:
    gy = create_model("gy_unet_s")
    with torch.no_grad():
        gy.net.head.bias.fill_(0.25)
    path = save_model(tmp_path / "gy.safetensors", gy, "gy_unet_s")
    register_variant("gy_unet_s.testonly", path)
    loaded = create_model("gy_unet_s.testonly", pretrained=True)
    assert torch.equal(loaded.net.head.bias, gy.net.head.bias)
    assert split_model_name("gy_unet_s.testonly") == ("gy_unet_s", "testonly")


def test_unknown_model_and_missing_variant_are_errors() -> None:
    with pytest.raises(KeyError, match="unknown model"):
        create_model("gx_transformer_xl")
    with pytest.raises(KeyError, match="no registered weights"):
        create_model("gx_unet_s.v999", pretrained=True)


def test_small_models_stay_small() -> None:
    # Default weights must ship at ≤ 10 MB: float32 parameters of the small variants.
    for name in ("gx_unet_s", "gy_unet_s", "gx_resnet_s", "gy_resnet_s", "d_patchgan_s"):
        n = sum(p.numel() for p in create_model(name).parameters())
        assert n * 4 < 10_000_000, name
