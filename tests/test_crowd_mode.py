"""Crowd mode: a frame whose whole-frame pass finds a crowd is looked at again in tiles."""

from __future__ import annotations

import numpy as np
import pytest
from recanon_sdk.detect.pose import DetectorConfig, PoseDetector
from recanon_sdk.types import People


class Scripted(PoseDetector):
    """A PoseDetector whose network is replaced: the whole frame yields ``crowd`` people, every tile
    one more person (at its own centre), and each call is recorded."""

    def __init__(self, config: DetectorConfig, crowd: int) -> None:
        self.config, self.crowd, self.calls = config, crowd, []

    def _predict(self, images, imgsz, conf):
        self.calls.append(([image.shape[:2] for image in images], conf))
        out = []
        for image in images:
            h, w = image.shape[:2]
            if (h, w) == (720, 1280):  # the whole frame
                boxes = [[40 + 60 * i, 40, 80 + 60 * i, 140] for i in range(self.crowd)]
            else:  # a tile: one small person in its middle
                boxes = [[w / 2 - 10, h / 2 - 25, w / 2 + 10, h / 2 + 25]]
            out.append(
                People(xyxy=np.array(boxes, np.float32).reshape(-1, 4), score=np.full(len(boxes), 0.5))
            )
        return out


@pytest.mark.parametrize(("crowd", "tiles_run"), [(5, False), (6, True)])
def test_tiles_run_only_when_the_whole_frame_pass_finds_a_crowd(crowd, tiles_run):
    detector = Scripted(DetectorConfig(zoom_out=0), crowd)
    (found,) = detector.detect([np.zeros((720, 1280, 3), np.uint8)])
    assert (len(detector.calls) == 2) is tiles_run
    if tiles_run:
        shapes, conf = detector.calls[1]
        assert len(shapes) == 9 and conf == 0.1  # 3 x 3 tiles at the crowd confidence
        assert len(found) == crowd + 9  # the tiles' people are added to the whole frame's
    else:
        assert len(found) == crowd


def test_crowd_mode_can_be_turned_off():
    detector = Scripted(DetectorConfig(zoom_out=0, crowd_people=0), 30)
    detector.detect([np.zeros((720, 1280, 3), np.uint8)])
    assert len(detector.calls) == 1


@pytest.mark.parametrize("bad", [{"crowd_people": -1}, {"crowd_tiles": (0, 2)}, {"crowd_conf": 1.0}])
def test_bad_crowd_settings_are_refused(bad):
    with pytest.raises(ValueError, match="crowd"):
        DetectorConfig(**bad)
