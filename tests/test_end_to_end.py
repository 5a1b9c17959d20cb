"""End to end on real footage from ../shared with the real YOLO11n-pose model (about a minute)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import av
import numpy as np
import pytest
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.geometry import CropGeometry
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar

from tests.conftest import SHARED, need_shared

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_clip(tmp_path_factory, walking_video):
    """Frames 60–99 of the CC-BY walking video (a person crosses), with irregular timestamps."""
    path = tmp_path_factory.mktemp("clip") / "walk.mkv"
    time_base = Fraction(1, 1000)
    with av.open(str(walking_video)) as src, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 768, 432, "yuv420p"
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        stream.codec_context.options = {"crf": "18"}
        pts = 0
        for i, frame in enumerate(itertools.islice(src.decode(video=0), 60, 100)):
            copy = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            copy.pts, copy.time_base = pts, time_base
            pts += 100 if i % 7 else 250  # variable frame rate: a longer gap every 7 frames
            for packet in stream.encode(copy):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


@pytest.fixture(scope="module")
def anonymized(real_clip, pose_detector, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "walk.anon.mp4"
    anonymizer = Anonymizer(AnonymizerConfig(), detector=pose_detector)
    result = anonymizer.process_video(real_clip, out)
    return result


def test_frame_count_and_timestamps_equal_the_input(real_clip, anonymized):
    source = [f.seconds for f in VideoSource(real_clip)]
    output = [f.seconds for f in VideoSource(anonymized.output)]
    assert len(source) == 40 and anonymized.frames == 40
    assert output == source
    assert [f.time for f in Sidecar(anonymized.sidecar).frames()] == pytest.approx(source)


def _band_detail_ratios(before: np.ndarray, after: np.ndarray, box: np.ndarray, bands: int = 6):
    """Detail (neighbour differences) kept in each horizontal and vertical band of ``box``: the
    anonymized share must hold in every band, not just on average (a feathered border once kept
    most of a box's edge rows raw)."""
    x0, y0, x1, y1 = np.round(box).astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, before.shape[1]), min(y1, before.shape[0])
    ratios = []
    for axis, length in ((0, y1 - y0), (1, x1 - x0)):
        edges = np.linspace(0, length, bands + 1).round().astype(int)
        for a, b in itertools.pairwise(edges):
            if b - a < 2:
                continue
            window = np.s_[y0 + a : y0 + b, x0:x1] if axis == 0 else np.s_[y0:y1, x0 + a : x0 + b]
            detail_before = np.abs(np.diff(before[window], axis=1 - axis)).mean()
            if detail_before < 3:  # flat floor or wall: nothing to hide, no ratio to trust
                continue
            ratios.append(np.abs(np.diff(after[window], axis=1 - axis)).mean() / detail_before)
    return ratios


def test_people_change_strongly_and_background_stays(real_clip, anonymized):
    raw = [f.image for f in VideoSource(real_clip)]
    out = [f.image for f in VideoSource(anonymized.output)]
    frames = list(Sidecar(anonymized.sidecar).frames())
    assert sum(len(f.people) for f in frames) >= 30, "the walking person should be found in most frames"
    checked = 0
    worst_bands = []
    for frame in frames:
        before, after = raw[frame.index].astype(np.int32), out[frame.index].astype(np.int32)
        for box in frame.people.xyxy:  # every person, held ones included
            x0, y0, x1, y1 = np.round(box).astype(int)
            if (x1 - x0) * (y1 - y0) < 400:
                continue  # a sliver entering at the frame edge
            mse = ((after[y0:y1, x0:x1] - before[y0:y1, x0:x1]) ** 2).mean()
            assert 10 * np.log10(255**2 / mse) < 25, f"frame {frame.index}: person box too close to raw"
            bands = _band_detail_ratios(before, after, box)
            assert bands and max(bands) < 0.45, f"frame {frame.index}: a band of the box kept detail {bands}"
            worst_bands.append(max(bands))
            checked += 1
        # pixels away from every anonymized region stay within codec tolerance
        far = np.ones(before.shape[:2], bool)
        for rx0, ry0, rx1, ry1 in frame.people.region:
            far[max(0, ry0 - 16) : ry1 + 16, max(0, rx0 - 16) : rx1 + 16] = False
        assert np.abs(after[far] - before[far]).mean() < 3.0
    assert checked >= 30
    # whole people lose ~90 % of their detail: even the worst band of a typical box keeps little
    assert np.median(worst_bands) < 0.25


def test_sidecar_persons_match_detections_on_raw_frames(real_clip, anonymized, pose_detector):
    """People the detector found (not carried between full detections, not held) are exactly what the
    detector finds on the raw frame; carried people have a pose too, marked estimated."""
    raw = [f.image for f in VideoSource(real_clip)]
    frames = list(Sidecar(anonymized.sidecar).frames())
    compared = 0
    for frame in frames:
        detected = frame.people[~frame.people.held & ~frame.people.estimated]
        if not len(detected):
            continue  # a frame between full detections (or nobody there)
        expected = pose_detector.detect([raw[frame.index]])[0]
        assert len(detected) == len(expected), f"frame {frame.index}"
        np.testing.assert_allclose(detected.xyxy, expected.xyxy, atol=0.5)
        np.testing.assert_allclose(detected.keypoints[..., :2], expected.keypoints[..., :2], atol=0.5)
        compared += 1
    longest_wait = AnonymizerConfig().cadence.still_detect_every  # the detector at least this often
    assert compared >= -(-len(frames) // longest_wait), "too few frames with a full detection to compare"
    carried = [p for f in frames for p in f.people if p.estimated]
    assert carried and all((p.keypoints[:, 2] > 0).any() for p in carried), "carried people lack a pose"
    ids = {int(t) for f in frames for t in f.people.track_id if t >= 0}
    assert len(ids) >= 1


def test_real_detector_fault_injection_obscures_exactly_those_frames(real_clip, pose_detector, tmp_path):
    class Flaky:
        weights = pose_detector.weights

        def __init__(self):
            self.frames_seen = 0

        def detect(self, images):
            if len(images) == 1 and self.frames_seen in (3, 17):
                self.frames_seen += 1
                raise RuntimeError("injected: inference crashed")
            if len(images) > 1 and any(
                i in (3, 17) for i in range(self.frames_seen, self.frames_seen + len(images))
            ):
                raise RuntimeError("injected: batch containing a bad frame")
            self.frames_seen += len(images)
            return pose_detector.detect(images)

    # the detector on every frame: this checks how a failing batch is retried frame by frame
    result = Anonymizer(
        AnonymizerConfig(geometry=CropGeometry()), detector=Flaky(), detect_every=1
    ).process_video(real_clip, tmp_path / "flaky.mp4")
    frames = list(Sidecar(result.sidecar).frames())
    assert [f.index for f in frames if f.status == "obscured"] == [3, 17]
    raw = [f.image for f in VideoSource(real_clip)]
    out = [f.image for f in VideoSource(result.output)]
    for index in (3, 17):
        before, after = raw[index].astype(np.int32), out[index].astype(np.int32)
        assert np.abs(np.diff(after, axis=1)).mean() < 0.3 * np.abs(np.diff(before, axis=1)).mean()


@pytest.mark.shared
def test_gif_source_with_faces_is_processed_and_no_face_survives(pose_detector, tmp_path):
    from recanon_sdk.evaluation import faces_found

    gif = need_shared(SHARED / "data" / "videos" / "intel" / "face-demographics-walking.gif")
    yunet = need_shared(SHARED / "models" / "face_detection_yunet_2026may.onnx")
    result = Anonymizer(AnonymizerConfig(), detector=pose_detector).process_video(
        gif, tmp_path / "faces.mp4", max_frames=12
    )
    assert result.frames == 12 and result.persons >= 12
    raw = [f.image for f in itertools.islice(VideoSource(gif), 12)]
    out = [f.image for f in VideoSource(result.output)]
    faces_before = sum(faces_found(raw, str(yunet)))
    assert faces_before >= 6, f"YuNet finds only {faces_before} faces in the raw frames; the check is moot"
    assert sum(faces_found(out, str(yunet))) == 0, "a face survived anonymization"
