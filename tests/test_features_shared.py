"""The user features on real footage from ../shared: a clip of several people walking towards the
camera (face-demographics-walking.gif, 480×270), with the real pose model, through the CLI and the SDK.

Each check compares against a plain run of the same frames, so it fails if an option stops reaching
the pixels, the sidecar or the record it promises.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import supervision as sv
from recanon_cli.main import app
from recanon_sdk.anonymizer import Anonymizer
from recanon_sdk.geometry import head_boxes
from recanon_sdk.types import People
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import Sidecar
from typer.testing import CliRunner

from tests.conftest import SHARED, need_shared

pytestmark = pytest.mark.shared
CLIP = SHARED / "data" / "videos" / "intel" / "face-demographics-walking.gif"
FRAMES = 6
runner = CliRunner()


@pytest.fixture(scope="module")
def clip():
    return need_shared(CLIP)


def anonymize(*args: str):
    result = runner.invoke(app, ["anonymize", *args, "--max-frames", str(FRAMES), "-q", "--overwrite"])
    assert result.exit_code == 0, result.output
    return result


def images(path) -> list[np.ndarray]:
    return [f.image.astype(int) for f in VideoSource(path)]


def people_per_frame(sidecar) -> list[People]:
    return [f.people for f in Sidecar(sidecar).frames()]


def test_cli_head_region_hides_heads_and_leaves_the_bodies_below_them(tmp_path, clip):
    body, head = tmp_path / "body.mp4", tmp_path / "head.mp4"
    anonymize(str(clip), "-o", str(body), "--detect-every", "1")
    anonymize(str(clip), "-o", str(head), "--detect-every", "1", "--region", "head")
    raw = images(clip)
    found = people_per_frame(tmp_path / "body.pose.jsonl")
    assert sum(len(p) for p in found) >= FRAMES  # real people on every frame
    header = Sidecar(tmp_path / "head.pose.jsonl").header
    assert header["anonymization"]["policy"]["region"] == "head"
    below_changed = {"body": [], "head": []}
    for index, people in enumerate(found):
        heads = head_boxes(people.keypoints, people.xyxy)
        for box, head_box in zip(people.xyxy, heads, strict=True):
            if head_box is None:
                continue
            x0, _, x1, y1 = (int(v) for v in box)
            top = int(head_box[3]) + 8  # well below the head box, inside the person box
            if y1 - top < 10 or x1 - x0 < 6:
                continue
            original = raw[index][top:y1, x0:x1]
            for name, video in (("body", body), ("head", head)):
                below_changed[name].append(np.abs(images(video)[index][top:y1, x0:x1] - original).mean())
    assert below_changed["head"], "no person with a known head below which to look"
    # the body below the head is replaced in body mode and kept (codec noise only) in head mode
    assert np.mean(below_changed["body"]) > 3 * np.mean(below_changed["head"])


def test_cli_span_skeleton_draw_pose_and_json(tmp_path, clip):
    out = tmp_path / "span.mp4"
    result = anonymize(
        str(clip), "-o", str(out), "--enhancer", "skeleton", "--draw-pose", "--from", "0.4", "--json"
    )
    record = json.loads(result.stdout)
    assert record["status"] == "done" and record["frames"] == FRAMES and record["persons"] >= FRAMES
    assert record["outputs"]["sidecar"].endswith("span.pose.jsonl")
    sidecar = Sidecar(record["outputs"]["sidecar"])
    assert sidecar.header["anonymization"]["draw_pose"] is True
    rate = VideoSource(clip).info.average_rate
    # the output starts at 0 and holds the frames from 0.4 s on
    times = [f.seconds for f in VideoSource(out)]
    assert times[0] == pytest.approx(0.0) and len(times) == FRAMES
    skip = round(0.4 * float(rate))
    raw = images(clip)[skip : skip + FRAMES]
    written = images(out)
    assert min(np.abs(w - r).mean() for w, r in zip(written, raw, strict=True)) > 1.0  # people replaced


def test_cli_exclude_zones_and_inspect_csv(tmp_path, clip):
    zones = tmp_path / "everywhere.json"
    zones.write_text(json.dumps({"zones": [{"name": "all", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}]}))
    hidden, shown = tmp_path / "hidden.mp4", tmp_path / "shown.mp4"
    anonymize(str(clip), "-o", str(hidden), "--detect-every", "1")
    result = anonymize(str(clip), "-o", str(shown), "--detect-every", "1", "--exclude-zones", str(zones))
    assert "recorded in the sidecar header" in result.stderr
    raw = images(clip)[:FRAMES]
    change = {name: np.mean([np.abs(a - b).mean() for a, b in zip(images(v), raw, strict=True)])
              for name, v in (("hidden", hidden), ("shown", shown))}  # fmt: skip
    assert change["hidden"] > 2 * change["shown"]
    csv = runner.invoke(app, ["inspect", str(tmp_path / "hidden.pose.jsonl"), "--csv", "-"])
    assert csv.exit_code == 0, csv.output
    rows = csv.stdout.strip().splitlines()
    assert len(rows) - 1 == sum(len(p) for p in people_per_frame(tmp_path / "hidden.pose.jsonl"))


def test_sdk_stream_flat_settings_and_conversions(tmp_path, clip, pose_detector):
    anonymizer = Anonymizer(detector=pose_detector, enhancer="pixelate", detect_every=1, hold_frames=3)
    assert anonymizer.enhancer.name == "pixelate" and anonymizer.config.tracker.hold_frames == 3
    seen = []
    for frame, people, status in anonymizer.stream(clip, sidecar=tmp_path / "s.pose.jsonl"):
        assert status == "ok"
        detections, keypoints = people.to_supervision()
        assert isinstance(detections, sv.Detections) and len(detections) == len(people)
        back = People.from_supervision(detections, keypoints)
        np.testing.assert_array_equal(back.xyxy, people.xyxy)
        seen.append(len(people))
        if frame.index + 1 == FRAMES:
            break
    assert sum(seen) >= FRAMES
    sidecar = Sidecar(tmp_path / "s.pose.jsonl")
    assert sidecar.complete  # a stopped stream still ends its sidecar
    table = sidecar.to_pandas()
    assert len(table) == sum(seen) and set(table["frame"]) <= set(range(FRAMES))
