"""The inference engine of the onnx backend: the choice (ONNX Runtime or OpenVINO, f32 or bf16), the
OpenVINO engine against ONNX Runtime on real frames, and the sidecar header that records which ran.

The OpenVINO tests skip, saying so, where the ``openvino`` package is not installed.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from recanon_sdk.detect import engine
from recanon_sdk.detect.engine import choose_engine, choose_precision, cpu_flags, has_native_bf16
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.errors import ModelError

from tests.conftest import python_output

ROOT = Path(__file__).resolve().parents[2]
WALKING = ROOT / "examples" / "walking.mp4"


def need_openvino():
    return pytest.importorskip(
        "openvino", reason="the OpenVINO engine needs: pip install 'recanon[openvino]'"
    )


# -- the choice ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "has_openvino", "native_bf16", "device", "providers", "chosen"),
    [
        ("auto", True, True, "cpu", None, "openvino"),  # native bf16: OpenVINO's bf16 is ~1.9× faster
        ("auto", True, False, "cpu", None, "onnxruntime"),  # f32 only: no gain worth a second engine
        ("auto", False, True, "cpu", None, "onnxruntime"),  # not installed
        ("auto", True, True, "cuda", None, "onnxruntime"),  # a GPU is ONNX Runtime's
        ("auto", True, True, "cpu", ["cuda"], "onnxruntime"),  # ONNX Runtime providers asked for
        ("onnxruntime", True, True, "cpu", None, "onnxruntime"),
        ("openvino", True, False, "cpu", None, "openvino"),  # asked for: f32 on OpenVINO
        ("openvino", True, True, "cpu", ["CPUExecutionProvider"], "openvino"),
    ],
)
def test_engine_choice(requested, has_openvino, native_bf16, device, providers, chosen) -> None:
    got = choose_engine(
        requested, device=device, providers=providers, has_openvino=has_openvino, native_bf16=native_bf16
    )
    assert got == chosen


def test_engine_choice_refuses_what_cannot_run() -> None:
    with pytest.raises(ModelError, match="needs the Python package openvino") as raised:
        choose_engine("openvino", has_openvino=False)
    assert "recanon[openvino]" in (raised.value.hint or "")
    with pytest.raises(ModelError, match="CPU only"):
        choose_engine("openvino", device="cuda:0", has_openvino=True)
    with pytest.raises(ModelError, match="CPU only"):
        choose_engine("openvino", providers=["cuda", "cpu"], has_openvino=True)
    with pytest.raises(ModelError, match="unknown inference engine"):
        choose_engine("tensorflow")


def test_auto_never_imports_openvino_when_it_is_not_installed(monkeypatch) -> None:
    monkeypatch.setattr(engine, "openvino_installed", lambda: False)
    monkeypatch.setattr(
        engine, "openvino_native_bf16", lambda: pytest.fail("looked up bf16 without openvino")
    )
    assert choose_engine("auto") == "onnxruntime"


def test_precision_choice() -> None:
    assert choose_precision("auto", native_bf16=True) == "bf16"
    assert choose_precision("auto", native_bf16=False) == "f32"
    assert choose_precision("f32", native_bf16=True) == "f32"
    assert choose_precision("bf16", native_bf16=True) == "bf16"
    with pytest.raises(ModelError, match="no native bfloat16"):
        choose_precision("bf16", native_bf16=False)
    with pytest.raises(ModelError, match="unknown precision"):
        choose_precision("fp8", native_bf16=True)


def test_native_bf16_needs_openvinos_word_and_the_cpu_flag(tmp_path) -> None:
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512_vnni\n\n")
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n")
    assert has_native_bf16(["FP32", "BF16"], cpu_flags(x86))
    assert not has_native_bf16(["FP32", "BF16"], cpu_flags(avx2))  # listed, but emulated
    assert has_native_bf16(["FP32", "BF16", "FP16"], cpu_flags(arm))
    assert not has_native_bf16(["FP32", "INT8"], cpu_flags(x86))
    assert cpu_flags(tmp_path / "missing") is None
    assert has_native_bf16(["BF16"], None)  # no /proc/cpuinfo: OpenVINO's word stands


def test_a_cpu_without_bf16_flags_is_answered_without_importing_openvino(monkeypatch) -> None:
    monkeypatch.setattr(engine, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    monkeypatch.setitem(sys.modules, "openvino", None)  # any import of it would raise
    engine.openvino_native_bf16.cache_clear()
    try:
        assert engine.openvino_native_bf16() is False
        assert choose_engine("auto", has_openvino=True) == "onnxruntime"
    finally:
        engine.openvino_native_bf16.cache_clear()


def test_bf16_on_onnxruntime_is_one_sentence(monkeypatch) -> None:
    from recanon_sdk.detect.backend import create_pose_detector

    with pytest.raises(ModelError, match="bf16 inference needs the openvino engine"):
        create_pose_detector(DetectorConfig(), engine="onnxruntime", precision="bf16")


def test_default_detector_without_openvino_is_onnxruntime(tmp_path) -> None:
    """With openvino unimportable (as in an install without it), the default runs on ONNX Runtime."""
    blocker = (
        "import importlib.abc, sys\n"
        "class _NotInstalled(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'openvino':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _NotInstalled())\n"
        "from recanon_sdk.detect.backend import create_pose_detector\n"
        "d = create_pose_detector()\n"
        "print(d.engine, d.backend, 'openvino' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=120, env={**os.environ}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["onnxruntime", "onnx", "False"]


def test_onnxruntime_keeps_no_memory_plan_per_input_shape() -> None:
    """The cadence's crops come in many shapes; a plan kept for each grew the 768×576 corridor run
    from 354 to 407 MB (``benchmarks/bench_pipeline.py --memory``)."""
    from recanon_sdk.detect.onnx_pose import OnnxPoseDetector

    detector = OnnxPoseDetector(DetectorConfig(), "yolo11n-pose-onnx", threads=1)
    options = detector._session.get_session_options()
    assert options.enable_mem_pattern is False and options.intra_op_num_threads == 1


# -- OpenVINO against ONNX Runtime on real frames --------------------------------------------------


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """Frames 20–27 of the bundled sample: one person walking."""
    from recanon_sdk.video.reader import VideoSource

    return [f.image for f in itertools.islice(VideoSource(WALKING), 20, 28)]


def keypoint_distance(a, b) -> np.ndarray:
    """Distances of the confident keypoints (a's confidence > 0.5) of row-matched people, in pixels."""
    confident = a.keypoints[:, :, 2] > 0.5
    return np.linalg.norm(a.keypoints[:, :, :2] - b.keypoints[:, :, :2], axis=2)[confident]


@pytest.mark.slow
def test_openvino_f32_matches_onnxruntime(frames) -> None:
    need_openvino()
    from recanon_sdk.detect.onnx_pose import OnnxPoseDetector
    from recanon_sdk.detect.openvino_pose import OpenVinoPoseDetector
    from recanon_sdk.geometry import box_iou

    config = DetectorConfig()
    ort_detector = OnnxPoseDetector(config, "yolo11n-pose-onnx", threads=1)
    ov_detector = OpenVinoPoseDetector(config, "yolo11n-pose-onnx", precision="f32", threads=1)
    assert (ov_detector.engine, ov_detector.precision, ov_detector.backend) == ("openvino", "f32", "openvino")
    assert ov_detector.weights == ort_detector.weights  # the same pinned file
    seen = 0
    for batch in (frames[:4], frames[4:5]):  # a batch of 4 and of 1: one compiled model, dynamic batch
        for a, b in zip(ort_detector.detect(batch), ov_detector.detect(batch), strict=True):
            assert len(a) == len(b)
            seen += len(a)
            if len(a):
                assert np.diag(box_iou(a.xyxy, b.xyxy)).min() > 0.99
                assert keypoint_distance(a, b).max(initial=0) < 0.1
                np.testing.assert_allclose(a.score, b.score, atol=1e-3)
    assert seen >= 4  # the walker is in these frames


@pytest.mark.slow
def test_openvino_bf16_finds_the_same_people(frames) -> None:
    need_openvino()
    if not engine.openvino_native_bf16():
        pytest.skip("this CPU has no native bf16 (AVX512-BF16 or AMX)")
    from recanon_sdk.detect.onnx_pose import OnnxPoseDetector
    from recanon_sdk.detect.openvino_pose import OpenVinoPoseDetector
    from recanon_sdk.geometry import box_iou

    config = DetectorConfig()
    ort_detector = OnnxPoseDetector(config, "yolo11n-pose-onnx", threads=1)
    ov_detector = OpenVinoPoseDetector(config, "yolo11n-pose-onnx", threads=1)
    assert ov_detector.precision == "bf16"  # auto on a CPU with native bf16
    distances = []
    for a, b in zip(ort_detector.detect(frames), ov_detector.detect(frames), strict=True):
        assert len(a) == len(b)
        if len(a):
            assert np.diag(box_iou(a.xyxy, b.xyxy)).min() > 0.9
            distances.append(keypoint_distance(a, b))
    distances = np.concatenate(distances)
    # bf16 moves keypoints by a fraction of a pixel on average, a few pixels at most (engine_parity.py)
    assert distances.size >= 20 and distances.mean() < 1.0 and distances.max() < 8.0


# -- what the sidecar records ---------------------------------------------------------------------


def header_of(sidecar: Path) -> dict:
    return json.loads(sidecar.read_text().splitlines()[0])


@pytest.mark.slow
@pytest.mark.parametrize("engine_name", ["onnxruntime", "openvino"])
def test_sidecar_header_records_the_engine(tmp_path, engine_name) -> None:
    if engine_name == "openvino":
        need_openvino()
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
    from recanon_sdk.detect.backend import create_pose_detector

    config = AnonymizerConfig()
    detector = create_pose_detector(config.detector, engine=engine_name, threads=1)
    result = Anonymizer(config, detector=detector).process_video(WALKING, tmp_path / "o.mp4", max_frames=3)
    pose = header_of(result.sidecar)["models"]["pose"]
    assert pose["name"] == "yolo11n-pose-onnx"
    if engine_name == "onnxruntime":
        assert (pose["backend"], pose["providers"]) == ("onnx", ["CPUExecutionProvider"])
        assert (detector.engine, detector.precision) == ("onnxruntime", "f32")
    else:
        assert (pose["backend"], pose["providers"]) == ("openvino", ["CPU"])
        assert (detector.engine, detector.precision) == (
            "openvino",
            "bf16" if engine.openvino_native_bf16() else "f32",
        )


@pytest.mark.slow
def test_cli_engine_option(tmp_path, monkeypatch) -> None:
    from recanon_cli.main import app
    from typer.testing import CliRunner

    runner = CliRunner()
    args = ["anonymize", str(WALKING), "--max-frames", "2"]
    done = runner.invoke(app, [*args, "-o", str(tmp_path / "a.mp4"), "--engine", "onnxruntime"])
    assert done.exit_code == 0, done.output
    assert "onnxruntime CPUExecutionProvider f32" in done.output
    assert header_of(tmp_path / "a.pose.jsonl")["models"]["pose"]["backend"] == "onnx"
    monkeypatch.setattr(engine, "openvino_installed", lambda: False)
    done = runner.invoke(app, [*args, "-o", str(tmp_path / "b.mp4"), "--engine", "openvino"])
    assert done.exit_code == 1
    assert "recanon: error: the openvino engine needs the Python package openvino" in done.output
    assert not (tmp_path / "b.mp4").exists()


@pytest.mark.slow
def test_default_run_imports_no_torch_even_where_it_is_installed(tmp_path) -> None:
    """The default anonymize path (packaged ONNX model, either engine) never loads torch or Ultralytics."""
    code = (
        "import sys\n"
        "from recanon_sdk.anonymizer import Anonymizer\n"
        f"Anonymizer().process_video({str(WALKING)!r}, {str(tmp_path / 'o.mp4')!r}, max_frames=2)\n"
        "heavy = ('torch', 'torchvision', 'ultralytics', 'nncf')\n"
        "print(','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    loaded = python_output(code)
    assert loaded == "", f"the default run loaded {loaded}"
