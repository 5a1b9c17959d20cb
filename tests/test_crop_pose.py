"""The cadence's crop pass: tracked people re-measured by the network on a crop around each, between
full detections, without ever dropping anyone."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from recanon_sdk.detect.crop_pose import pose_in_crops
from recanon_sdk.types import People

from tests.test_cadence import BlockDetector, _video, scene

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "walking.mp4"


def one_person(box, score=0.9, track_id=None) -> People:
    keypoints = np.zeros((1, 17, 3), np.float32)
    keypoints[0, :, :2] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]
    keypoints[0, :, 2] = 0.9
    return People(
        xyxy=np.array([box], np.float32),
        score=np.array([score]),
        keypoints=keypoints,
        track_id=None if track_id is None else np.array([track_id]),
    )


def test_a_match_in_the_crop_moves_to_frame_pixels_and_keeps_the_track():
    image = np.zeros((200, 300, 3), np.uint8)
    carried = one_person([100, 50, 140, 150], track_id=7)
    seen = []

    def predict(crops, size, conf):
        seen.append((crops[0].shape, size, conf))
        return [one_person([12, 30, 52, 128], score=0.77)]  # in crop pixels

    out, matched = pose_in_crops(predict, image, carried, size=256, conf=0.2, margin=0.25, scale=1.0)
    # the crop is the box grown by a quarter of its size on each side: x 90-150, y 25-175
    assert seen == [((150, 60, 3), 160, 0.2)]
    assert matched.tolist() == [True] and out.track_id.tolist() == [7]
    np.testing.assert_allclose(out.xyxy[0], [102, 55, 142, 153])
    np.testing.assert_allclose(out.keypoints[0, 0], [122, 104, 0.9])
    assert out.score[0] == pytest.approx(0.77)


def test_nobody_or_a_neighbour_in_the_crop_leaves_the_carried_row_unchanged():
    image = np.zeros((200, 300, 3), np.uint8)
    carried = People.merge([one_person([100, 50, 140, 150]), one_person([200, 40, 240, 160])])
    answers = iter([[People.empty()], [one_person([0, 0, 12, 40])]])  # a neighbour at the crop's edge

    out, matched = pose_in_crops(
        lambda crops, size, conf: next(answers), image, carried, size=256, conf=0.2, margin=0.25
    )
    assert matched.tolist() == [False, False]
    np.testing.assert_array_equal(out.xyxy, carried.xyxy)
    np.testing.assert_array_equal(out.keypoints, carried.keypoints)


class CropBlockDetector(BlockDetector):
    """:class:`BlockDetector` with the crop pass: it re-finds each carried block in its crop."""

    def __init__(self, fail: bool = False):
        super().__init__()
        self.crop_calls, self.fail = 0, fail

    def pose_in_crops(self, image, people, *, size, margin):
        self.crop_calls += 1
        if self.fail:
            raise RuntimeError("the crop pass broke")
        found = self.detect([image])[0]
        self.calls -= 1  # not a full detection
        out = People(xyxy=people.xyxy.copy(), score=people.score, keypoints=people.keypoints.copy(),
                     track_id=people.track_id, estimated=people.estimated)  # fmt: skip
        for i, box in enumerate(people.xyxy):
            overlap = [min(box[2], b[2]) - max(box[0], b[0]) for b in found.xyxy]
            if overlap and max(overlap) > 0:
                out.xyxy[i] = found.xyxy[int(np.argmax(overlap))]
        return out, np.ones(len(people), bool)


def _run(tmp_path, detector, **options):
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.enhance import Mask
    from recanon_sdk.video.reader import VideoSource
    from recanon_sdk.video.sidecar import Sidecar

    frames = [scene(40 + 4 * i) for i in range(9)]
    _video(tmp_path / "in.mkv", frames)
    anonymizer = Anonymizer(detector=detector, enhancer=Mask(), detect_every=3, **options)
    result = anonymizer.process_video(tmp_path / "in.mkv", tmp_path / "out.mkv")
    return list(Sidecar(result.sidecar).frames()), [f.image for f in VideoSource(result.output)]


def test_frames_between_full_detections_get_the_crop_pass_and_stay_flagged(tmp_path):
    detector = CropBlockDetector()
    records, out = _run(tmp_path, detector, crop_pose_people=4)
    assert detector.calls == 3 and detector.crop_calls == 6  # frames 0, 3, 6 full; the rest cropped
    estimated = [bool(r.people.estimated.all()) for r in records]
    assert estimated == [False, True, True] * 3
    for i, record in enumerate(records):  # the crop pass's box: the block exactly where it now is
        np.testing.assert_allclose(record.people.xyxy[0], [40 + 4 * i, 60, 80 + 4 * i, 156], atol=0.5)
        assert np.abs(out[i][60:156, 40 + 4 * i : 80 + 4 * i].astype(int) - 128).max() <= 12


def test_the_crop_pass_is_off_by_setting_and_above_its_people_limit(tmp_path):
    detector = CropBlockDetector()
    _run(tmp_path, detector, crop_pose_people=0)
    assert detector.crop_calls == 0


def test_a_failing_crop_pass_gives_the_frame_the_full_detector(tmp_path):
    detector = CropBlockDetector(fail=True)
    records, out = _run(tmp_path, detector, crop_pose_people=4)
    assert detector.crop_calls >= 1 and detector.calls == 9  # every frame fell back to the detector
    assert not any(bool(r.people.estimated.any()) for r in records)
    for i in range(9):
        assert np.abs(out[i][60:156, 40 + 4 * i : 80 + 4 * i].astype(int) - 128).max() <= 12


@pytest.mark.skipif(not SAMPLE.exists(), reason="the bundled sample examples/walking.mp4 is missing")
def test_on_a_real_frame_the_crop_pass_finds_the_person_where_the_full_pass_did():
    from recanon_sdk.detect.backend import create_pose_detector
    from recanon_sdk.detect.pose import DetectorConfig
    from recanon_sdk.video.reader import VideoSource

    image = next(itertools.islice(VideoSource(SAMPLE), 45, None)).image  # the walker mid-frame
    detector = create_pose_detector(DetectorConfig())
    full = detector.detect([image])[0]
    assert len(full) >= 1
    again, matched = detector.pose_in_crops(image, full)
    assert matched.all()
    sure = (full.keypoints[:, :, 2] >= 0.5) & (again.keypoints[:, :, 2] >= 0.5)
    distance = np.linalg.norm(again.keypoints[:, :, :2] - full.keypoints[:, :, :2], axis=2)[sure]
    heights = (full.xyxy[:, 3] - full.xyxy[:, 1]).min()
    assert sure.sum() >= 10 and np.median(distance) < 0.03 * heights, (np.median(distance), heights)
