"""A privacy gate on the bundled sample (real footage, no ../shared needed), with the real pose model.

1. Coverage against an independent reference: every person that a stronger detector setting finds on
   the raw frames lies inside the anonymized regions of that frame — a person the pipeline misses is
   invisible to checks that only look at the regions it reported.
2. Faults injected into the tracker and the enhancer while a real video runs: exactly those frames
   are obscured whole in the decoded output, and the sidecar says why.
"""

from __future__ import annotations

import numpy as np
import pytest
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.backend import create_pose_detector
from recanon_sdk.detect.pose import DetectorConfig
from recanon_sdk.detect.tracking import PersonTracker
from recanon_sdk.enhance import Blur
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SAMPLE = ROOT / "examples" / "walking.mp4"


def covered_fraction(box: np.ndarray, regions: np.ndarray, shape: tuple[int, int]) -> float:
    """The fraction of ``box``'s pixels inside the union of ``regions``."""
    x0, y0, x1, y1 = np.clip(np.round(box).astype(int), 0, [shape[1], shape[0], shape[1], shape[0]])
    if x1 <= x0 or y1 <= y0:
        return 1.0
    inside = np.zeros((y1 - y0, x1 - x0), bool)
    for rx0, ry0, rx1, ry1 in regions:
        inside[max(ry0 - y0, 0) : max(ry1 - y0, 0), max(rx0 - x0, 0) : max(rx1 - x0, 0)] = True
    return float(inside.mean())


@pytest.fixture(scope="module")
def raw_frames():
    return [f.image for f in VideoSource(SAMPLE)]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gate") / "walking.anon.mp4"
    return Anonymizer().process_video(SAMPLE, out)  # the defaults a user gets


def test_every_person_a_stronger_setting_finds_is_anonymized(sample_run, raw_frames):
    reference = create_pose_detector(DetectorConfig(imgsz=1280, conf=0.1, zoom_out=0))
    frames = {f.index: f for f in Sidecar(sample_run.sidecar).frames()}
    out = [f.image for f in VideoSource(sample_run.output)]
    checked, misses = 0, []
    for index in range(0, len(raw_frames), 3):
        found = reference.detect([raw_frames[index]])[0]
        confident = (found.score >= 0.35) & ((found.keypoints[:, :, 2] >= 0.5).sum(axis=1) >= 4)
        regions = frames[index].people.region
        for box in found.xyxy[confident]:
            checked += 1
            fraction = covered_fraction(box, regions, raw_frames[index].shape[:2])
            if fraction < 0.95:
                misses.append((index, box.round().tolist(), round(fraction, 3)))
                continue
            x0, y0, x1, y1 = np.round(box).astype(int)
            change = np.abs(out[index][y0:y1, x0:x1].astype(int) - raw_frames[index][y0:y1, x0:x1]).mean()
            if change < 8:
                misses.append((index, box.round().tolist(), f"inside a region but changed by {change:.1f}"))
    assert checked >= 20, f"the reference found only {checked} people; the gate would prove nothing"
    assert not misses, f"{len(misses)} of {checked} reference people not anonymized: {misses[:5]}"


class FailsOnCalls:
    """Raises on the listed (1-based) calls, else does what ``inner`` does."""

    def __init__(self, inner, calls: set[int]):
        self.inner, self.calls, self.count = inner, calls, 0
        self.name, self.input_size = getattr(inner, "name", "x"), getattr(inner, "input_size", None)

    def _tick(self) -> None:
        self.count += 1
        if self.count in self.calls:
            raise RuntimeError(f"injected fault on call {self.count}")

    def update(self, people):
        self._tick()
        return self.inner.update(people)

    def enhance(self, crops):
        self._tick()
        return self.inner.enhance(crops)


def test_tracker_and_enhancer_faults_on_a_real_video_obscure_exactly_those_frames(tmp_path, raw_frames):
    tracker = FailsOnCalls(PersonTracker(), {6, 7})  # frames 5 and 6
    enhancer = FailsOnCalls(Blur(), set())
    anonymizer = Anonymizer(AnonymizerConfig(), enhancer=enhancer, tracker_factory=lambda: tracker)
    enhancer.calls = {12}  # the enhancer runs once per frame with people in view: its 12th call
    result = anonymizer.process_video(SAMPLE, tmp_path / "faults.mp4", max_frames=20)
    frames = list(Sidecar(result.sidecar).frames())
    obscured = {f.index: f.events[0]["kind"] for f in frames if f.status == "obscured"}
    tracker_frames = [i for i, kind in obscured.items() if kind == "tracker_failed"]
    enhancer_frames = [i for i, kind in obscured.items() if kind == "enhancer_failed"]
    assert tracker_frames == [5, 6], obscured
    assert len(enhancer_frames) == 1, obscured
    decoded = [f.image for f in VideoSource(result.output)]
    for index in (*tracker_frames, *enhancer_frames):
        before, after = raw_frames[index].astype(np.int32), decoded[index].astype(np.int32)
        detail_ratio = np.abs(np.diff(after, axis=1)).mean() / np.abs(np.diff(before, axis=1)).mean()
        assert detail_ratio < 0.3, f"frame {index} was not obscured whole (detail ratio {detail_ratio:.2f})"
    for index in (0, 2, 15):  # frames without a fault keep their background
        if index in obscured:
            continue
        before, after = raw_frames[index].astype(np.int32), decoded[index].astype(np.int32)
        detail_ratio = np.abs(np.diff(after, axis=1)).mean() / np.abs(np.diff(before, axis=1)).mean()
        assert detail_ratio > 0.5, f"frame {index} lost its background ({detail_ratio:.2f})"
