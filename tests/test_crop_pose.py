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
    np.testing.assert_allclose(out.xyxy[0], [100, 50, 142, 153])  # the carried box and the crop's
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
    options.setdefault("still_detect_every", 0)  # the plain cadence: frames 0, 3, 6 get the detector
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


# -- the look at motion: the detector in windows around uncovered motion ------------------------------


class WindowBlockDetector(BlockDetector):
    """:class:`BlockDetector` that can also look in windows only (and counts those looks)."""

    def __init__(self, fail: bool = False):
        super().__init__()
        self.window_looks, self.windows, self.fail = 0, [], fail
        self.config = type("Config", (), {"crowd_people": 6})()

    def people_in_windows(self, image, windows):
        self.window_looks += 1
        self.windows.append(np.asarray(windows).tolist())
        if self.fail:
            raise RuntimeError("the window look broke")
        masked = np.zeros_like(image)
        for x0, y0, x1, y1 in windows:
            masked[y0:y1, x0:x1] = image[y0:y1, x0:x1]
        found = self.detect([masked])[0]
        self.calls -= 1  # not a full detection
        cut = any(
            (b[0] <= x0 + 2 and x0 > 0) or (b[2] >= x1 - 2 and x1 < image.shape[1])
            for b in found.xyxy
            for x0, _, x1, _ in windows
            if b[0] < x1 and b[2] > x0
        )
        return found, cut


def _newcomer_run(tmp_path, detector, **options):
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.enhance import Mask
    from recanon_sdk.video.reader import VideoSource
    from recanon_sdk.video.sidecar import Sidecar

    frames = [scene(40 + 4 * i, newcomer=i >= 4) for i in range(8)]  # the newcomer appears on frame 4
    tmp_path.mkdir(exist_ok=True)
    _video(tmp_path / "in.mkv", frames)
    options.setdefault("still_detect_every", 0)  # the plain cadence: frames 0 and 6 get the detector
    result = Anonymizer(detector=detector, enhancer=Mask(), detect_every=6, **options).process_video(
        tmp_path / "in.mkv", tmp_path / "out.mkv"
    )
    return list(Sidecar(result.sidecar).frames()), [f.image for f in VideoSource(result.output)]


def test_motion_outside_the_regions_is_looked_at_in_a_window_and_the_newcomer_is_covered(tmp_path):
    detector = WindowBlockDetector()
    records, out = _newcomer_run(tmp_path, detector)
    assert detector.window_looks == 1 and detector.calls == 2  # frames 0 and 6: full; frame 4: a window
    ((x0, y0, x1, y1),) = detector.windows[0]
    assert x0 <= 260 and y0 <= 100 and x1 >= 300 and y1 >= 180  # around the newcomer
    assert (x1 - x0) * (y1 - y0) < 0.25 * 240 * 320
    frame4 = records[4].people
    assert len(frame4) == 2 and frame4.estimated.all()  # carried, and found there: no full detection
    assert np.abs(out[4][100:180, 260:300].astype(int) - 128).max() <= 12, "the newcomer shows"
    assert len(records[5].people) == 2  # and is carried from then on


def test_the_full_detector_runs_when_the_window_look_fails_or_is_turned_off(tmp_path):
    for detector, options in (
        (WindowBlockDetector(fail=True), {}),
        (WindowBlockDetector(), {"motion_look_area": 0}),
    ):
        records, out = _newcomer_run(tmp_path / str(len(options)), detector, **options)
        assert detector.calls == 2, options  # frames 0 and 4 (the motion; the next is due on 10)
        assert not records[4].people.estimated.any()
        assert np.abs(out[4][100:180, 260:300].astype(int) - 128).max() <= 12


def test_a_person_cut_by_the_window_brings_the_full_detector():
    from recanon_sdk.cadence_steps import look_at_motion

    image = scene(40, newcomer=True)
    detector = WindowBlockDetector()
    carried = People(xyxy=np.array([[40.0, 60, 80, 156]]), score=np.array([0.9]), estimated=np.array([True]))
    assert look_at_motion(detector, np.array([[270, 90, 320, 190]]), image, carried) is None  # cuts x 260-300
    whole = look_at_motion(detector, np.array([[230, 70, 320, 200]]), image, carried)
    assert whole is not None and len(whole) == 2 and whole.xyxy[1].tolist() == [260, 100, 300, 180]


def test_motion_that_reaches_a_carried_person_brings_the_full_detector():
    """A moving area touching a carried box may be that person leaving their region: a window would
    see them only in part, so the frame gets the full detector."""
    from recanon_sdk.cadence_steps import look_at_motion

    image = scene(40, newcomer=True)
    detector = WindowBlockDetector()
    carried = People(xyxy=np.array([[40.0, 60, 80, 156]]), score=np.array([0.9]), estimated=np.array([True]))
    assert look_at_motion(detector, np.array([[70, 50, 140, 170]]), image, carried) is None
    assert detector.window_looks == 0


@pytest.mark.skipif(not SAMPLE.exists(), reason="the bundled sample examples/walking.mp4 is missing")
def test_on_a_real_frame_a_window_around_a_person_finds_them_as_the_full_pass_does():
    from recanon_sdk.detect.backend import create_pose_detector
    from recanon_sdk.detect.crop_pose import crop_windows
    from recanon_sdk.detect.pose import DetectorConfig
    from recanon_sdk.geometry import box_iou
    from recanon_sdk.video.reader import VideoSource

    image = next(itertools.islice(VideoSource(SAMPLE), 45, None)).image
    detector = create_pose_detector(DetectorConfig())
    full = detector.detect([image])[0]
    windows = crop_windows(full.xyxy, image.shape[:2], margin=0.5)
    found, cut = detector.people_in_windows(image, windows)
    assert not cut and len(found) >= len(full)
    assert box_iou(full.xyxy, found.xyxy).max(axis=1).min() > 0.8
    tight = crop_windows(
        full.xyxy[:1] + np.array([0, 0, 0, -0.5]) * (full.xyxy[:1, 3] - full.xyxy[:1, 1]),
        image.shape[:2],
        margin=0.0,
    )
    _, cut = detector.people_in_windows(image, tight)  # a window over the top half of the person
    assert cut


class RecordingCrops:
    """Answers the crop pass by moving every row it is given 5 px right, and records those rows."""

    def __init__(self):
        self.given = []

    def pose_in_crops(self, image, people, *, size, margin):
        self.given.append(people.track_id.tolist())
        out = people[np.arange(len(people))]
        out.xyxy[:, [0, 2]] += 5
        return out, np.ones(len(people), bool)


def test_people_who_did_not_move_keep_the_flows_estimate_and_skip_the_crop_pass():
    from recanon_sdk.cadence import CadenceConfig
    from recanon_sdk.cadence_steps import crop_pass

    image = np.zeros((200, 300, 3), np.uint8)
    carried = People.merge(
        [one_person([10, 50, 50, 150], track_id=1), one_person([100, 50, 140, 150], track_id=2)]
    )
    detector = RecordingCrops()
    config = CadenceConfig(crop_pose_still_px=1.0)
    out = crop_pass(detector, config, image, carried, np.array([0.3, 4.0]))  # the first stood still
    assert detector.given == [[2]]
    np.testing.assert_array_equal(out.xyxy[0], carried.xyxy[0])  # as carried
    np.testing.assert_allclose(out.xyxy[1], carried.xyxy[1] + [5, 0, 5, 0])  # re-measured
    assert out.track_id.tolist() == [1, 2]
    assert crop_pass(detector, config, image, carried, np.array([0.3, 0.5])) is carried  # nobody moved
    crop_pass(detector, CadenceConfig(crop_pose_still_px=0.0), image, carried, np.array([0.3, 0.5]))
    assert detector.given[-1] == [1, 2]  # 0: everyone is re-measured


def test_the_flow_reports_how_far_each_carried_person_moved():
    from recanon_sdk.cadence import Cadence, CadenceConfig

    from tests.test_cadence import person_at

    cadence = Cadence(CadenceConfig(detect_every=4, flow_scale=2))
    cadence.remember(cadence.view(scene(100)), person_at(100), detected=True)
    cadence.carry(cadence.view(scene(108)))
    assert 6 <= cadence.moved_px[0] <= 12, cadence.moved_px
    cadence.remember(cadence.view(scene(108)), person_at(108), detected=True)
    cadence.carry(cadence.view(scene(108)))
    assert cadence.moved_px[0] < 1.0, cadence.moved_px


def test_in_the_pipeline_a_still_person_is_carried_and_stays_hidden_without_the_crop_pass(tmp_path):
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.enhance import Mask
    from recanon_sdk.video.reader import VideoSource

    _video(tmp_path / "in.mkv", [scene(60)] * 9)
    detector = CropBlockDetector()
    anonymizer = Anonymizer(
        detector=detector, enhancer=Mask(), detect_every=3, crop_pose_people=4, crop_pose_still_px=1.0
    )
    result = anonymizer.process_video(tmp_path / "in.mkv", tmp_path / "out.mkv")
    # frame 0 only: nothing changed, so the detector waits for still_detect_every; nobody moved
    assert detector.calls == 1 and detector.crop_calls == 0
    for image in (f.image for f in VideoSource(result.output)):
        assert np.abs(image[60:156, 60:100].astype(int) - 128).max() <= 12
