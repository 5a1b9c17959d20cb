"""``recanon anonymize --backend onnx`` with an exported model; backend/model mismatches are one sentence."""

from __future__ import annotations

from recanon_cli.main import app
from recanon_sdk.video.sidecar import Sidecar
from typer.testing import CliRunner

from tests.conftest import ROOT

runner = CliRunner()
SAMPLE = ROOT / "examples" / "walking.mp4"


def test_onnx_backend_anonymizes_with_an_exported_model(exported_pose, tmp_path):
    onnx_path = exported_pose.onnx_path
    result = runner.invoke(app, ["anonymize", str(SAMPLE), "-o", str(tmp_path / "out.mp4"), "--pose-model",
                                 str(onnx_path), "--max-frames", "20", "--imgsz", "640",
                                 "--engine", "onnxruntime"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "onnxruntime CPUExecutionProvider" in result.output
    frames = list(Sidecar(tmp_path / "out.pose.jsonl").frames())
    assert len(frames) == 20 and sum(len(f.people) for f in frames) >= 10


def test_onnx_backend_with_torch_weights_is_one_sentence(tmp_path):
    args = ["anonymize", str(SAMPLE), "-o", str(tmp_path / "o.mp4"), "--backend", "onnx"]
    result = runner.invoke(app, [*args, "--pose-model", str(tmp_path / "own.pt")])
    assert result.exit_code == 1
    assert "recanon: error: the onnx backend needs an exported .onnx model" in result.output
    assert list(tmp_path.iterdir()) == []
