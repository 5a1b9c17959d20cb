"""The skeleton, ellipse and picture enhancers, and blur/pixelate sizes in pixels.

Each must replace every pixel of the person box (the ellipse's corners included) and fail closed;
the skeleton enhancer also gets each person's keypoints in its crop's pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.enhance import Blur, Ellipse, Mask, Pixelate, Replace, Skeleton, make_enhancer
from recanon_sdk.errors import InputError
from recanon_sdk.geometry import CropGeometry
from recanon_sdk.render import keypoints_in_regions
from recanon_sdk.types import SKELETON, People
from recanon_sdk.video.reader import VideoSource

H, W = 240, 320
BOX = (110.0, 40.0, 190.0, 220.0)


def _keypoints(box=BOX):
    x0, y0, x1, y1 = box
    cx, h = (x0 + x1) / 2, y1 - y0
    points = np.zeros((17, 3), np.float32)
    points[0] = (cx, y0 + 0.08 * h, 0.9)
    points[5:7] = [(cx - 20, y0 + 0.2 * h, 0.9), (cx + 20, y0 + 0.2 * h, 0.9)]
    points[11:13] = [(cx - 12, y0 + 0.55 * h, 0.9), (cx + 12, y0 + 0.55 * h, 0.9)]
    points[15:17] = [(cx - 12, y0 + 0.95 * h, 0.9), (cx + 12, y0 + 0.95 * h, 0.9)]
    return points


class One:
    def __init__(self, box=BOX, keypoints=None):
        self.people = People(xyxy=np.array([box], np.float32), score=np.array([0.9]), keypoints=keypoints)

    def detect(self, images):
        return [self.people[np.arange(len(self.people))] for _ in images]


def _textured(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)


def _box_pixels(image, box=BOX):
    x0, y0, x1, y1 = (int(v) for v in box)
    return image[y0:y1, x0:x1]


@pytest.mark.parametrize(
    "enhancer",
    [Skeleton(), Skeleton(fill=(0, 90, 0)), Ellipse(), Ellipse(inside=Blur(), outside=Pixelate())],
    ids=["skeleton", "skeleton-colour", "ellipse", "ellipse-blur-pixelate"],
)
def test_no_pixel_of_the_person_box_stays_raw(enhancer):
    image = _textured()
    anon = Anonymizer(AnonymizerConfig(), detector=One(keypoints=_keypoints()[None]), enhancer=enhancer)
    out, _ = anon.process_frame(image)
    raw = _box_pixels(image).astype(int)
    # textured noise: a pixel equal to the raw one in all three channels is a pixel left raw
    same = (np.abs(_box_pixels(out).astype(int) - raw) == 0).all(axis=2)
    assert same.mean() < 0.002, f"{same.mean():.1%} of the box is raw"
    x0, y0, x1, y1 = (int(v) for v in BOX)
    corners = [out[y0, x0], out[y0, x1 - 1], out[y1 - 1, x0], out[y1 - 1, x1 - 1]]
    raw_corners = [image[y0, x0], image[y0, x1 - 1], image[y1 - 1, x0], image[y1 - 1, x1 - 1]]
    assert all((a != b).any() for a, b in zip(corners, raw_corners, strict=True))


def test_the_ellipse_fills_its_centre_and_blurs_the_corners():
    crop = _textured()[:180, :80]
    out = Ellipse(inside=Mask(color=(0, 0, 255))).enhance([crop])[0]
    assert out[90, 40].tolist() == [0, 0, 255]
    blurred = Blur().enhance([crop])[0]
    assert np.abs(out[2, 2].astype(int) - blurred[2, 2]).max() <= 1  # a corner: the blur


def test_the_skeleton_is_drawn_where_the_keypoints_are_and_nothing_else_is_kept():
    image = _textured()
    points = _keypoints()
    anon = Anonymizer(AnonymizerConfig(), detector=One(keypoints=points[None]), enhancer=Skeleton())
    out, people = anon.process_frame(image)
    # the midpoint of the hip → shoulder limb is drawn in the line colour (white on this fill)
    mid = ((points[5, :2] + points[11, :2]) / 2).round().astype(int)
    hidden = out[mid[1], mid[0]]
    assert hidden.tolist() in ([255, 255, 255], [0, 0, 0])
    # away from the limbs, each row of the box is one colour: the fill
    x0, y0 = int(BOX[0]) + 2, int(BOX[1]) + 2
    patch = out[y0 : y0 + 5, x0 : x0 + 5]
    assert (patch == patch[:, :1]).all()
    assert people.region is not None and people.hidden.all()


def test_the_skeleton_enhancer_gets_keypoints_in_its_crop_pixels():
    received = {}

    class Spy(Skeleton):
        def enhance(self, crops, keypoints=None):
            received["crops"], received["keypoints"] = crops, keypoints
            return super().enhance(crops, keypoints=keypoints)

    points = _keypoints()
    anon = Anonymizer(AnonymizerConfig(), detector=One(keypoints=points[None]), enhancer=Spy())
    _, people = anon.process_frame(_textured())
    x0, y0 = people.region[0, :2]
    local = received["keypoints"][0]
    np.testing.assert_allclose(local[:, :2], points[:, :2] - [x0, y0], atol=1e-4)
    np.testing.assert_allclose(local[:, 2], points[:, 2])


def test_keypoints_follow_a_resized_crop():
    points = np.zeros((1, 17, 3))
    points[0, 0] = (50, 60, 0.8)
    local = keypoints_in_regions(points, np.array([[40, 40, 60, 80]]), size=(80, 40))[0]
    assert local[0].tolist() == [20.0, 40.0, 0.8]


@pytest.mark.parametrize(
    "bad",
    [[np.zeros((16, 3))], [np.full((17, 3), np.nan)], []],
    ids=["wrong-shape", "not-finite", "wrong-count"],
)
def test_bad_keypoints_make_the_skeleton_enhancer_raise(bad):
    with pytest.raises(ValueError):
        Skeleton().enhance([np.zeros((20, 10, 3), np.uint8)], keypoints=bad)


def test_a_skeleton_fault_obscures_the_whole_frame():
    class Broken(Skeleton):
        def enhance(self, crops, keypoints=None):
            return super().enhance(crops, keypoints=[np.zeros((3, 3))] * len(crops))

    image = _textured()
    anon = Anonymizer(AnonymizerConfig(), detector=One(keypoints=_keypoints()[None]), enhancer=Broken())
    out, _ = anon.process_frame(image)
    assert (np.abs(out.astype(int) - image).mean(axis=2) > 20).mean() > 0.9


def test_a_held_region_gets_the_plain_fill():
    detector = One(keypoints=_keypoints()[None])
    anon = Anonymizer(AnonymizerConfig(), detector=detector, enhancer=Skeleton(fill=(10, 200, 10)))
    for seed in range(3):
        anon.process_frame(_textured(seed))
    detector.people = People.empty()
    out, people = anon.process_frame(_textured(9))
    assert people.held.tolist() == [True]
    assert (_box_pixels(out) == (10, 200, 10)).all()


def test_replace_stretches_the_picture_over_the_region(tmp_path):
    import cv2

    picture = np.zeros((40, 20, 3), np.uint8)
    picture[:20] = (255, 0, 0)
    picture[20:] = (0, 0, 255)
    path = tmp_path / "smiley.png"
    cv2.imwrite(str(path), picture[:, :, ::-1])
    enhancer = Replace.from_file(path)
    anon = Anonymizer(
        AnonymizerConfig(geometry=CropGeometry(margin=0.0, feather=0.0)), detector=One(), enhancer=enhancer
    )
    out, people = anon.process_frame(_textured())
    x0, y0, x1, y1 = people.region[0]
    assert out[y0 + 2, (x0 + x1) // 2].tolist() == [255, 0, 0]
    assert out[y1 - 3, (x0 + x1) // 2].tolist() == [0, 0, 255]
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(InputError, match="is not a picture OpenCV can read"):
        Replace.from_file(tmp_path / "notes.png")
    with pytest.raises(InputError, match="does not exist"):
        Replace.from_file(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="uint8 RGB picture"):
        Replace(np.zeros((4, 4), np.uint8))


def test_blur_and_pixelate_in_pixels():
    crop = _textured()[:200, :100]
    assert Blur(sigma_px=4).sigma_for(600, 300) == 4.0
    small, large = Blur(sigma_px=2).enhance([crop])[0], Blur(sigma_px=12).enhance([crop])[0]
    # a stronger blur leaves less texture (the standard deviation of neighbouring differences)
    assert np.diff(large.astype(int), axis=1).std() < np.diff(small.astype(int), axis=1).std()
    out = Pixelate(cell_px=10).enhance([crop])[0]
    assert (out[:10, :10] == out[0, 0]).all() and (out[10:20, :10] == out[10, 0]).all()
    with pytest.raises(ValueError):
        Blur(sigma_px=0)
    with pytest.raises(ValueError):
        Pixelate(cell_px=0)


def test_new_looks_by_name():
    assert make_enhancer("skeleton").name == "skeleton"
    assert make_enhancer("ellipse").name == "ellipse"
    assert make_enhancer("ellipse", 0.2).outside.strength == 0.2
    with pytest.raises(ValueError, match="ellipse, skeleton"):
        make_enhancer("sparkle")


@pytest.mark.slow
def test_skeleton_on_real_footage_keeps_no_appearance_but_the_pose(walking_video, pose_detector):
    frames = [f.image for f, _ in zip(VideoSource(walking_video), range(320), strict=False)][300::10]
    anon = Anonymizer(AnonymizerConfig(), detector=pose_detector, enhancer="skeleton")
    drawn = 0
    for image in frames:
        out, people = anon.process_frame(image)
        for person in people:
            if person.region is None or not person.hidden:
                continue
            x0, y0, x1, y1 = person.region
            box = out[int(person.box[1]) : int(person.box[3]), int(person.box[0]) : int(person.box[2])]
            # each row is its fill colour except where a limb crosses it: no texture is left
            same = (box == box[:, :1]).all(axis=2) | (box == box[:, -1:]).all(axis=2)
            assert same.mean() > 0.8, "the fill should cover most of the box"
            for a, b in SKELETON:
                if person.keypoints[a, 2] >= 0.3 and person.keypoints[b, 2] >= 0.3:
                    x, y = ((person.keypoints[a, :2] + person.keypoints[b, :2]) / 2).round().astype(int)
                    if x0 <= x < x1 and y0 <= y < y1:
                        drawn += (out[y, x] != out[y, x0]).any()
    assert drawn >= 5, "the limbs of the walking person should be drawn"
