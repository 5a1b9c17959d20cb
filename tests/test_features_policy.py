"""The hiding policy: head-only regions, zones, kept tracks, a size limit; failing closed stays whole.

Fake detectors place people exactly, so each test knows which pixels must change and which must not;
the real-footage test runs the real pose model on a frame of the shared walking clip.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.enhance import Blur, Mask
from recanon_sdk.geometry import CropGeometry, head_boxes
from recanon_sdk.policy import HidePolicy, PrivacyWarning, Zone
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

from tests.conftest import write_test_video

H, W = 120, 160
LEFT = (20.0, 20.0, 60.0, 110.0)  # feet at (40, 110): left half
RIGHT = (100.0, 20.0, 140.0, 110.0)  # feet at (120, 110): right half
GREY = (128, 128, 128)


def textured(seed=0):
    return np.random.default_rng(seed).integers(0, 255, (H, W, 3), dtype=np.uint8)


class Boxes:
    """Finds the given people in every frame, except that it raises on the frames (in order of first
    sight; a retry sees the same frame) listed in ``fail_on``."""

    def __init__(self, *boxes, keypoints=None, fail_on=()):
        self.people = People(
            xyxy=np.array(boxes, np.float32), score=np.full(len(boxes), 0.9), keypoints=keypoints
        )
        self.seen: dict[bytes, int] = {}
        self.fail_on = fail_on

    def detect(self, images):
        out = []
        for image in images:
            index = self.seen.setdefault(hashlib.sha256(image.tobytes()).digest(), len(self.seen))
            if index in self.fail_on:
                raise RuntimeError("injected detector fault")
            out.append(self.people[np.arange(len(self.people))])
        return out


def anonymizer(detector, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        return Anonymizer(
            AnonymizerConfig(batch_size=2, geometry=CropGeometry(margin=0.1)),
            detector=detector,
            enhancer=Mask(color=GREY),
            **options,
        )


def changed(out, image, box):
    x0, y0, x1, y1 = (int(v) for v in box)
    return bool((out[y0:y1, x0:x1] != image[y0:y1, x0:x1]).any())


def masked(out, box):
    """Every pixel of ``box`` (clipped to the frame) is the mask's grey."""
    h, w = out.shape[:2]
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return x1 > x0 and y1 > y0 and bool((out[y0:y1, x0:x1] == GREY).all())


def test_by_default_everyone_is_hidden_whole():
    image = textured()
    out, people = anonymizer(Boxes(LEFT, RIGHT)).process_frame(image)
    assert masked(out, LEFT) and masked(out, RIGHT)
    assert people.hidden.all()


@pytest.mark.parametrize("relative", [True, False])
def test_exclude_zones_leave_the_people_in_them_visible(relative):
    zone = (
        [(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)]
        if relative
        else [(80, 0), (160, 0), (160, 120), (80, 120)]
    )
    image = textured()
    out, people = anonymizer(Boxes(LEFT, RIGHT), exclude_zones=[zone]).process_frame(image)
    assert masked(out, LEFT)
    assert not changed(out, image, RIGHT), "the person in the exclude zone must stay as they are"
    assert people.hidden.tolist() == [True, False] and people.region[1].tolist() == [0, 0, 0, 0]


def test_include_zones_hide_only_the_people_in_them():
    image = textured()
    out, people = anonymizer(Boxes(LEFT, RIGHT), include_zones=["0,0 0.5,0 0.5,1 0,1"]).process_frame(image)
    assert masked(out, LEFT) and not changed(out, image, RIGHT)
    assert people.hidden.tolist() == [True, False]


def test_kept_tracks_stay_visible_and_everyone_else_hidden():
    frames = [textured(seed) for seed in range(4)]
    anon = anonymizer(Boxes(LEFT, RIGHT), keep_tracks={2})
    results = [anon.process_frame(f) for f in frames]
    for image, (out, people) in zip(frames, results, strict=True):
        assert masked(out, LEFT)  # track 1 (or unconfirmed): always hidden
        if people.track_id is not None and 2 in people.track_id.tolist():
            assert not changed(out, image, RIGHT)
        else:
            assert masked(out, RIGHT), "an unconfirmed track is not a kept one"
    assert 2 in results[-1][1].track_id.tolist(), "the tracker should have confirmed both tracks"


def test_max_region_drops_only_boxes_larger_than_the_limit():
    big = (0.0, 0.0, 150.0, 118.0)  # 92 % of the frame
    image = textured()
    out, people = anonymizer(Boxes(big, LEFT), max_region=0.5).process_frame(image)
    assert people.hidden.tolist() == [False, True]
    assert masked(out, LEFT)
    _, default_people = anonymizer(Boxes(big, LEFT)).process_frame(image)
    assert default_people.hidden.all(), "without max_region a frame-filling person is hidden"


def _person_keypoints(box):
    """Keypoints of an upright person in ``box``: a face at the top, hips and knees below."""
    x0, y0, x1, y1 = box
    cx, h = (x0 + x1) / 2, y1 - y0
    points = np.zeros((17, 3), np.float32)
    points[0] = (cx, y0 + 0.08 * h, 0.9)  # nose
    points[1:3] = [(cx - 3, y0 + 0.06 * h, 0.9), (cx + 3, y0 + 0.06 * h, 0.9)]  # eyes
    points[5:7] = [(cx - 10, y0 + 0.2 * h, 0.9), (cx + 10, y0 + 0.2 * h, 0.9)]  # shoulders
    points[11:13] = [(cx - 7, y0 + 0.55 * h, 0.9), (cx + 7, y0 + 0.55 * h, 0.9)]  # hips
    points[13:15] = [(cx - 7, y0 + 0.78 * h, 0.9), (cx + 7, y0 + 0.78 * h, 0.9)]  # knees
    return points


def test_head_region_hides_the_head_and_keeps_the_body():
    keypoints = np.stack([_person_keypoints(LEFT)])
    image = textured()
    out, people = anonymizer(Boxes(LEFT, keypoints=keypoints), region="head").process_frame(image)
    head = head_boxes(keypoints, np.array([LEFT]))[0]
    assert np.isfinite(head).all()
    assert masked(out, head), "every pixel of the head box is replaced"
    legs = (LEFT[0], 80.0, LEFT[2], LEFT[3])
    assert not changed(out, image, legs), "head mode must leave the body as it is"
    x0, y0, x1, y1 = people.region[0]
    assert (x1 - x0) * (y1 - y0) < 0.5 * (LEFT[2] - LEFT[0]) * (LEFT[3] - LEFT[1])


def test_head_region_hides_the_whole_person_where_the_head_is_unknown():
    keypoints = np.zeros((1, 17, 3), np.float32)  # no confident keypoint: head_boxes gives NaN
    image = textured()
    out, people = anonymizer(Boxes(LEFT, keypoints=keypoints), region="head").process_frame(image)
    assert masked(out, LEFT)
    body = anonymizer(Boxes(LEFT, keypoints=keypoints)).process_frame(image)[1]
    assert people.region.tolist() == body.region.tolist()


def test_head_region_hides_held_regions_whole():
    keypoints = np.stack([_person_keypoints(LEFT)])
    detector = Boxes(LEFT, keypoints=keypoints)
    anon = anonymizer(detector, region="head")
    for seed in range(3):
        anon.process_frame(textured(seed))
    detector.people = People.empty()  # the detector loses the person: their region is held
    image = textured(5)
    out, people = anon.process_frame(image)
    assert people.held.tolist() == [True]
    assert masked(out, LEFT), "a held region has no keypoints: the whole person stays hidden"


@pytest.mark.parametrize(
    "options",
    [{"exclude_zones": ["0,0 1,0 1,1 0,1"]}, {"keep_tracks": {1, 2}}, {"region": "head"}],
    ids=["exclude-everything", "keep-everyone", "head"],
)
def test_a_frame_that_fails_closed_is_obscured_whole_whatever_the_policy(tmp_path, options):
    pts = [i * 40 for i in range(6)]
    raw = write_test_video(tmp_path / "in.mp4", pts, size=(H, W))
    detector = Boxes(
        LEFT, RIGHT, keypoints=np.stack([_person_keypoints(LEFT), _person_keypoints(RIGHT)]), fail_on=(4,)
    )
    anon = anonymizer(detector, **options)
    result = anon.process_video(tmp_path / "in.mp4", tmp_path / "out.mp4")
    assert result.obscured_frames == 1
    decoded = list(VideoSource(result.output))
    diff = np.abs(decoded[4].image.astype(int) - raw[4]).mean(axis=2)
    assert (diff > 20).mean() > 0.8, "the failed frame must be obscured whole"


def test_the_policy_is_recorded_in_the_sidecar_header_and_warned_about(tmp_path):
    write_test_video(tmp_path / "in.mp4", [0, 40, 80], size=(H, W))
    with pytest.warns(PrivacyWarning, match="keep_tracks leaves tracks 3, 7 visible"):
        anon = Anonymizer(
            detector=Boxes(LEFT),
            enhancer=Blur(),
            keep_tracks=[7, 3],
            exclude_zones=["0.5,0 1,0 1,1 0.5,1"],
            max_region=0.9,
        )
    result = anon.process_video(tmp_path / "in.mp4", tmp_path / "out.mp4")
    policy = Sidecar(result.sidecar).header["anonymization"]["policy"]
    assert policy["keep_tracks"] == [3, 7] and policy["max_region"] == 0.9 and policy["region"] == "body"
    assert policy["exclude_zones"] == [
        {"points": [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]], "relative": True}
    ]
    assert policy["include_zones"] == []


def test_the_default_policy_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyWarning)
        Anonymizer(detector=Boxes(LEFT), enhancer=Blur())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"region": "face"}, "region must be one of body, head"),
        ({"exclude_zones": ["0,0 1,1"]}, "a zone needs at least 3 points"),
        ({"include_zones": [[(0, 0), (2, 0), (0.5, 1)]]}, None),  # pixels: allowed
        ({"keep_tracks": {0}}, "track ids, which start at 1"),
        ({"max_region": 1.5}, "max_region is a fraction"),
    ],
)
def test_bad_policies_are_refused_with_one_sentence(options, message):
    if message is None:
        assert HidePolicy(**options).include_zones[0].relative is False
        return
    with pytest.raises(ValueError, match=message):
        HidePolicy(**options)


def test_zone_parsing():
    assert Zone.parse("10,20 30,20 30,40").points == ((10.0, 20.0), (30.0, 20.0), (30.0, 40.0))
    with pytest.raises(ValueError, match="write points as 'x,y x,y x,y'"):
        Zone.parse("10;20;30")
    with pytest.raises(ValueError, match="each within"):
        Zone(((0, 0), (2, 0), (1, 1)), relative=True)


@pytest.mark.slow
def test_head_mode_on_real_footage_hides_heads_and_keeps_bodies(walking_video, pose_detector):
    frames = [f.image for f, _ in zip(VideoSource(walking_video), range(400), strict=False)][250::30]
    anon = Anonymizer(AnonymizerConfig(), detector=pose_detector, enhancer=Mask(color=GREY))
    with pytest.warns(PrivacyWarning):
        head = Anonymizer(
            AnonymizerConfig(), detector=pose_detector, enhancer=Mask(color=GREY), region="head"
        )
    checked = 0
    for image in frames:
        anon.reset()
        head.reset()
        body_out, body_people = anon.process_frame(image)
        head_out, head_people = head.process_frame(image)
        for i in range(len(head_people)):
            heads = head_boxes(head_people.keypoints[i : i + 1], head_people.xyxy[i : i + 1])[0]
            x0, y0, x1, y1 = head_people.region[i]
            bx0, by0, bx1, by1 = body_people.region[i]
            assert x0 >= bx0 - 1 and x1 <= bx1 + 1
            if not np.isfinite(heads).all():
                assert (x0, y0, x1, y1) == (bx0, by0, bx1, by1)  # fail closed: the whole person
                continue
            checked += 1
            assert masked(head_out, heads), "every pixel of the head box is replaced"
            # the lower body (below the head region) is left as it was
            lower = slice(max(y1, int(head_people.xyxy[i, 3]) - 20), int(head_people.xyxy[i, 3]))
            xs = slice(int(head_people.xyxy[i, 0]), int(head_people.xyxy[i, 2]))
            assert np.array_equal(head_out[lower, xs], image[lower, xs])
            assert (body_out[lower, xs] == GREY).all()
    assert checked >= 2, "the walking clip should show heads the keypoints place"
