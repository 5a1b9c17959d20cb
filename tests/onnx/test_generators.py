"""GX and GY exported to ONNX with the deployment key baked in: parity with torch, sealed GY, CLI."""

from __future__ import annotations

import numpy as np
import pytest
import recanon_keys as rk
import torch
from recanon_cli.main import app
from recanon_sdk.detect.weights import resolve_weights
from recanon_sdk.enhance import DEFAULT_GX_WEIGHTS, make_enhancer
from recanon_sdk.export.generators import export_generator_onnx
from recanon_sdk.models import create_model
from recanon_sdk.models.weights import load_model, save_model
from recanon_sdk.runtime.onnx_generator import OnnxGenerator
from recanon_sdk.runtime.sealed_gy import open_sealed_gy_onnx, seal_gy_onnx
from typer.testing import CliRunner

SECRET = bytes(range(32))


def pin_feed(generator: OnnxGenerator, model, batch: int) -> tuple[dict, torch.Tensor | None]:
    """For a head-pinned GX: a ``pin_mask`` input (one head known, the rest pinned whole) and the same
    mask for torch; else nothing."""
    if not generator.wants_heads:
        return {}, None
    heads = [np.array([[16.0, 4, 48, 30]])] + [None] * (batch - 1)
    mask = model.pin.masks(heads, [(128, 64)] * batch, (128, 64))
    return {"pin_mask": mask}, torch.from_numpy(mask)


@pytest.fixture(scope="module")
def gx_path():
    return resolve_weights(DEFAULT_GX_WEIGHTS, kind="GX").path


@pytest.fixture(scope="module")
def gx_onnx(gx_path) -> bytes:
    return export_generator_onnx(gx_path, SECRET)


def test_exported_gx_matches_torch_for_any_batch(gx_path, gx_onnx):
    model, _ = load_model(gx_path)
    key = model.key_for_secret(SECRET, 128, 64)
    generator = OnnxGenerator(gx_onnx)
    assert generator.input_size == (128, 64) and generator.arch == "gx_unet_s"
    for batch in (1, 3):
        x = torch.rand(batch, 3, 128, 64, generator=torch.Generator().manual_seed(batch))
        pins, mask = pin_feed(generator, model, batch)
        with torch.no_grad():
            expected = model(x, key.expand(batch), mask).numpy()
        got = generator.session.run(None, {"portraits": x.numpy(), **pins})[0]
        assert np.abs(got - expected).max() < 1e-4


def test_fp16_export_halves_the_file_and_stays_within_two_grey_levels(gx_path, gx_onnx):
    half = export_generator_onnx(gx_path, SECRET, half=True)
    assert len(half) < 0.6 * len(gx_onnx)
    generator = OnnxGenerator(half)
    assert generator.session.get_modelmeta().custom_metadata_map["recanon.precision"] == "fp16"
    assert generator.session.get_inputs()[0].type == "tensor(float)"  # fp32 in and out
    crops = [np.random.default_rng(i).integers(0, 256, (128, 64, 3), np.uint8) for i in range(4)]
    full = np.stack(OnnxGenerator(gx_onnx).run(crops)).astype(int)
    diff = np.abs(np.stack(generator.run(crops)).astype(int) - full)
    assert diff.max() <= 2 and diff.mean() < 0.1


def test_the_key_is_in_the_graph_a_wrong_secret_gives_another_model(gx_path, gx_onnx):
    other = OnnxGenerator(export_generator_onnx(gx_path, bytes(32)))
    x = np.random.default_rng(0).random((1, 3, 128, 64), dtype=np.float32)
    pins, _ = pin_feed(other, load_model(gx_path)[0], 1)
    a = OnnxGenerator(gx_onnx).session.run(None, {"portraits": x, **pins})[0]
    b = other.session.run(None, {"portraits": x, **pins})[0]
    assert np.abs(a - b).mean() > 1e-3
    with pytest.raises(ValueError, match="keyed"):
        export_generator_onnx(gx_path, None)


def test_onnx_gx_enhances_crops_like_the_torch_enhancer(gx_path, gx_onnx, tmp_path):
    (tmp_path / "gx.onnx").write_bytes(gx_onnx)
    crops = [np.random.default_rng(i).integers(0, 256, (128, 64, 3), np.uint8) for i in range(3)]
    torch_out = make_enhancer("gx", model_secret=SECRET).enhance(crops)
    onnx_out = make_enhancer("gx", gx_weights=str(tmp_path / "gx.onnx")).enhance(crops)
    for a, b in zip(torch_out, onnx_out, strict=True):
        assert a.shape == b.shape and np.abs(a.astype(int) - b).max() <= 1  # rounding only


def test_gy_is_exported_straight_into_a_sealed_bundle(tmp_path):
    alice, cam = rk.generate_holder("alice"), rk.generate_device_key("cam")
    dep = rk.create_deployment("lobby", device_key=cam, holders=[alice.public])
    save_model(tmp_path / "gy.safetensors", create_model("gy_unet_s"), "gy_unet_s", input_size=(128, 64))
    bundle = seal_gy_onnx(tmp_path / "gy.safetensors", SECRET, deployment=dep, device_key=cam)
    assert rk.read_bundle_info(bundle).signer == cam.key_id
    assert rk.read_bundle_info(bundle).model_name == "gy-onnx"
    assert b"portraits" not in bundle  # the graph is not readable without a holder key
    gy = open_sealed_gy_onnx(bundle, alice, dep)
    out = gy.recover([np.zeros((200, 90, 3), np.uint8)])
    assert out[0].shape == (200, 90, 3)
    with pytest.raises(rk.WrongKey):
        open_sealed_gy_onnx(bundle, rk.generate_holder("eve"), dep)


def test_cli_exports_gx_for_a_deployment_and_refuses_without_keys(tmp_path):
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "examples" / "demo"
    result = CliRunner().invoke(
        app,
        [
            "export",
            "--model",
            "gx",
            "-o",
            str(tmp_path),
            "--deployment",
            str(demo / "demo.deployment"),
            "--device-key",
            str(demo / "DEMO-device.key"),
        ],
    )
    assert result.exit_code == 0, result.output
    exported = tmp_path / "demo.gx.onnx"
    assert exported.stat().st_mode & 0o777 == 0o600
    assert OnnxGenerator(exported).input_size == (128, 64)
    import hashlib
    import json

    entry = json.loads((tmp_path / "export-manifest.json").read_text())["models"]["demo.gx.onnx"]
    assert entry["sha256"] == hashlib.sha256(exported.read_bytes()).hexdigest()
    assert entry["source"]["sha256"] == resolve_weights(DEFAULT_GX_WEIGHTS, kind="GX").sha256
    refused = CliRunner().invoke(app, ["export", "--model", "gy", "-o", str(tmp_path)])
    assert refused.exit_code == 1 and "needs --deployment and --device-key" in refused.stderr


def test_anonymize_with_an_exported_gx_needs_no_keys(gx_onnx, tmp_path):
    from tests.conftest import write_test_video

    (tmp_path / "gx.onnx").write_bytes(gx_onnx)
    write_test_video(tmp_path / "in.mp4", [0, 40], size=(96, 128))
    result = CliRunner().invoke(
        app,
        [
            "anonymize",
            str(tmp_path / "in.mp4"),
            "-o",
            str(tmp_path / "out.mp4"),
            "-q",
            "--imgsz",
            "320",
            "--enhancer",
            "gx",
            "--gx-weights",
            str(tmp_path / "gx.onnx"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"name":"gx"' in (tmp_path / "out.pose.jsonl").read_text().splitlines()[0].replace(" ", "")


def test_gx_with_key_inputs_matches_torch_and_needs_the_secret(gx_path):
    from recanon_sdk.errors import ModelError
    from recanon_sdk.export.generators import export_gx_with_key_inputs

    data = export_gx_with_key_inputs(gx_path)
    model, _ = load_model(gx_path)
    generator = OnnxGenerator(data, model_secret=SECRET)
    names = [i.name for i in generator.session.get_inputs()]
    assert names[:3] == ["portraits", "perm", "signs"] and names[3:] in ([], ["pin_mask"])
    x = torch.rand(3, 3, 128, 64, generator=torch.Generator().manual_seed(7))
    pins, mask = pin_feed(generator, model, 3)
    with torch.no_grad():
        expected = model(x, model.key_for_secret(SECRET, 128, 64).expand(3), mask).numpy()
    got = generator.session.run(None, {"portraits": x.numpy(), **generator._key_feed, **pins})[0]
    assert np.abs(got - expected).max() < 1e-4
    wrong = OnnxGenerator(data, model_secret=bytes(32))
    wrong_out = wrong.session.run(None, {"portraits": x.numpy(), **wrong._key_feed, **pins})[0]
    assert np.abs(wrong_out - got).mean() > 1e-3
    with pytest.raises(ModelError, match="needs the deployment's model secret"):
        OnnxGenerator(data)


def test_packaged_onnx_gx_is_the_packaged_gx_and_enhances_like_it(gx_path):
    from recanon_sdk.detect.weights import PACKAGED_WEIGHTS
    from recanon_sdk.enhance import DEFAULT_GX_WEIGHTS_ONNX

    packaged = resolve_weights(DEFAULT_GX_WEIGHTS_ONNX, kind="GX")
    assert packaged.sha256 == PACKAGED_WEIGHTS[DEFAULT_GX_WEIGHTS_ONNX][2]
    generator = OnnxGenerator(packaged.path, model_secret=SECRET)
    meta = generator.session.get_modelmeta().custom_metadata_map
    assert meta["recanon.source_sha256"] == resolve_weights(DEFAULT_GX_WEIGHTS, kind="GX").sha256
    crops = [np.random.default_rng(i).integers(0, 256, (150, 70, 3), np.uint8) for i in range(3)]
    torch_out = make_enhancer("gx", model_secret=SECRET).enhance(crops)
    for a, b in zip(torch_out, generator.enhance(crops), strict=True):
        assert a.shape == b.shape and np.abs(a.astype(int) - b).max() <= 1
