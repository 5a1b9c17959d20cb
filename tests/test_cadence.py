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
    np.testing.assert_allclose(carried.xyxy[0], [108, 60, 148, 156], atol=2.0)
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
    cadence = Cadence(CadenceConfig(detect_every=3, flow_scale=2))
    decisions = []
    for i in range(7):
        view = cadence.view(scene(100 + 2 * i))
        carried = cadence.carry(view)
        detect = cadence.needs_detection(view, carried)
        decisions.append(detect)
        cadence.remember(view, person_at(100 + 2 * i) if detect else carried, detected=detect)
    assert decisions == [True, False, False, True, False, False, True]
    cadence.forget()
    view = cadence.view(scene(120))
    assert cadence.needs_detection(view, cadence.carry(view))


def test_every_one_means_the_detector_runs_on_every_frame():
    cadence = Cadence(CadenceConfig(detect_every=1))
    view = cadence.view(scene(100))
    cadence.remember(view, person_at(100), detected=True)
    assert cadence.needs_detection(cadence.view(scene(100)), person_at(100))


@pytest.mark.parametrize(
    "bad", [{"detect_every": 0}, {"flow_scale": 0}, {"motion_threshold": 0}, {"min_motion_area": 1}]
)
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        CadenceConfig(**bad)
