"""The ONNX path's own pre/post-processing on synthetic data: no model, no torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from recanon_sdk.detect.onnx_pose import POSE_ROW, Letterbox, decode_pose, letterbox, nms, resolve_providers
from recanon_sdk.errors import ModelError


def head_output(rows: list[tuple[float, float, float, float, float]], anchors: int = 50) -> np.ndarray:
    """A raw ``(56, anchors)`` head output of ``rows`` (cx, cy, w, h, score), keypoints at the box centre."""
    out = np.zeros((POSE_ROW, anchors), np.float32)
    for i, (cx, cy, w, h, score) in enumerate(rows):
        out[:5, i] = cx, cy, w, h, score
        out[5::3, i], out[6::3, i], out[7::3, i] = cx, cy, 0.9
    return out


IDENTITY = Letterbox(1.0, 1.0, 0, 0, 640, 640)


def test_decode_keeps_confident_rows_and_converts_boxes() -> None:
    raw = head_output([(100, 200, 40, 80, 0.9), (300, 300, 20, 20, 0.1)])
    people = decode_pose(raw, IDENTITY, conf=0.2, iou=0.6, max_people=10)
    assert len(people) == 1
    np.testing.assert_allclose(people.xyxy, [[80, 160, 120, 240]])
    np.testing.assert_allclose(people.score, [0.9])
    np.testing.assert_allclose(people.keypoints[0, :, :2], np.tile([100, 200], (17, 1)))


def test_decode_suppresses_overlaps_but_not_separate_people() -> None:
    raw = head_output([(100, 100, 50, 100, 0.7), (102, 101, 50, 100, 0.8), (400, 100, 50, 100, 0.5)])
    people = decode_pose(raw, IDENTITY, conf=0.2, iou=0.6, max_people=10)
    np.testing.assert_allclose(sorted(people.score), [0.5, 0.8])


def test_decode_caps_people_and_returns_empty_when_nobody() -> None:
    raw = head_output([(50 + 60 * i, 100, 40, 80, 0.3 + 0.05 * i) for i in range(8)])
    assert len(decode_pose(raw, IDENTITY, conf=0.2, iou=0.6, max_people=3)) == 3
    assert len(decode_pose(head_output([]), IDENTITY, conf=0.2, iou=0.6, max_people=3)) == 0


def test_decode_undoes_letterbox_and_clips_to_frame() -> None:
    # A 1280×720 frame letterboxed at 0.5 into 640×384 (rect): 12 px of padding on top.
    image, placement = letterbox(np.zeros((720, 1280, 3), np.uint8), (640, 640), rect=True)
    assert image.shape == (384, 640, 3) and (placement.pad_x, placement.pad_y) == (0, 12)
    raw = head_output([(320, 192, 100, 100, 0.9), (630, 20, 40, 40, 0.8)])
    people = decode_pose(raw, placement, conf=0.2, iou=0.6, max_people=10)
    np.testing.assert_allclose(people.xyxy[0], [540, 260, 740, 460])
    assert people.xyxy[:, [1, 3]].min() >= 0 and people.xyxy[:, [0, 2]].max() <= 1280
    assert people.keypoints[:, :, 1].min() >= 0


def test_letterbox_square_pads_both_sides_with_grey() -> None:
    image, placement = letterbox(np.full((100, 200, 3), 7, np.uint8), (320, 320), rect=False)
    assert image.shape == (320, 320, 3)
    assert (placement.gain_x, placement.gain_y, placement.pad_y) == (1.6, 1.6, 80)
    assert image[0, 0].tolist() == [114, 114, 114] and image[160, 160].tolist() == [7, 7, 7]


def test_decode_rejects_a_wrong_head() -> None:
    with pytest.raises(ModelError, match="expected"):
        decode_pose(np.zeros((84, 10), np.float32), IDENTITY, conf=0.2, iou=0.6, max_people=10)


def test_nms_keeps_the_best_of_a_cluster() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [50, 50, 60, 60], [0, 0, 10, 10]], np.float32)
    assert nms(boxes, np.array([0.5, 0.9, 0.4, 0.3]), 0.6, 10).tolist() == [1, 2]


def test_providers_follow_device_and_refuse_missing_ones() -> None:
    assert resolve_providers(None, "cpu") == ["CPUExecutionProvider"]
    assert resolve_providers(None, "0")[0] == ("CUDAExecutionProvider", {"device_id": 0})
    assert resolve_providers("cpu") == ["CPUExecutionProvider"]
    assert resolve_providers("auto")[-1] == "CPUExecutionProvider"
    with pytest.raises(ModelError, match="not available"):
        resolve_providers(["NoSuchExecutionProvider"])


def test_onnx_path_imports_neither_torch_nor_ultralytics() -> None:
    code = (
        "import sys, recanon_sdk.detect.onnx_pose, onnxruntime\n"
        "heavy = sorted(m for m in ('torch', 'ultralytics', 'torchvision') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "", f"importing the ONNX pose path loaded {done.stdout.strip()}"


def test_auto_runs_the_packaged_default_on_onnx_where_torch_is_missing(monkeypatch) -> None:
    from recanon_sdk.detect import backend

    monkeypatch.setattr(backend, "torch_available", lambda: False)
    assert backend.choose_backend("auto", "yolo11n-pose", device="cuda") == "onnx"
    assert backend.pose_model_for("onnx", "yolo11n-pose") == "yolo11n-pose-onnx"
    for backend_name, model in (("torch", "yolo11n-pose"), ("auto", "m/own.pt")):
        with pytest.raises(ModelError, match="torch pose backend needs torch") as raised:
            backend.choose_backend(backend_name, model)
        assert "pip install 'recanon[torch]'" in (raised.value.hint or "")


def test_backend_choice_follows_the_model() -> None:
    from recanon_sdk.detect.backend import choose_backend

    assert choose_backend("auto", "m/yolo11n-pose.onnx") == "onnx"
    assert choose_backend("auto", b"\x08\x01") == "onnx"
    assert choose_backend("auto", "yolo11n-pose") == "onnx"  # CPU: the packaged ONNX form, 2× faster
    assert choose_backend("auto", "yolo11n-pose", device="cuda") == "torch"
    assert choose_backend("torch", "yolo11n-pose") == "torch"
    assert choose_backend("onnx", "m/pose.ONNX") == "onnx"
    assert choose_backend("onnx", "yolo11n-pose") == "onnx"  # its packaged ONNX form
    with pytest.raises(ModelError, match="needs an exported"):
        choose_backend("onnx", "m/yolo11s-pose.pt")
    with pytest.raises(ModelError, match="cannot run an"):
        choose_backend("torch", "m/pose.onnx")


@pytest.mark.parametrize(
    "name",
    [
        "recanon_sdk.detect.onnx_pose",
        "recanon_sdk.detect.backend",
        "recanon_sdk.detect.engine",
        "recanon_sdk.detect.exported",
        "recanon_sdk.detect.yolo_io",
    ],
)
def test_docstring_examples_run(name: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_exported_detector_runs_the_network_engine_batch_frames_at_a_time() -> None:
    """``detect`` takes any number of frames; the engine sees at most ``engine_batch`` (memory)."""
    from recanon_sdk.detect.exported import ExportedPoseDetector
    from recanon_sdk.detect.pose import DetectorConfig

    class Recording(ExportedPoseDetector):
        def __init__(self, engine_batch: int, model_batch: object = "batch") -> None:
            self.config = DetectorConfig(zoom_out=0)
            self.weights = None
            self.engine_batch = engine_batch
            self.calls: list[int] = []
            self._configure({"task": "pose"}, [model_batch, 3, "height", "width"])

        def _infer(self, batch: np.ndarray) -> np.ndarray:
            self.calls.append(len(batch))
            out = np.zeros((len(batch), POSE_ROW, 10), np.float32)
            out[:, :5, 0] = 40, 40, 20, 40, 0.9  # one person per frame
            return out

    frames = [np.zeros((96, 128, 3), np.uint8)] * 5
    for engine_batch, calls in ((1, [1] * 5), (2, [2, 2, 1]), (8, [5])):
        detector = Recording(engine_batch)
        found = detector.detect(frames)
        assert detector.calls == calls and [len(p) for p in found] == [1] * 5
    fixed = Recording(4, model_batch=1)  # a model exported with batch 1 caps it further
    fixed.detect(frames)
    assert fixed.calls == [1] * 5
