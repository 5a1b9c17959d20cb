import json

import numpy as np
import pytest
from recanon_sdk.errors import SidecarError
from recanon_sdk.types import People
from recanon_sdk.video.sidecar import SCHEMA, Sidecar, SidecarWriter, make_header, sidecar_path_for


def people(n: int, seed: int = 0) -> People:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    return People(
        xyxy=np.concatenate([xy, xy + 20], axis=1),
        score=rng.uniform(0.2, 1, n),
        keypoints=rng.uniform(0, 100, (n, 17, 3)),
        track_id=np.arange(n) - 1,
        region=np.tile([1, 2, 30, 40], (n, 1)),
        held=np.arange(n) % 2 == 0,
    )


def test_round_trip(tmp_path):
    path = tmp_path / "out.pose.jsonl"
    writer = SidecarWriter(path, make_header(source={"name": "x.mp4", "time_base": "1/90000"}))
    written = [people(3, 1), People.empty(), people(2, 2)]
    for i, p in enumerate(written):
        writer.write_frame(
            index=i,
            pts=i * 3000,
            seconds=i / 30,
            people=p,
            status="obscured" if i == 1 else "ok",
            events=[{"kind": "detector_failed"}] if i == 1 else None,
        )
    assert not path.exists(), "the sidecar must only get its final name when finished"
    writer.finish(frames=3)
    sidecar = Sidecar(path)
    assert sidecar.header["schema"] == SCHEMA and len(sidecar.header["keypoint_names"]) == 17
    frames = list(sidecar.frames())
    assert sidecar.complete
    assert [f.pts for f in frames] == [0, 3000, 6000]
    assert frames[1].status == "obscured" and frames[1].events[0]["kind"] == "detector_failed"
    for original, read in zip(written, frames, strict=True):
        assert len(read.people) == len(original)
        if len(original):
            np.testing.assert_allclose(read.people.xyxy, original.xyxy, atol=0.01)
            np.testing.assert_allclose(read.people.keypoints, original.keypoints, atol=0.01)
            assert read.people.region.tolist() == original.region.tolist()
            assert read.people.held.tolist() == original.held.tolist()
            expected_ids = [-1 if t < 0 else t for t in original.track_id]
            assert read.people.track_id.tolist() == expected_ids


def test_lines_are_flushed_so_a_crash_leaves_a_valid_prefix(tmp_path):
    path = tmp_path / "crash.pose.jsonl"
    writer = SidecarWriter(path, make_header())
    writer.write_frame(index=0, pts=0, seconds=0.0, people=people(1))
    writer.write_frame(index=1, pts=1, seconds=0.1, people=people(1))
    temporary = writer._temporary  # what a crash would leave behind
    lines = temporary.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)
    crashed = tmp_path / "crashed.pose.jsonl"
    crashed.write_text(temporary.read_text())
    sidecar = Sidecar(crashed)
    assert len(list(sidecar.frames())) == 2 and not sidecar.complete
    writer.abort()
    assert not temporary.exists()


def test_listeners_see_every_line_byte_exact(tmp_path):
    path = tmp_path / "s.pose.jsonl"
    seen: list[bytes] = []
    writer = SidecarWriter(path, make_header())
    writer.on_line.append(seen.append)
    writer.write_frame(index=0, pts=0, seconds=0.0, people=people(2))
    writer.finish(frames=1)
    assert b"".join(seen) == path.read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type":"header","schema":"recanon.pose/99"}\n', "schema"),
        ("not json\n", "not valid JSON"),
        ('{"type":"frame"}\n', "not a recanon sidecar header"),
        ("[1,2]\n", "not a JSON object"),
    ],
)
def test_bad_sidecars_raise_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.pose.jsonl"
    path.write_text(content)
    with pytest.raises(SidecarError, match=message):
        Sidecar(path)


def test_malformed_frame_line(tmp_path):
    path = tmp_path / "bad.pose.jsonl"
    path.write_text(json.dumps(make_header()) + "\n" + '{"type":"frame","index":0,"persons":[{"box":[1]}]}\n')
    with pytest.raises(SidecarError, match="line 2"):
        list(Sidecar(path).frames())


def test_sidecar_name():
    assert sidecar_path_for("/a/b/cam.anon.mkv").as_posix() == "/a/b/cam.anon.pose.jsonl"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("x" * (5 * 1024 * 1024), "longer than 4 MiB"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"type":"frame","index":' + "1" * 5000 + "}", "integer of 5000 digits"),
        ('{"type":"frame","index":0,"time":NaN}', "NaN is not allowed"),
        ('{"type":"frame","index":0,"time":1e999}', "malformed frame record"),
        ('{"type":"frame","index":"0"}', "malformed frame record"),
        ('{"type":"frame","index":0,"persons":{"a":1}}', "'persons' is not a list"),
    ],
)
def test_hostile_lines_are_one_clear_error_after_a_bounded_read(tmp_path, line, message):
    path = tmp_path / "bad.pose.jsonl"
    path.write_text(json.dumps(make_header()) + "\n" + line + "\n")
    with pytest.raises(SidecarError, match=message):
        list(Sidecar(path).frames())
