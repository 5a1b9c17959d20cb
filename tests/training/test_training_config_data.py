"""Training config (TOML + overrides) and the person-crop data sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from recanon_sdk.datasets import (
    MPII_TO_COCO,
    coco_records,
    folder_records,
    mpii_records,
    shared_data_dir,
    split_indices,
    synthetic_records,
    video_records,
)
from recanon_sdk.portraits import crop_person
from recanon_sdk.training.config import TrainConfig, apply_overrides, config_from_dict, load_config
from recanon_sdk.training.data import PersonCrops, build_split_records, hflip

REPO = Path(__file__).resolve().parents[2]
SHARED = shared_data_dir()
needs_shared = pytest.mark.shared  # tests/conftest.py skips these (or fails them in CI) without the data


def test_tiny_config_loads_and_is_small() -> None:
    cfg = load_config(REPO / "configs" / "tiny.toml")
    assert cfg.steps <= 10 and cfg.batch_size <= 4 and cfg.threads == 1
    assert tuple(cfg.data.size) == (128, 64)
    assert cfg.data.sources[0].kind == "synthetic"


#: Every training config in the repository: the user's smoke config and the research recipes.
CONFIG_FOLDERS = ("configs", "research/configs", "research/gpu")
CONFIGS = sorted(path for folder in CONFIG_FOLDERS for path in (REPO / folder).rglob("*.toml"))


def test_every_config_in_the_repository_parses() -> None:
    import tomllib

    from recanon_sdk.training.scene_pose import SceneConfig, is_scene_config, load_scene_config

    assert len(CONFIGS) > 20, CONFIGS
    scene = []
    for path in CONFIGS:
        if is_scene_config(tomllib.loads(path.read_text())):
            scene.append(path.name)
            assert isinstance(load_scene_config(path), SceneConfig), path
        else:
            assert isinstance(load_config(path), TrainConfig), path
    assert scene == ["scene_portrait_pose.toml", "scene_portrait_pose_mixed.toml", "scene_pose.toml"]
    recipes = REPO / "research" / "configs"
    portrait = load_scene_config(recipes / "scene_portrait_pose.toml")
    assert portrait.portrait_share == 0.5 and portrait.portraits.endswith("inria_person")
    assert not portrait.scene_portraits
    assert load_scene_config(recipes / "scene_portrait_pose_mixed.toml").scene_portraits


def test_relative_data_paths_point_at_the_shared_data_or_the_gpu_copy() -> None:
    """Config data paths are relative to the config file: after a config moves, they must still
    reach ``<repo>/../shared/data`` (the CPU recipes) or ``<repo>/.gpu`` (the GPU recipes)."""
    import tomllib

    from recanon_sdk.training.scene_pose import is_scene_config, load_scene_config

    allowed = ((REPO.parent / "shared" / "data").resolve(), (REPO / ".gpu").resolve())
    checked = 0
    for path in CONFIGS:
        if is_scene_config(tomllib.loads(path.read_text())):
            scene = load_scene_config(path)
            paths = [s["path"] if isinstance(s, dict) else s for s in scene.sources] + [scene.portraits]
        else:
            paths = [s.path for s in load_config(path).data.sources if s.path]
        for value in paths:
            if not value:
                continue
            resolved = Path(value).resolve()
            assert any(resolved.is_relative_to(root) for root in allowed), (path, value)
            checked += 1
    assert checked >= 30


def test_overrides_and_errors() -> None:
    cfg = apply_overrides(
        TrainConfig(), ["optim.lr=1e-3", "data.size=[64, 32]", "model.keyed=false", "device=cpu"]
    )
    assert (
        cfg.optim.lr == 1e-3
        and cfg.data.size == (64, 32)
        and cfg.model.keyed is False
        and cfg.device == "cpu"
    )
    with pytest.raises(ValueError, match="unknown setting"):
        apply_overrides(cfg, ["loss.lambda_magic=1"])
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides(cfg, ["steps"])
    with pytest.raises(ValueError, match="expected int"):
        config_from_dict({"steps": "many"})
    with pytest.raises(ValueError, match="unknown setting"):
        config_from_dict({"modle": {}})


def test_crop_person_maps_the_box_into_the_crop() -> None:
    img = np.zeros((200, 300, 3), np.uint8)
    img[50:150, 100:150] = 255  # the "person"
    crop, m = crop_person(img, np.array([100, 50, 150, 150]), (128, 64), margin=0.1)
    assert crop.shape == (128, 64, 3)
    corners = np.array([[100, 50], [150, 150]]) @ m[:, :2].T + m[:, 2]
    x1, y1, x2, y2 = corners.reshape(-1)
    assert 0 <= x1 < x2 <= 64 and 0 <= y1 < y2 <= 128
    assert y2 - y1 == pytest.approx(128 / 1.2, rel=1e-3)  # the taller side fills the crop minus margins
    inside = crop[int(y1) + 2 : int(y2) - 2, int(x1) + 2 : int(x2) - 2]
    assert inside.mean() > 250 and crop[:, :2].mean() < 5


def test_flip_swaps_left_and_right_keypoints() -> None:
    plain = PersonCrops(synthetic_records(1, seed=3), (128, 64), augment=False).get(
        0, np.random.default_rng(0)
    )
    img, box, kp = plain["image"].permute(1, 2, 0).numpy(), plain["box"].numpy(), plain["keypoints"].numpy()
    assert kp[5, 0] > kp[6, 0]  # the subject faces us: their left shoulder is on the image right
    f_img, f_box, f_kp = hflip(img, box, kp)
    assert f_kp[5, 0] == pytest.approx(63 - kp[6, 0]) and f_kp[6, 0] == pytest.approx(63 - kp[5, 0])
    assert f_kp[5, 0] > f_kp[6, 0]  # the mirrored subject still shows the left shoulder on the right
    assert np.array_equal(f_img[:, 0], img[:, -1])
    assert f_box[0] == pytest.approx(64 - box[2])
    b_img, b_box, b_kp = hflip(f_img, f_box, f_kp)
    assert np.allclose(b_kp, kp) and np.allclose(b_box, box) and np.array_equal(b_img, img)


def test_split_is_deterministic_and_disjoint() -> None:
    a, b = split_indices(50, 0.2)
    assert (a, b) == split_indices(50, 0.2)
    assert not set(a) & set(b) and len(b) == 10 and sorted(a + b) == list(range(50))
    assert split_indices(1, 0.5) == ([0], [])


def test_adding_a_source_never_moves_another_sources_held_out_samples(tmp_path: Path) -> None:
    import cv2
    from recanon_sdk.training.config import SourceConfig

    for name, n in (("a", 30), ("b", 12)):
        (tmp_path / name).mkdir()
        for i in range(n):
            cv2.imwrite(str(tmp_path / name / f"{i:03d}.png"), np.full((32, 16, 3), i, np.uint8))
    a = SourceConfig(kind="folder", path=str(tmp_path / "a"))
    b = SourceConfig(kind="folder", path=str(tmp_path / "b"))
    records, _, held_alone = build_split_records([a], 0.1)
    assert len(records) == 30
    records, train, held = build_split_records([a, b], 0.1)
    assert len(records) == 42
    assert held_alone == split_indices(30, 0.1)[1]  # what `recanon eval --heldout 0.1` holds out of a
    assert [i for i in held if i < 30] == held_alone  # not moved by b (a split over all 42 would)
    assert [i - 30 for i in held if i >= 30] == split_indices(12, 0.1)[1]
    assert sorted(train + held) == list(range(42)) and not set(train) & set(held)
    assert split_indices(42, 0.1)[1][: len(held_alone)] != held_alone


@needs_shared
def test_coco_records_from_the_shared_samples() -> None:
    recs = coco_records(SHARED / "pose_gt" / "coco" / "test_coco.json")
    assert len(recs) >= 5
    ds = PersonCrops(recs, (128, 64))
    s = ds[0]
    assert s["image"].shape == (3, 128, 64) and bool(s["has_keypoints"])
    visible = s["keypoints"][s["keypoints"][:, 2] > 0]
    assert len(visible) > 0
    assert (visible[:, 0] >= 0).all() and (visible[:, 0] < 64).all() and (visible[:, 1] < 128).all()


@needs_shared
def test_mpii_records_map_to_coco() -> None:
    recs = mpii_records(SHARED / "pose_gt" / "mpii" / "test_mpii.json")
    assert len(recs) == 5
    kp = recs[0].keypoints
    assert kp is not None and kp.shape == (17, 3)
    assert (kp[:5, 2] == 0).all()  # MPII has no face keypoints
    assert (kp[list(MPII_TO_COCO.values()), 2] > 0).sum() >= 6


def test_coco_style_files_of_other_skeletons_map_to_coco17_by_name(tmp_path: Path) -> None:
    import cv2

    # a CrowdPose-style file (14 joints, two without a COCO-17 counterpart) whose file_name carries
    # the archive's folders, as HumanArt's do
    (tmp_path / "real").mkdir()
    cv2.imwrite(str(tmp_path / "real" / "a.jpg"), np.full((60, 40, 3), 90, np.uint8))
    names = ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
             "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
             "right_ankle", "head", "neck"]  # fmt: skip
    raw = np.zeros((14, 3))
    raw[0] = (10, 11, 2)  # left_shoulder
    raw[11] = (30, 55, 1)  # right_ankle
    raw[12] = (20, 2, 2)  # head: no COCO-17 joint
    few = np.zeros((14, 3))
    few[12] = (20, 2, 2)  # only the head: nothing COCO-17 shares
    data = {
        "images": [{"id": 7, "file_name": "Archive/images/real/a.jpg", "width": 40, "height": 60}],
        "annotations": [
            {"image_id": 7, "bbox": [5, 1, 30, 58], "keypoints": raw.ravel().tolist(), "iscrowd": 0},
            {"image_id": 7, "bbox": [5, 1, 30, 58], "keypoints": few.ravel().tolist(), "iscrowd": 0},
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": names}],
    }
    (tmp_path / "ann.json").write_text(__import__("json").dumps(data))
    recs = coco_records(tmp_path / "ann.json")
    assert len(recs) == 1  # the head-only person has no joint to score
    kp = recs[0].keypoints
    assert kp is not None and kp.shape == (17, 3)
    assert kp[5].tolist() == [10, 11, 2] and kp[16].tolist() == [30, 55, 1]
    assert int((kp[:, 2] > 0).sum()) == 2  # the head went nowhere
    assert recs[0].load().shape == (60, 40, 3)  # found under the archive's inner folders


@needs_shared
@pytest.mark.parametrize(
    ("folder", "people"), [("aic", 9), ("crowdpose", 4), ("exlpose", 6), ("mhp", 4), ("humanart", 4)]
)
def test_other_shared_skeletons_load_as_coco17(folder: str, people: int) -> None:
    recs = coco_records(SHARED / "pose_gt" / folder / f"test_{folder}.json")
    assert len(recs) == people
    for r in recs:
        assert r.keypoints is not None and r.keypoints.shape == (17, 3) and (r.keypoints[:, 2] > 0).any()
        assert r.load().ndim == 3
    if folder != "humanart":  # these skeletons have no eyes or ears
        assert all((r.keypoints[1:5, 2] == 0).all() for r in recs)


@needs_shared
def test_posetrack18_head_points_are_not_scored_as_eyes() -> None:
    # PoseTrack18 keeps COCO's 17 slots but puts head_bottom / head_top where COCO has the eyes
    recs = coco_records(
        SHARED / "pose_gt" / "posetrack18" / "annotations" / "test_posetrack18_val.json",
        SHARED / "pose_gt" / "posetrack18",
    )
    assert len(recs) == 14
    assert all((r.keypoints[1:3, 2] == 0).all() for r in recs)  # no eyes
    assert sum(int(r.keypoints[0, 2] > 0) for r in recs) >= 10  # the nose stays


@needs_shared
def test_folder_records_are_unlabelled_portraits() -> None:
    recs = folder_records(SHARED / "images" / "inria_person", limit=3)
    s = PersonCrops(recs, (128, 64), augment=True)[1]
    assert s["image"].shape == (3, 128, 64) and not bool(s["has_keypoints"])
    assert float(s["image"].min()) >= 0 and float(s["image"].max()) <= 1


@needs_shared
def test_video_records_use_the_detector_and_carry_its_keypoints_as_labels() -> None:
    video = SHARED / "videos" / "intel" / "one-by-one-person-detection.mp4"
    seen: list[tuple[int, ...]] = []

    def detector(frame: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        seen.append(frame.shape)
        kp = np.zeros((17, 3), np.float32)
        kp[0] = (400, 120, 2)
        return [(np.array([350, 100, 450, 400], np.float32), kp)]

    recs = video_records(video, frame_stride=5, limit=2, detector=detector)
    assert len(recs) == 2 and seen[0] == (432, 768, 3)
    s = PersonCrops(recs, (128, 64))[0]
    assert bool(s["has_keypoints"]) and s["keypoints"][0, 2] > 0
    assert s["image"].shape == (3, 128, 64)
