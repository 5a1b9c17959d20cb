"""P fine-tuned on whole anonymized frames (recanon_sdk.training.scene_pose)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from recanon_cli.main import app
from recanon_sdk.training.scene_pose import Scene, SceneConfig, _batch, load_scene_config
from typer.testing import CliRunner

pytest.importorskip("ultralytics")

WALKING = Path(__file__).resolve().parents[2] / "examples" / "walking.mp4"


def synthetic_scene(rng: np.random.Generator) -> Scene:
    """A 270×480 frame with one 'person': a white 3×3 dot at each visible keypoint, in a box."""
    raw = np.zeros((270, 480, 3), np.uint8)
    keypoints = np.zeros((1, 17, 3), np.float32)
    keypoints[0, :, 0] = rng.uniform(200, 260, 17)
    keypoints[0, :, 1] = rng.uniform(60, 220, 17)
    keypoints[0, ::2, 2] = 2.0
    for x, y, v in keypoints[0]:
        if v:
            raw[int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2] = 255
    box = np.array([[190, 50, 270, 230]], np.float32)
    return Scene(raw, raw // 2, box, keypoints, "synthetic")


def test_targets_follow_the_frame_into_the_letterbox():
    """Each visible keypoint, mapped as the targets say, lands on its dot in the placed frame; the box
    holds the keypoints; scale and place are random."""
    rng = np.random.default_rng(0)
    scenes = [synthetic_scene(rng) for _ in range(3)]
    cfg = SceneConfig(imgsz=320, scale=(0.5, 1.0))
    anon, raw, targets = _batch(scenes, cfg, np.random.default_rng(1))
    assert anon.shape == raw.shape == (3, 320, 320, 3)
    assert targets["batch_idx"].tolist() == [0, 1, 2]
    for i in range(3):
        kp = targets["keypoints"][i]
        visible = kp[:, 2] > 0
        assert visible.sum() == 9
        xs, ys = kp[visible, 0] * 320, kp[visible, 1] * 320
        for x, y in zip(xs, ys, strict=True):  # the dot, blurred by the resize, is near
            patch = raw[i, max(int(y) - 2, 0) : int(y) + 3, max(int(x) - 2, 0) : int(x) + 3]
            assert patch.max() > 40, (i, x, y)
        cx, cy, w, h = targets["bboxes"][i] * 320
        assert (abs(xs - cx) <= w / 2).all() and (abs(ys - cy) <= h / 2).all()
        frame = np.argwhere(raw[i, :, :, 0] == 0)  # the black frame inside the grey letterbox
        same = np.argwhere(anon[i, :, :, 0] == 0)  # the anonymized frame: the same place
        assert (frame.min(0) == same.min(0)).all() and (frame.max(0) == same.max(0)).all()
    placements = {tuple(np.argwhere(raw[i, :, :, 0] == 0).min(0)) for i in range(3)}
    assert len(placements) == 3


def test_scene_config_reads_relative_sources_and_refuses_unknown_keys(tmp_path):
    config = tmp_path / "scene.toml"
    config.write_text('task = "scene_pose"\nsources = ["clip.mp4", {path = "more", every = 2}]\nsteps = 3\n')
    cfg = load_scene_config(config, ["lr=1e-4"])
    assert cfg.sources == [str(tmp_path / "clip.mp4"), {"path": str(tmp_path / "more"), "every": 2}]
    assert (cfg.steps, cfg.lr) == (3, 1e-4)
    with pytest.raises(ValueError, match="unknown setting nope"):
        load_scene_config(config, ["nope=1"])
    config.write_text('sources = ["clip.mp4"]\n')
    with pytest.raises(ValueError, match="not a scene_pose config"):
        load_scene_config(config)


@pytest.mark.slow
def test_recanon_train_runs_the_scene_stage_and_writes_a_loadable_p(tmp_path):
    """Two steps on frames of the bundled sample, through the real pipeline with the packaged GX."""
    config = tmp_path / "scene.toml"
    config.write_text(
        f'task = "scene_pose"\nsources = [{{path = "{WALKING}", every = 10}}]\nimgsz = 256\n'
        "batch_size = 2\nsteps = 2\nthreads = 1\n"
    )
    result = CliRunner().invoke(app, ["train", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert [r["step"] for r in rows] == ["1", "2"]
    assert all(math.isfinite(float(r["loss_anonymized"])) and float(r["loss_anonymized"]) > 0 for r in rows)
    from recanon_sdk.detect.pose import DetectorConfig, PoseDetector
    from recanon_sdk.video.reader import VideoSource

    detector = PoseDetector(DetectorConfig(weights=tmp_path / "run" / "pose.pt", imgsz=640))
    assert detector.weights.path == (tmp_path / "run" / "pose.pt").resolve()
    sample = Path(__file__).resolve().parents[2] / "examples" / "walking.mp4"
    frame = next(f.image for f in VideoSource(sample) if f.index == 40)  # one person in full view
    (people,) = detector.detect([frame])
    # two steps of fine-tuning leave a working pose model: it still finds the person, with keypoints
    assert len(people) >= 1, "the fine-tuned pose.pt finds nobody in a frame with a person"
    best = int(np.argmax(people.score))
    confident = people.keypoints[best, people.keypoints[best, :, 2] > 0.5, :2]
    assert len(confident) >= 5
    x0, y0, x1, y1 = people.xyxy[best]
    assert ((confident >= [x0 - 5, y0 - 5]) & (confident <= [x1 + 5, y1 + 5])).all()


def test_recanon_train_refuses_a_bad_scene_config(tmp_path):
    config = tmp_path / "scene.toml"
    config.write_text('task = "scene_pose"\nsources = ["missing.mp4"]\nsteps = 1\n')
    result = CliRunner().invoke(app, ["train", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1 and "does not exist" in result.stderr
    config.write_text('task = "scene_pose"\nsource = ["typo.mp4"]\n')
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 1 and "unknown setting source" in result.stderr


def test_scene_config_resolves_the_portrait_folder(tmp_path):
    config = tmp_path / "scene.toml"
    config.write_text(
        'task = "scene_pose"\nsources = ["clip.mp4"]\nportraits = "crops"\nportrait_size = [128, 64]\n'
        "portrait_share = 0.5\n"
    )
    cfg = load_scene_config(config)
    assert (cfg.portraits, cfg.portrait_size, cfg.portrait_share) == (str(tmp_path / "crops"), (128, 64), 0.5)


def test_portraits_come_only_from_the_training_split_and_look_like_the_eval_s(tmp_path):
    """Portraits are the files `recanon eval --heldout` does not see, cropped as the eval crops them,
    with the anonymized form after the codec next to the raw one."""
    from recanon_sdk.datasets import split_indices
    from recanon_sdk.training.scene_pose import prepare_portraits

    rng = np.random.default_rng(3)
    folder = tmp_path / "crops"
    folder.mkdir()
    for i in range(10):  # each file a flat colour of its own, so a portrait tells which file it was
        image = np.full((160, 96, 3), 20 * i + 10, np.uint8)
        image[rng.integers(0, 160, 50), rng.integers(0, 96, 50)] = 0
        cv2.imwrite(str(folder / f"crop{i:02d}.png"), image)
    cfg = SceneConfig(portraits=str(folder), portrait_holdout=0.3, portrait_size=(128, 64))
    portraits = prepare_portraits(cfg, log=lambda _: None)
    train, held = split_indices(10, 0.3)
    assert len(portraits) == len(train) == 7 and len(held) == 3
    for portrait, index in zip(portraits, train, strict=True):
        assert portrait.raw.shape == portrait.anonymized.shape == (128, 64, 3)
        assert abs(float(np.median(portrait.raw)) - (20 * index + 10)) <= 2  # the training file it came from
        assert not np.array_equal(portrait.raw, portrait.anonymized)  # GX and the codec changed it
        assert portrait.keypoints.shape[1:] == (17, 3) and len(portrait.boxes) == len(portrait.keypoints)


def test_scene_portraits_cut_each_teacher_person_from_its_raw_frame():
    from recanon_sdk.training.scene_pose import Scene, portraits_from_scenes

    frame = np.zeros((200, 300, 3), np.uint8)
    frame[20:180, 40:100] = 200  # person 1: a bright block
    frame[50:150, 200:250] = 90  # person 2: a darker one
    kp = np.zeros((2, 17, 3), np.float32)
    boxes = np.array([[40, 20, 100, 180], [200, 50, 250, 150]], np.float32)
    scenes = [Scene(frame, frame.copy(), boxes, kp, "clip"), Scene(frame, frame, boxes[:0], kp[:0], "clip")]
    portraits = portraits_from_scenes(scenes, SceneConfig(portrait_size=(128, 64)), log=lambda _: None)
    assert len(portraits) == 2  # one per teacher person; the frame without people gives none
    centres = [float(p.raw[40:88, 20:44].mean()) for p in portraits]
    assert abs(centres[0] - 200) < 5 and abs(centres[1] - 90) < 5  # each cut around its own box
    for portrait in portraits:
        assert portrait.raw.shape == portrait.anonymized.shape == (128, 64, 3) and portrait.source == "scenes"
        assert not np.array_equal(portrait.raw, portrait.anonymized)  # GX and the codec changed it


def test_a_portrait_share_without_portraits_is_refused(tmp_path):
    from recanon_sdk.training.scene_pose import finetune_on_scenes

    scene = synthetic_scene(np.random.default_rng(0))
    cfg = SceneConfig(portrait_share=0.5, steps=1, out=str(tmp_path / "run"))
    with pytest.raises(ValueError, match="portrait_share > 0 needs portraits"):
        finetune_on_scenes(cfg, [scene], log=lambda _: None)
