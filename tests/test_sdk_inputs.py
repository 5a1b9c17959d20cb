"""Wrong inputs are refused before any work, and bad detector output fails closed.

A float frame in [0, 1], a grey or an RGBA frame, or a detector that answers with inverted, non-finite
or sub-pixel boxes would otherwise let people through raw.
"""

from __future__ import annotations

import numpy as np
import pytest
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.detect.tracking import PersonTracker, TrackerConfig
from recanon_sdk.enhance import Blur, Pixelate
from recanon_sdk.types import People
from recanon_sdk.video.sidecar import Sidecar

from tests.conftest import write_test_video
from tests.test_anonymizer import BOX, FixedDetector, textured


def anonymizer(detector=None, **kwargs):
    return Anonymizer(
        AnonymizerConfig(batch_size=2, tracker=TrackerConfig(hold_frames=5)),
        detector=detector or FixedDetector(),
        enhancer=kwargs.pop("enhancer", Blur()),
        **kwargs,
    )


# -- frames a caller passes in -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (textured().astype(np.float32) / 255, ValueError, "uint8"),
        (textured()[:, :, 0], ValueError, "grey"),
        (textured()[:, :, :1], ValueError, "grey"),
        (np.dstack([textured(), np.full((120, 160), 255, np.uint8)]), ValueError, "alpha"),
        (np.zeros((0, 10, 3), np.uint8), ValueError, "empty"),
        (textured().tolist(), TypeError, "NumPy"),
    ],
    ids=["float01", "grey2d", "grey1ch", "rgba", "empty", "list"],
)
def test_process_frame_refuses_frames_that_would_hide_nobody(frame, error, message):
    detector = FixedDetector()
    with pytest.raises(error, match=message):
        anonymizer(detector).process_frame(frame)
    assert detector.seen == {}, "the detector ran on a refused frame"


def test_bgr_frames_are_accepted_when_said_so_and_come_back_bgr():
    rgb = textured()
    out_rgb, _ = anonymizer().process_frame(rgb)
    out_bgr, people = anonymizer().process_frame(np.ascontiguousarray(rgb[:, :, ::-1]), channels="BGR")
    assert len(people) == 1
    np.testing.assert_array_equal(out_bgr, out_rgb[:, :, ::-1])
    with pytest.raises(ValueError, match="RGB' or 'BGR"):
        anonymizer().process_frame(rgb, channels="YUV")


# -- what the SDK is built with ------------------------------------------------------------------


def test_an_enhancer_name_works_in_frames_and_videos(tmp_path):
    named = anonymizer(enhancer="pixelate")
    assert isinstance(named.enhancer, Pixelate)
    out, _ = named.process_frame(textured())
    reference, _ = anonymizer(enhancer=Pixelate()).process_frame(textured())
    np.testing.assert_array_equal(out, reference)
    write_test_video(tmp_path / "in.mp4", [i * 40 for i in range(4)], size=(120, 160))
    result = named.process_video(tmp_path / "in.mp4", tmp_path / "out.mp4")
    assert result.frames == 4 and result.obscured_frames == 0


@pytest.mark.parametrize("bad", [object(), 42, Blur])
def test_objects_that_are_not_enhancers_or_detectors_are_refused(bad):
    with pytest.raises(TypeError, match="enhancer must be"):
        Anonymizer(AnonymizerConfig(), detector=FixedDetector(), enhancer=bad)
    with pytest.raises(TypeError, match="detector must"):
        Anonymizer(AnonymizerConfig(), detector=bad, enhancer=Blur())
    with pytest.raises(ValueError, match="unknown enhancer"):
        Anonymizer(AnonymizerConfig(), detector=FixedDetector(), enhancer="blurry")


# -- detectors that answer wrongly ---------------------------------------------------------------


class Answers:
    """A custom detector that returns the given People for every frame."""

    def __init__(self, people):
        self.people = people

    def detect(self, images):
        return [self.people() for _ in images]


def _people(box, keypoints=None, score=0.9):
    return lambda: People(xyxy=np.array([box], np.float32), score=np.array([score]), keypoints=keypoints)


@pytest.mark.parametrize(
    "detector",
    [
        Answers(_people([90, 110, 40, 20])),  # inverted
        Answers(_people([0.25, 0.17, 0.56, 0.92])),  # normalized 0-1 coordinates: sub-pixel boxes
        Answers(_people([40, 20, 40, 110])),  # zero width inside the frame
        Answers(_people([40, 20, np.nan, 110])),
        Answers(_people([40, 20, 90, 110], score=np.inf)),
        Answers(_people([40, 20, 90, 110], keypoints=np.full((1, 17, 3), np.nan, np.float32))),
        Answers(lambda: "one person"),
        type("TooFew", (), {"detect": lambda self, images: [People.empty()] * (len(images) + 1)})(),
    ],
    ids=[
        "inverted",
        "normalized",
        "zero-width",
        "nan-box",
        "inf-score",
        "nan-keypoints",
        "not-people",
        "count",
    ],
)
def test_bad_detector_output_obscures_the_whole_frame(detector):
    image = textured()
    out, _ = anonymizer(detector).process_frame(image)
    assert (np.abs(out.astype(int) - image).mean(axis=2) > 20).mean() > 0.9, "the frame was not obscured"


def test_boxes_wholly_outside_the_frame_are_dropped_not_failed():
    out, people = anonymizer(Answers(_people([200, 10, 260, 90]))).process_frame(textured())
    assert len(people) == 0
    np.testing.assert_array_equal(out, textured())


def test_bad_detector_output_is_recorded_in_the_sidecar(tmp_path):
    write_test_video(tmp_path / "in.mp4", [i * 40 for i in range(3)], size=(120, 160))
    result = anonymizer(Answers(_people([90, 110, 40, 20]))).process_video(
        tmp_path / "in.mp4", tmp_path / "out.mp4"
    )
    frames = list(Sidecar(result.sidecar).frames())
    assert result.obscured_frames == 3
    assert all(f.status == "obscured" and f.events[0]["kind"] == "detector_failed" for f in frames)
    assert "inverted" in frames[0].events[0]["message"]


# -- a failure never reduces what is held --------------------------------------------------------


def _held_after(anonymizer_, fail_frame=3, miss_frame=4):
    frames = [textured(seed=i) for i in range(miss_frame + 1)]
    outputs = [anonymizer_.process_frame(f) for f in frames]
    out, people = outputs[miss_frame]
    raw = frames[miss_frame]
    x0, y0, x1, y1 = BOX[0].astype(int)
    return people, np.abs(out[y0:y1, x0:x1].astype(int) - raw[y0:y1, x0:x1]).mean()


def test_a_detector_failure_keeps_the_regions_held_for_lost_people():
    detector = FixedDetector(fail_on=(3,), miss=(4,))
    people, change = _held_after(anonymizer(detector))
    assert len(people) == 1 and people.held.tolist() == [True]
    assert change > 25, "the person lost after a detector failure shows raw"


def test_a_tracker_failure_keeps_the_regions_held_for_lost_people():
    class FailsOnce(PersonTracker):
        calls = 0

        def update(self, people):
            FailsOnce.calls += 1
            if FailsOnce.calls == 4:
                raise RuntimeError("injected tracker fault")
            return super().update(people)

    detector = FixedDetector(miss=(4,))
    tracked = anonymizer(detector, tracker_factory=lambda: FailsOnce(TrackerConfig(hold_frames=5)))
    people, change = _held_after(tracked)
    assert len(people) == 1 and people.held.tolist() == [True]
    assert change > 25, "the person lost after a tracker failure shows raw"
    # the restarted tracker gives the person found again a new id, never the held one's
    rows = [tracked.process_frame(textured(seed=seed))[1] for seed in (9, 10)][-1]
    fresh = rows.track_id[~rows.held]
    assert len(fresh) == 1 and fresh[0] > 1 and 1 in rows.track_id[rows.held]
