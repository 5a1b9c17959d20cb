"""The SDK as other tools' users reach for it: supervision and pandas, iteration, flat settings, a frame
generator, time spans, drawing, the sidecar's completeness, and photos that are not a video."""

from __future__ import annotations

import hashlib
import sys
import warnings
from fractions import Fraction

import cv2
import numpy as np
import pytest
import supervision as sv
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.draw import draw_people, track_color
from recanon_sdk.enhance import Blur, Mask
from recanon_sdk.errors import OutputError
from recanon_sdk.policy import PrivacyWarning
from recanon_sdk.types import KEYPOINT_NAMES, People, Person
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import MAX_END, Sidecar

from tests.conftest import write_test_video

H, W = 120, 160
BOX = (40.0, 20.0, 90.0, 110.0)


def _keypoints(box=BOX):
    x0, y0, x1, y1 = box
    cx, h = (x0 + x1) / 2, y1 - y0
    points = np.zeros((17, 3), np.float32)
    points[0] = (cx, y0 + 0.08 * h, 0.9)
    points[5:7] = [(cx - 12, y0 + 0.2 * h, 0.9), (cx + 12, y0 + 0.2 * h, 0.9)]
    points[11:13] = [(cx - 8, y0 + 0.55 * h, 0.9), (cx + 8, y0 + 0.55 * h, 0.9)]
    return points


class Counting:
    """Finds one person at BOX in every frame and counts the frames it was shown."""

    def __init__(self, keypoints=True):
        self.frames = 0
        self.keypoints = _keypoints()[None] if keypoints else None

    def detect(self, images):
        self.frames += len(images)
        return [People(xyxy=np.array([BOX]), score=[0.9], keypoints=self.keypoints) for _ in images]


def _video(tmp_path, n=12, step=40):
    return write_test_video(
        tmp_path / "in.mp4", [i * step for i in range(n)], size=(H, W)
    ), tmp_path / "in.mp4"


# -- supervision, pandas, iteration ---------------------------------------------------------------


def _people():
    keypoints = np.random.default_rng(0).uniform(1, 100, (2, 17, 3)).astype(np.float32)
    return People(
        xyxy=[[1, 2, 30, 40], [50, 60, 90, 100]],
        score=[0.9, 0.4],
        keypoints=keypoints,
        track_id=[4, -1],
        region=[[0, 0, 35, 45], [0, 0, 0, 0]],
        held=[False, True],
    )


def test_supervision_round_trip_is_lossless():
    people = _people()
    detections, keypoints = people.to_supervision()
    assert isinstance(detections, sv.Detections) and isinstance(keypoints, sv.KeyPoints)
    assert detections.tracker_id.tolist() == [4, -1] and detections.class_id.tolist() == [0, 0]
    back = People.from_supervision(detections, keypoints)
    for name in ("xyxy", "score", "keypoints", "track_id", "region", "held"):
        np.testing.assert_array_equal(getattr(back, name), getattr(people, name))
    # supervision's own operations keep working on the converted detections
    assert len(detections[detections.confidence > 0.5]) == 1


def test_from_supervision_fills_what_supervision_leaves_out():
    xy = np.full((1, 17, 2), 10.0, np.float32)
    xy[0, 3] = np.nan  # a joint the estimator did not find
    xy[0, 4] = 0.0
    people = People.from_supervision(sv.Detections(xyxy=np.array([[0.0, 0, 20, 30]])), sv.KeyPoints(xy=xy))
    assert people.score.tolist() == [1.0] and people.track_id is None
    assert people.keypoints[0, 3].tolist() == [0.0, 0.0, 0.0]
    assert people.keypoints[0, 4, 2] == 0.0 and people.keypoints[0, 0].tolist() == [10.0, 10.0, 1.0]
    with pytest.raises(ValueError, match=r"one COCO-17 skeleton per detection: expected \(1, 17, 2\)"):
        People.from_supervision(sv.Detections(xyxy=np.zeros((1, 4))), sv.KeyPoints(xy=np.zeros((1, 5, 2))))


def test_iterating_gives_person_records():
    people = _people()
    persons = list(people)
    assert [type(p) for p in persons] == [Person, Person]
    assert persons[0].track_id == 4 and persons[1].track_id is None
    assert persons[0].hidden and not persons[1].hidden and persons[1].held
    assert persons[0].box == (1.0, 2.0, 30.0, 40.0) and persons[0].keypoints.shape == (17, 3)
    assert list(People.empty()) == []


def test_people_to_pandas():
    table = _people().to_pandas(frame=3)
    assert len(table) == 2 and table["frame"].tolist() == [3, 3]
    assert table["track_id"].isna().tolist() == [False, True] and table["hidden"].tolist() == [True, False]
    assert f"{KEYPOINT_NAMES[16]}_conf" in table.columns


def test_without_pandas_the_message_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        _people().to_pandas()
    _, source = _video(tmp_path, n=2)
    result = Anonymizer(detector=Counting(), enhancer=Blur()).process_video(source, tmp_path / "o.mp4")
    with pytest.raises(ImportError, match="pip install pandas"):
        Sidecar(result.sidecar).to_pandas()


def test_sidecar_to_pandas_has_one_row_per_person_and_frame(tmp_path):
    _, source = _video(tmp_path, n=5)
    result = Anonymizer(detector=Counting(), enhancer=Blur()).process_video(source, tmp_path / "o.mp4")
    table = Sidecar(result.sidecar).to_pandas()
    assert table["frame"].tolist() == [0, 1, 2, 3, 4]
    assert table["time"].tolist() == pytest.approx([0, 0.04, 0.08, 0.12, 0.16])
    assert (table["status"] == "ok").all() and table["hidden"].all()
    assert table.loc[0, "x0"] == pytest.approx(BOX[0])


# -- flat settings -------------------------------------------------------------------------------


def test_flat_keywords_build_the_nested_config():
    with pytest.warns(PrivacyWarning):
        anon = Anonymizer(
            detector=Counting(), conf=0.3, imgsz=1280, enhancer="pixelate", region="head", hold_frames=5
        )
    config = anon.config
    assert (config.detector.conf, config.detector.imgsz, config.tracker.hold_frames) == (0.3, 1280, 5)
    assert config.enhancer == "pixelate" and anon.enhancer.name == "pixelate"
    assert config.policy.region == "head"
    base = AnonymizerConfig(batch_size=2)
    assert Anonymizer(base, detector=Counting(), margin=0.2).config.batch_size == 2  # applied on top


def test_an_unknown_keyword_is_a_type_error_naming_the_valid_ones():
    with pytest.raises(TypeError, match=r"unknown anonymizer option 'confidence'; valid options: .*conf,"):
        Anonymizer(detector=Counting(), confidence=0.3)
    with pytest.raises(ValueError, match="conf must be within"):
        Anonymizer(detector=Counting(), conf=3)


# -- the frame generator -------------------------------------------------------------------------


def test_stream_yields_the_same_frames_as_process_video(tmp_path):
    _, source = _video(tmp_path, n=6)
    result = Anonymizer(detector=Counting(), enhancer=Blur()).process_video(source, tmp_path / "o.mkv")
    streamed = list(
        Anonymizer(detector=Counting(), enhancer=Blur()).stream(source, sidecar=tmp_path / "s.jsonl")
    )
    assert [f.index for f, _, _ in streamed] == list(range(6))
    assert [f.seconds for f, _, _ in streamed] == pytest.approx([i * 0.04 for i in range(6)])
    assert all(status == "ok" for _, _, status in streamed)
    written = [f.people.region.tolist() for f in Sidecar(result.sidecar).frames()]
    assert [p.region.tolist() for _, p, _ in streamed] == written
    sidecar = Sidecar(tmp_path / "s.jsonl")
    assert sidecar.complete and sidecar.end["frames"] == 6 and sidecar.end["stopped_early"] is None
    assert [f.index for f in sidecar.frames()] == list(range(6))


def test_stream_decodes_only_what_it_yields_and_closes_cleanly_when_stopped(tmp_path):
    _, source = _video(tmp_path, n=40)
    detector = Counting()
    anon = Anonymizer(AnonymizerConfig(batch_size=2), detector=detector, enhancer=Blur(), detect_every=1)
    frames = anon.stream(source, sidecar=tmp_path / "s.jsonl")
    first = next(frames)
    assert first.frame.index == 0 and detector.frames == 2, "one batch at a time, not the whole video"
    for item in frames:
        if item.frame.index == 4:
            break
    frames.close()
    sidecar = Sidecar(tmp_path / "s.jsonl")
    assert sidecar.complete and sidecar.end["frames"] == 5
    assert "stopped reading after 5 frames" in sidecar.end["stopped_early"]
    assert [f.index for f in sidecar.frames()] == [0, 1, 2, 3, 4]
    assert detector.frames <= 6


def test_stream_removes_its_sidecar_on_an_error(tmp_path):
    _, source = _video(tmp_path, n=6)

    class Explodes(Counting):
        def detect(self, images):
            if self.frames >= 2:
                raise KeyboardInterrupt  # not a detector fault that fails closed: it stops the run
            return super().detect(images)

    frames = Anonymizer(AnonymizerConfig(batch_size=1), detector=Explodes(), enhancer=Blur()).stream(
        source, sidecar=tmp_path / "s.jsonl"
    )
    with pytest.raises(KeyboardInterrupt):
        list(frames)
    assert list(tmp_path.iterdir()) == [source], "no sidecar, no temporary file"


def test_stream_refuses_to_overwrite_a_sidecar(tmp_path):
    _, source = _video(tmp_path, n=2)
    (tmp_path / "s.jsonl").write_text("keep me")
    with pytest.raises(OutputError):
        Anonymizer(detector=Counting(), enhancer=Blur()).stream(source, sidecar=tmp_path / "s.jsonl")


# -- time spans ----------------------------------------------------------------------------------


def test_a_time_span_outputs_that_span_starting_at_zero(tmp_path):
    raw, source = _video(tmp_path, n=25)  # 25 frames, 40 ms apart: 0 … 0.96 s
    anon = Anonymizer(detector=Counting(), enhancer=Mask())
    result = anon.process_video(source, tmp_path / "o.mp4", start=0.2, end=0.6)
    assert result.frames == 10
    decoded = list(VideoSource(result.output))
    assert len(decoded) == 10 and decoded[0].seconds == pytest.approx(0.0)
    # the first output frame is input frame 5 (at 0.2 s): its background matches that frame's
    x = int(BOX[2]) + 30
    diffs = [np.abs(decoded[0].image[:, x:].astype(int) - raw[i][:, x:]).mean() for i in (4, 5, 6)]
    assert int(np.argmin(diffs)) == 1
    sidecar = Sidecar(result.sidecar)
    assert sidecar.header["anonymization"]["span"] == {"start": 0.2, "end": 0.6}
    assert [f.index for f in sidecar.frames()] == list(range(10))
    assert sidecar.end["span"]["source_start"] == pytest.approx(0.2)


def test_time_span_mistakes_are_refused(tmp_path):
    _, source = _video(tmp_path, n=5)
    anon = Anonymizer(detector=Counting(), enhancer=Mask())
    with pytest.raises(ValueError, match=r"end .* must come after start"):
        anon.process_video(source, tmp_path / "a.mp4", start=2, end=1)
    with pytest.raises(OutputError, match="between 30 s and None s"):
        anon.process_video(source, tmp_path / "b.mp4", start=30)
    assert not (tmp_path / "b.mp4").exists()
    with pytest.raises(ValueError, match="keep_audio cannot be combined"):
        Anonymizer(detector=Counting(), enhancer=Mask(), keep_audio=True).process_video(
            source, tmp_path / "c.mp4", end=0.1
        )
    cv2.imwrite(str(tmp_path / "photo.png"), np.zeros((H, W, 3), np.uint8))
    with pytest.raises(ValueError, match="not to images"):
        anon.process_video(tmp_path / "photo.png", tmp_path / "d.png", start=1)


# -- photos --------------------------------------------------------------------------------------


class PersonInPhotos:
    """Finds a person at BOX in the photos whose content hash is in ``with_person``."""

    def __init__(self, with_person):
        self.with_person = with_person

    def detect(self, images):
        return [
            People(xyxy=np.array([BOX]), score=[0.9])
            if hashlib.sha256(image.tobytes()).hexdigest() in self.with_person
            else People.empty()
            for image in images
        ]


def test_photos_in_a_folder_are_independent_no_region_is_held_between_them(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    photos = [np.random.default_rng(i).integers(0, 255, (H, W, 3), dtype=np.uint8) for i in range(3)]
    for i, photo in enumerate(photos):
        cv2.imwrite(str(folder / f"{i}.png"), photo[:, :, ::-1])
    read = [f.image for f in VideoSource(folder)]
    detector = PersonInPhotos({hashlib.sha256(read[i].tobytes()).hexdigest() for i in (0, 1)})
    result = Anonymizer(detector=detector, enhancer=Mask()).process_video(folder, tmp_path / "out")
    frames = list(Sidecar(result.sidecar).frames())
    assert [len(f.people) for f in frames] == [1, 1, 0], "photo 3 has nobody: nothing may be held into it"
    assert result.held_regions == 0
    out = cv2.imread(str(tmp_path / "out" / "2.png"))[:, :, ::-1]
    assert np.array_equal(out, read[2]), "a photo without people comes out as it went in"
    streamed = list(Anonymizer(detector=detector, enhancer=Mask()).stream(folder))
    assert [len(p) for _, p, _ in streamed] == [1, 1, 0]


# -- drawing -------------------------------------------------------------------------------------


def test_draw_people_draws_limbs_and_ids_and_leaves_the_input_alone():
    image = np.zeros((H, W, 3), np.uint8)
    people = People(xyxy=np.array([BOX]), score=[0.9], keypoints=_keypoints()[None], track_id=[3])
    out = draw_people(image, people)
    assert not image.any()
    shoulder_mid = _keypoints()[5:7, :2].mean(axis=0).round().astype(int)
    assert tuple(out[shoulder_mid[1], shoulder_mid[0]]) == track_color(3)
    bgr = draw_people(image, people, channels="BGR")
    assert tuple(bgr[shoulder_mid[1], shoulder_mid[0]]) == track_color(3)[::-1]
    labelled = draw_people(image, people, skeleton=False)
    assert labelled[: int(BOX[1]), int(BOX[0]) : int(BOX[2])].any(), "the label sits above the box"
    with pytest.raises(ValueError, match="colors has 2 entries for 1 people"):
        draw_people(image, people, colors=[(1, 2, 3), (4, 5, 6)])


def test_draw_pose_draws_onto_the_output_and_is_recorded(tmp_path):
    _, source = _video(tmp_path, n=4)
    seen = []
    anon = Anonymizer(detector=Counting(), enhancer=Mask(color=(128, 128, 128)), draw_pose=True)
    result = anon.process_video(source, tmp_path / "o.mkv", on_frame=lambda img, p, s: seen.append((img, s)))
    assert Sidecar(result.sidecar).header["anonymization"]["draw_pose"] is True
    assert len(seen) == 4 and all(s == "ok" for _, s in seen)
    shoulder_mid = _keypoints()[5:7, :2].mean(axis=0).round().astype(int)
    assert (seen[-1][0][shoulder_mid[1], shoulder_mid[0]] != 128).any(), "the skeleton is drawn over the mask"


# -- the sidecar's end ---------------------------------------------------------------------------


def test_complete_is_known_without_reading_the_frames(tmp_path):
    _, source = _video(tmp_path, n=3)
    result = Anonymizer(detector=Counting(), enhancer=Blur()).process_video(source, tmp_path / "o.mp4")
    sidecar = Sidecar(result.sidecar)
    assert sidecar.complete and sidecar.end["frames"] == 3
    lines = result.sidecar.read_bytes().splitlines(keepends=True)
    cases = {
        "no-end": b"".join(lines[:-1]),
        "cut-end": b"".join(lines[:-1]) + lines[-1][:-5],
        "long-last-line": b"".join(lines[:-1]) + b'{"type":"frame","pad":"' + b"x" * (MAX_END + 10) + b'"}\n',
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.pose.jsonl"
        path.write_bytes(content)
        assert not Sidecar(path).complete, name


def test_warnings_point_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Anonymizer(detector=Counting(), enhancer=Blur(), keep_tracks={1})
    assert caught and caught[0].filename == __file__


def test_frame_timestamps_of_the_stream_are_the_sources(tmp_path):
    write_test_video(tmp_path / "vfr.mkv", [0, 33, 100, 101, 250], time_base=Fraction(1, 1000), size=(H, W))
    source = [(f.pts, f.time_base) for f in VideoSource(tmp_path / "vfr.mkv")]
    anon = Anonymizer(detector=Counting(), enhancer=Blur())
    got = [(f.pts, f.time_base) for f, _, _ in anon.stream(tmp_path / "vfr.mkv")]
    assert got == source and [p * tb for p, tb in got] == [Fraction(p, 1000) for p in (0, 33, 100, 101, 250)]
