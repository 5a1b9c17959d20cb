"""The exported model on ONNX Runtime against the Ultralytics/torch detector, on real frames.

Tolerances (both run fp32 on the CPU, so they agree far closer than this): the same number of people,
matched boxes with IoU > 0.95, scores within 0.01, confident keypoints (conf > 0.5) within 1.0 px.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.detect.weights import PACKAGED_WEIGHTS, sha256_file
from recanon_sdk.geometry import box_iou
from recanon_sdk.types import People

pytestmark = pytest.mark.slow

WALKING = Path(__file__).resolve().parents[2] / "examples" / "walking.mp4"


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """Frames 20–29 of the bundled sample: one person walking."""
    from recanon_sdk.video.reader import VideoSource

    return [f.image for f in itertools.islice(VideoSource(WALKING), 20, 30)]


def assert_same_people(expected: People, actual: People) -> None:
    assert len(actual) == len(expected), f"torch found {len(expected)} people, onnx {len(actual)}"
    if not len(expected):
        return
    iou = box_iou(expected.xyxy, actual.xyxy)
    match = iou.argmax(axis=1)
    assert len(set(match.tolist())) == len(match), "two torch detections matched one onnx detection"
    assert iou[np.arange(len(match)), match].min() > 0.95
    np.testing.assert_allclose(actual.score[match], expected.score, atol=0.01)
    confident = expected.keypoints[:, :, 2] > 0.5
    error = np.abs(actual.keypoints[match, :, :2] - expected.keypoints[:, :, :2]).max(axis=2)
    assert error[confident].max(initial=0.0) < 1.0


def onnx_detector(config: DetectorConfig, model):
    from recanon_sdk.detect.onnx_pose import OnnxPoseDetector

    return OnnxPoseDetector(config, model, threads=1)


def test_manifest_records_the_export(exported_pose) -> None:
    manifest = json.loads(exported_pose.manifest_path.read_text())
    entry = manifest["models"][exported_pose.onnx_path.name]
    assert entry["sha256"] == sha256_file(exported_pose.onnx_path)
    assert entry["source"]["sha256"] == PACKAGED_WEIGHTS["yolo11n-pose"][2]
    assert (entry["opset"], entry["dynamic"], entry["fp16"]) == (17, True, False)
    assert entry["inputs"]["images"] == ["batch", 3, "height", "width"]
    assert entry["outputs"]["output0"] == ["batch", 56, "anchors"]
    assert entry["versions"]["ultralytics"] and entry["versions"]["onnx"] != "not installed"


def test_default_detector_parity(exported_pose, pose_detector, frames) -> None:
    """The video default (960 px + zoom-out pass) on a model traced at 320 px: dynamic axes at work."""
    onnx = onnx_detector(pose_detector.config, exported_pose.onnx_path)
    assert onnx.weights.sha256 == sha256_file(exported_pose.onnx_path)
    assert onnx.providers == ["CPUExecutionProvider"]
    for start in (0, 4, 8):
        batch = frames[start : start + 2]
        for expected, actual in zip(pose_detector.detect(batch), onnx.detect(batch), strict=True):
            assert len(expected) == 1  # the sample has one person in these frames
            assert_same_people(expected, actual)


def test_tiled_parity_from_bytes(exported_pose, frames) -> None:
    """Tiles of unequal shapes take the square letterbox; the model is given as bytes."""
    from recanon_sdk.detect.pose import PoseDetector

    config = DetectorConfig(imgsz=640, tiles=(2, 2), zoom_out=0)
    onnx = onnx_detector(config, exported_pose.onnx_path.read_bytes())
    assert onnx.weights.sha256 == sha256_file(exported_pose.onnx_path)
    torch_detector = PoseDetector(config)
    batch = frames[:2]
    for expected, actual in zip(torch_detector.detect(batch), onnx.detect(batch), strict=True):
        assert_same_people(expected, actual)


def test_fp16_export_finds_the_same_person(exported_pose, pose_detector, frames, tmp_path) -> None:
    from recanon_sdk.export import export_pose_onnx

    half = export_pose_onnx(exported_pose.onnx_path.parent, imgsz=320, half=True, overwrite=True)
    assert half.onnx_path.name == "yolo11n-pose-fp16.onnx" and half.entry["fp16"] is True
    manifest = json.loads(half.manifest_path.read_text())
    assert set(manifest["models"]) == {"yolo11n-pose.onnx", "yolo11n-pose-fp16.onnx"}
    config = DetectorConfig(zoom_out=0)
    h, w = frames[0].shape[:2]
    (expected,) = pose_detector._predict(frames[:1], config.imgsz_for(w, h), config.conf_for(w, h))
    (actual,) = onnx_detector(config, half.onnx_path).detect(frames[:1])
    assert len(actual) == len(expected) == 1
    assert box_iou(expected.xyxy, actual.xyxy)[0, 0] > 0.95


def test_cli_export_refuses_to_overwrite(exported_pose, capsys) -> None:
    from recanon_cli.commands.export import export

    with pytest.raises(SystemExit) as ended:
        export(out=exported_pose.onnx_path.parent, imgsz=320)
    assert ended.value.code == 1
    assert "already exists" in capsys.readouterr().err


def test_whole_pipeline_on_the_packaged_onnx_model_matches_torch(tmp_path) -> None:
    """The packaged ONNX model on ONNX Runtime against torch, end to end on the bundled sample."""
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
    from recanon_sdk.detect.backend import create_pose_detector
    from recanon_sdk.detect.pose import PoseDetector
    from recanon_sdk.video.reader import VideoSource
    from recanon_sdk.video.sidecar import Sidecar

    config = AnonymizerConfig()
    runs = {}
    for name, anonymizer in (
        ("torch", Anonymizer(config, detector=PoseDetector(config.detector))),
        ("onnx", Anonymizer(config, detector=create_pose_detector(config.detector, engine="onnxruntime"))),
    ):
        assert anonymizer.detector.backend == name
        result = anonymizer.process_video(WALKING, tmp_path / f"{name}.mp4", max_frames=30)
        frames = list(Sidecar(result.sidecar).frames())
        runs[name] = (frames, [f.image.astype(np.int16) for f in VideoSource(result.output)])
    (torch_frames, torch_images), (onnx_frames, onnx_images) = runs["torch"], runs["onnx"]
    assert sum(len(f.people) for f in torch_frames) >= 20  # the person is in most of these frames
    for a, b in zip(torch_frames, onnx_frames, strict=True):
        assert len(a.people) == len(b.people), f"frame {a.index}"
        assert a.people.track_id.tolist() == b.people.track_id.tolist()
        assert np.abs(a.people.region - b.people.region).max(initial=0) <= 2
    diff = np.abs(np.stack(torch_images) - np.stack(onnx_images))
    assert diff.mean() < 0.5 and np.percentile(diff, 99.9) < 16


def test_packaged_p_for_gx_video_runs_the_same_in_its_onnx_form(frames) -> None:
    """yolo11n-pose-gx ships as .pt and as ONNX (the runtime install's form): the same people on
    GX-anonymized frames of the bundled sample."""
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
    from recanon_sdk.detect.backend import choose_backend, pose_model_for
    from recanon_sdk.detect.pose import PoseDetector
    from recanon_sdk.detect.weights import resolve_weights

    assert choose_backend("auto", "yolo11n-pose-gx") == "onnx"
    name = pose_model_for("onnx", "yolo11n-pose-gx")
    assert resolve_weights(name).sha256 == PACKAGED_WEIGHTS[name][2]
    manifest = json.loads(
        resolve_weights(name).path.with_name("yolo11n-pose.export-manifest.json").read_text()
    )
    assert (
        manifest["models"]["yolo11n-pose-gx-compact.onnx"]["source"]["sha256"]
        == (PACKAGED_WEIGHTS["yolo11n-pose-gx"][2])
    )
    anonymizer = Anonymizer(AnonymizerConfig(enhancer="gx", model_secret=bytes(32)))
    anonymized = [anonymizer.process_frame(image)[0] for image in frames[4:7]]
    assert all(np.abs(a.astype(int) - f).mean() > 0.5 for a, f in zip(anonymized, frames[4:7], strict=True))
    config = DetectorConfig(weights="yolo11n-pose-gx", imgsz=640, conf=0.25, zoom_out=0)
    torch_detector, onnx = PoseDetector(config), onnx_detector(config, name)
    found = 0
    for image in anonymized:
        (expected,), (actual,) = torch_detector.detect([image]), onnx.detect([image])
        assert_same_people(expected, actual)
        found += len(expected)
    assert found >= 3  # something to compare on every frame (the person, and P's false positives)
