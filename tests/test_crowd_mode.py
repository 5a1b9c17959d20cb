"""Crowd mode: a frame whose whole-frame pass finds a crowd is looked at again in tiles."""

from __future__ import annotations

import numpy as np
import pytest
from recanon_sdk.detect.pose import DetectorConfig, PoseDetector
from recanon_sdk.types import People


class Scripted(PoseDetector):
    """A PoseDetector whose network is replaced: the whole frame yields ``crowd`` people scoring 0.5
    and ``weak`` more scoring 0.07, every tile one more person (at its own centre), and each call is
    recorded with its confidence and NMS threshold."""

    def __init__(self, config: DetectorConfig, crowd: int, weak: int = 0) -> None:
        self.config, self.crowd, self.weak, self.calls = config, crowd, weak, []

    def _predict(self, images, imgsz, conf, *, iou=None):
        self.calls.append(([image.shape[:2] for image in images], conf, iou))
        out = []
        for image in images:
            h, w = image.shape[:2]
            if (h, w) == (720, 1280):  # the whole frame
                n = self.crowd + self.weak
                boxes = [[40 + 60 * i, 40, 80 + 60 * i, 140] for i in range(n)]
                scores = [0.5] * self.crowd + [0.07] * self.weak
            else:  # a tile: one small person in its middle
                boxes, scores = [[w / 2 - 10, h / 2 - 25, w / 2 + 10, h / 2 + 25]], [0.5]
            people = People(xyxy=np.array(boxes, np.float32).reshape(-1, 4), score=np.array(scores))
            out.append(people[people.score >= conf])
        return out


@pytest.mark.parametrize(("crowd", "tiles_run"), [(5, False), (6, True)])
def test_tiles_run_only_when_the_whole_frame_pass_finds_a_crowd(crowd, tiles_run):
    detector = Scripted(DetectorConfig(zoom_out=0), crowd)
    (found,) = detector.detect([np.zeros((720, 1280, 3), np.uint8)])
    assert (len(detector.calls) == 2) is tiles_run
    if tiles_run:
        shapes, conf, iou = detector.calls[1]
        assert len(shapes) == 9 and conf == 0.03 and iou == 0.7  # 3 x 3 tiles, the crowd settings
        assert len(found) == crowd + 9  # the tiles' people are added to the whole frame's
    else:
        assert len(found) == crowd


@pytest.mark.parametrize(("weak", "tiles_run"), [(3, False), (4, True)])
def test_weak_candidates_count_towards_a_crowd_but_are_not_reported(weak, tiles_run):
    """A crowd of small people shows as a few confident candidates and many weak ones."""
    detector = Scripted(DetectorConfig(zoom_out=0), crowd=2, weak=weak)
    (found,) = detector.detect([np.zeros((720, 1280, 3), np.uint8)])
    assert detector.calls[0][1] == 0.05  # the whole-frame pass decodes down to the hint confidence
    assert (len(detector.calls) == 2) is tiles_run
    assert found.score.min() >= 0.2  # the weak candidates themselves are never reported
    assert len(found) == 2 + (9 if tiles_run else 0)


def test_crowd_mode_can_be_turned_off():
    detector = Scripted(DetectorConfig(zoom_out=0, crowd_people=0), 30)
    detector.detect([np.zeros((720, 1280, 3), np.uint8)])
    assert len(detector.calls) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"crowd_people": -1},
        {"crowd_tiles": (0, 2)},
        {"crowd_conf": 1.0},
        {"crowd_hint_conf": 0.0},
        {"crowd_iou": 1.5},
    ],
)
def test_bad_crowd_settings_are_refused(bad):
    with pytest.raises(ValueError, match="crowd"):
        DetectorConfig(**bad)
