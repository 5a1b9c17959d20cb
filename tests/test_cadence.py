"""The cadence between full detections: people carried by optical flow, and the motion gate that
forces the detector when something moves outside every region."""

from __future__ import annotations

import numpy as np
import pytest
from recanon_sdk.cadence import Cadence, CadenceConfig
from recanon_sdk.types import People

H, W = 240, 320


def scene(person_x: int, newcomer: bool = False) -> np.ndarray:
    """A textured static background with a textured 'person' block at ``person_x`` (and a second one)."""
    rng = np.random.default_rng(0)
    image = np.repeat(np.repeat(rng.integers(40, 90, (H // 8, W // 8, 3), dtype=np.uint8), 8, 0), 8, 1)
    block = np.repeat(
        np.repeat(np.random.default_rng(1).integers(150, 255, (12, 5, 3), np.uint8), 8, 0), 8, 1
    )
    image[60:156, person_x : person_x + 40] = block
    if newcomer:
        image[100:180, 260:300] = block[:80]
    return np.ascontiguousarray(image)


def person_at(x: int) -> People:
    keypoints = np.zeros((1, 17, 3), np.float32)
    keypoints[0, 0] = (x + 20, 70, 0.9)  # the 'nose' on the block
    keypoints[0, 15] = (x + 10, 150, 0.9)
    return People(
        xyxy=np.array([[x, 60, x + 40, 156]], np.float32),
        score=np.array([0.9]),
        keypoints=keypoints,
        track_id=np.array([3]),
    )


def test_a_moving_person_is_carried_by_the_flow_and_keeps_its_id():
    cadence = Cadence(CadenceConfig(detect_every=4, flow_scale=2))
    first = cadence.view(scene(100))
    assert cadence.needs_detection(first, None)
    cadence.remember(first, person_at(100), detected=True)
    second = cadence.view(scene(108))
    carried = cadence.carry(second)
    assert carried is not None and carried.track_id.tolist() == [3]
    # the box spans where the person was and where the flow puts them
    np.testing.assert_allclose(carried.xyxy[0], [100, 60, 148, 156], atol=2.0)
    np.testing.assert_allclose(carried.keypoints[0, 0, :2], [128, 70], atol=2.0)
    assert not cadence.needs_detection(second, carried), cadence.reason


def test_something_moving_outside_every_region_forces_the_detector():
    cadence = Cadence(CadenceConfig(detect_every=10, flow_scale=2))
    first = cadence.view(scene(100))
    cadence.remember(first, person_at(100), detected=True)
    second = cadence.view(scene(108, newcomer=True))
    carried = cadence.carry(second)
    assert cadence.needs_detection(second, carried) and cadence.reason == "motion"


def test_the_detector_runs_every_nth_frame_and_after_a_failure():
    cadence = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=0))
    frames, people = [scene(100 + 2 * i) for i in range(7)], [person_at(100 + 2 * i) for i in range(7)]
    assert _decisions(cadence, frames, people) == [True, False, False, True, False, False, True]
    cadence.forget()
    view = cadence.view(scene(120))
    assert cadence.needs_detection(view, cadence.carry(view))


def test_every_one_means_the_detector_runs_on_every_frame():
    cadence = Cadence(CadenceConfig(detect_every=1))
    view = cadence.view(scene(100))
    cadence.remember(view, person_at(100), detected=True)
    assert cadence.needs_detection(cadence.view(scene(100)), person_at(100))


def _decisions(
    cadence: Cadence, frames: list[np.ndarray], people: list[People], *, crop_pass: bool = False
) -> list[bool]:
    """Whether each frame got the detector (the detector 'finds' ``people[i]`` on frame ``i``; with
    ``crop_pass``, so does the crop pass between detections, instead of the flow's carried box)."""
    decisions = []
    for image, found in zip(frames, people, strict=True):
        view = cadence.view(image)
        carried = cadence.carry(view)
        detect = cadence.needs_detection(view, carried)
        decisions.append(detect)
        cadence.remember(view, found if detect or crop_pass else carried, detected=detect)
    return decisions


def test_in_a_still_scene_the_detector_waits_for_the_longer_cadence():
    cadence = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=8))
    decisions = _decisions(cadence, [scene(100)] * 10, [person_at(100)] * 10)
    assert [i for i, d in enumerate(decisions) if d] == [0, 8]
    assert cadence.reason == "cadence"


def test_a_value_at_most_detect_every_keeps_the_plain_cadence():
    for wait in (0, 3):
        cadence = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=wait))
        decisions = _decisions(cadence, [scene(100)] * 7, [person_at(100)] * 7)
        assert [i for i, d in enumerate(decisions) if d] == [0, 3, 6]


def test_a_slow_change_the_frame_by_frame_gate_misses_brings_the_plain_cadence():
    """A newcomer fading in by 6 grey levels a frame never moves 12 from one frame to the next, but
    differs from what the last detection saw: the detector comes on the third frame as usual."""
    base = scene(100)
    frames = []
    for i in range(6):
        image = base.copy()
        patch = image[100:180, 250:310].astype(int) + 6 * i
        image[100:180, 250:310] = patch.clip(0, 255).astype(np.uint8)
        frames.append(image)
    cadence = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=12))
    decisions = _decisions(cadence, frames, [person_at(100)] * 6)
    assert [i for i, d in enumerate(decisions) if d] == [0, 3]
    assert cadence.reason == "cadence"
    # the control: a scene that does not change waits longer
    still = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=12))
    assert _decisions(still, [base] * 6, [person_at(100)] * 6) == [True] + [False] * 5


def test_where_someone_left_the_picture_changed_and_the_detector_looks():
    """A person who walked off the spot they held at the last detection (re-measured there by the
    crop pass) uncovered it, and someone may have stood behind them: that spot is in no region
    now, so the detector comes on the third frame as usual."""
    frames = [scene(100 + 30 * min(i, 2)) for i in range(6)]  # 60 px away by frame 2, then still
    people = [person_at(100 + 30 * min(i, 2)) for i in range(6)]
    cadence = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=12))
    assert _decisions(cadence, frames, people, crop_pass=True) == [True, False, False, True, False, False]
    assert cadence.reason == "cadence"


def test_a_person_who_walks_within_a_growing_region_brings_the_plain_cadence():
    """Without a crop pass a carried region spans where the person was and where the flow puts
    them, so a walker's motion stays inside it; but the region no longer lies where the detection
    found them, and the scene does not hold still: the detector comes on the third frame."""
    frames = [scene(100 + 8 * i) for i in range(6)]
    people = [person_at(100 + 8 * i) for i in range(6)]
    cadence = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=12))
    assert _decisions(cadence, frames, people) == [True, False, False, True, False, False]
    assert cadence.reason == "cadence"


def test_a_region_that_no_longer_covers_whom_the_detection_found_brings_the_plain_cadence():
    """The picture does not change, but the region carried now holds less of the person than the
    last detection found (a crop pass that measured only part of them): the detector would find
    them whole again, so it comes on the third frame as usual."""
    half = person_at(100)
    half.xyxy[0, 3] = 108  # the upper half of the block only
    cadence = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=12))
    people = [person_at(100)] + [half] * 5
    assert (
        _decisions(cadence, [scene(100)] * 6, people, crop_pass=True)
        == [True, False, False, True] + [False] * 2
    )
    # the control: the crop pass measuring the whole person waits longer
    whole = Cadence(CadenceConfig(detect_every=3, flow_scale=2, still_detect_every=12))
    assert _decisions(whole, [scene(100)] * 6, [person_at(100)] * 6, crop_pass=True) == [True] + [False] * 5


@pytest.mark.parametrize(
    "bad",
    [
        {"detect_every": 0},
        {"flow_scale": 0},
        {"motion_threshold": 0},
        {"min_motion_area": 1},
        {"still_detect_every": -1},
    ],
)
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        CadenceConfig(**bad)


# -- in the pipeline -------------------------------------------------------------------------------


class BlockDetector:
    """Finds the bright 'people' blocks painted by :func:`scene` (and counts its calls)."""

    def __init__(self):
        self.calls = 0

    def detect(self, images):
        out = []
        for image in images:
            self.calls += 1
            bright = image.min(axis=2) >= 150
            boxes = []
            for x0, x1 in ((0, 250), (250, W)):  # the walker's side and the newcomer's side
                ys, xs = np.nonzero(bright[:, x0:x1])
                if len(xs) > 200:
                    boxes.append([x0 + xs.min(), ys.min(), x0 + xs.max() + 1, ys.max() + 1])
            people = People(xyxy=np.array(boxes, np.float32).reshape(-1, 4), score=np.full(len(boxes), 0.9))
            out.append(people)
        return out


def _video(path, frames):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264rgb", rate=10)
        stream.width, stream.height, stream.pix_fmt = W, H, "rgb24"
        stream.codec_context.options = {"crf": "0"}
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_a_person_who_appears_between_full_detections_is_covered_on_that_frame(tmp_path):
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.enhance import Mask
    from recanon_sdk.video.reader import VideoSource
    from recanon_sdk.video.sidecar import Sidecar

    frames = [scene(40 + 4 * i, newcomer=i >= 4) for i in range(8)]  # the newcomer appears on frame 4
    _video(tmp_path / "in.mkv", frames)
    detector = BlockDetector()
    result = Anonymizer(detector=detector, enhancer=Mask(), detect_every=3).process_video(
        tmp_path / "in.mkv", tmp_path / "out.mkv"
    )
    records = list(Sidecar(result.sidecar).frames())
    assert detector.calls < 8, "the cadence ran the detector on every frame"
    frame4 = records[4]
    assert len(frame4.people) == 2 and not frame4.people.estimated.all(), "frame 4 got no detection"
    out = [f.image for f in VideoSource(result.output)]
    newcomer = np.s_[100:180, 260:300]
    masked = np.abs(out[4][newcomer].astype(int) - 128)  # the mask's grey, through the codec
    assert masked.max() <= 12, "the newcomer shows on the frame they appeared"
    estimated = [bool(r.people.estimated.any()) for r in records]
    assert any(estimated) and estimated[0] is False


def test_without_the_motion_gate_the_newcomer_would_show(tmp_path):
    """The control: a gate that sees no motion leaves the newcomer raw until the next full detection
    (what the gate prevents)."""
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.enhance import Mask
    from recanon_sdk.video.reader import VideoSource

    frames = [scene(40 + 4 * i, newcomer=i >= 4) for i in range(8)]
    _video(tmp_path / "in.mkv", frames)
    blind = Anonymizer(
        detector=BlockDetector(), enhancer=Mask(), detect_every=3, motion_threshold=254, still_detect_every=0
    )
    result = blind.process_video(tmp_path / "in.mkv", tmp_path / "out.mkv")
    out = [f.image for f in VideoSource(result.output)]
    assert np.abs(out[4][100:180, 260:300].astype(int) - 128).max() > 60


def test_in_a_still_video_the_detector_runs_on_every_twelfth_frame_and_everyone_stays_hidden(tmp_path):
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.enhance import Mask
    from recanon_sdk.video.reader import VideoSource
    from recanon_sdk.video.sidecar import Sidecar

    _video(tmp_path / "in.mkv", [scene(100)] * 25)
    detector = BlockDetector()
    result = Anonymizer(detector=detector, enhancer=Mask(), detect_every=3).process_video(
        tmp_path / "in.mkv", tmp_path / "out.mkv"
    )
    assert detector.calls == 3  # frames 0, 12 and 24 (the default still_detect_every, 12)
    estimated = [bool(r.people.estimated.any()) for r in Sidecar(result.sidecar).frames()]
    assert [i for i, e in enumerate(estimated) if not e] == [0, 12, 24]
    for image in (f.image for f in VideoSource(result.output)):
        assert np.abs(image[60:156, 100:140].astype(int) - 128).max() <= 12


def test_motion_is_local_measures_the_windows_union_and_never_less():
    cadence = Cadence(CadenceConfig(motion_look_area=0.25, flow_scale=4))
    assert not cadence.motion_is_local((H, W))  # no motion windows: nothing to look at
    cadence.motion_windows = np.array([[0, 0, 160, 120]])  # exactly a quarter of the frame
    assert cadence.motion_is_local((H, W))
    cadence.motion_windows = np.array([[0, 0, 160, 120], [40, 30, 160, 120]])  # overlap counts once
    assert cadence.motion_is_local((H, W))
    cadence.motion_windows = np.array([[0, 0, 160, 120], [160, 0, 161, 1]])  # one pixel more
    assert not cadence.motion_is_local((H, W))  # rounded outwards to a whole cell: over a quarter
    cadence.motion_windows = np.array([[0, 0, 170, 130]])
    assert not cadence.motion_is_local((H, W))
