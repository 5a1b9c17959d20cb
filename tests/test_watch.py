"""``recanon watch``: several loopback cameras at once, one dropping and coming back; every segment a
complete (and, when configured, signed) file; credentials never shown or stored; a stop closes the open
segment; a camera process that dies is restarted and its temporaries are cleaned."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from recanon_sdk.errors import InputError
from recanon_sdk.live import parse_cameras
from recanon_sdk.video.reader import VideoSource

from tests.fake_camera import FakeCameras
from tests.test_batch import complete, descendants_holding, partials, records
from tests.test_cli import RECANON, ROOT

DEMO = ROOT / "examples" / "demo"
SECRETS = ("viewer", "hunter2", "s3cret")


def watch(config: Path, out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *RECANON,
            "watch",
            str(config),
            "-o",
            str(out),
            "--imgsz",
            "160",
            "--json",
            "--backoff-max",
            "1",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )


def test_the_camera_list_is_checked_and_credentials_are_never_shown(tmp_path):
    good = parse_cameras(
        '[[camera]]\nname = "lobby"\nurl = "rtsp://viewer:hunter2@10.0.0.5/s?token=s3cret"\n', tmp_path
    )
    assert "hunter2" not in repr(good) and good[0].shown_url == "rtsp://10.0.0.5/s?token=REDACTED"
    two = '[[camera]]\nname = "a"\nurl = "rtsp://viewer:hunter2@h/s"\n[[camera]]\nname = "A"\nurl = "rtsp://h/t"\n'
    bad = {
        two: "two cameras are named",
        '[[camera]]\nname = "a"\nurl = "viewer:hunter2@10.0.0.5/live"\n': "needs a stream url",  # no scheme
        '[[camera]]\nname = "../x"\nurl = "rtsp://h/s"\n': "needs a name",
        '[[camera]]\nname = "a"\nurl = "rtsp://h/s"\nfps = 3\n': "unknown key(s) fps",
        '[[camera]]\nname = "a"\nurl = "rtsp://h/s"\nenhancer = "gx"\n': "enhancer gx needs",
        '[[camera]]\nname = "a"\nurl = "rtsp://h/s"\ndevice_key = "k"\n': "needs both deployment",
        '[defaults]\nenhancer = "pixelate"\n': "lists no camera",
        "[[camera]\n": "not valid TOML",
    }
    for text, says in bad.items():
        with pytest.raises(InputError) as caught:
            parse_cameras(text, tmp_path)
        assert says in caught.value.message, caught.value.message
        assert "hunter2" not in caught.value.message


def test_two_cameras_one_dropping_and_returning_give_complete_segments_for_both(tmp_path):
    out = tmp_path / "rec"
    with FakeCameras(["a", "b"], fps=25) as cams:
        config = tmp_path / "cameras.toml"
        config.write_text(
            f'[[camera]]\nname = "a"\nurl = "{cams.url("a", "viewer:hunter2@")}"\n'
            f'deployment = "{DEMO / "demo.deployment"}"\ndevice_key = "{DEMO / "DEMO-device.key"}"\n'
            f'[[camera]]\nname = "b"\nurl = "{cams.url("b")}?token=s3cret"\nenhancer = "pixelate"\n'
        )
        process = watch(config, out, "--segment-frames", "10", "--max-segments", "5")

        def drop_b_after_its_first_segment() -> None:
            deadline = time.time() + 120
            while time.time() < deadline:
                if any(complete(p) for p in (out / "b").glob("b-*.pose.jsonl")):
                    cams.cameras["b"].go_down(3.0)  # the connection drops, and the camera refuses for 3 s
                    back.append(datetime.now(UTC) + timedelta(seconds=3))
                    return
                time.sleep(0.05)

        back: list[datetime] = []
        dropper = threading.Thread(target=drop_b_after_its_first_segment, daemon=True)
        dropper.start()
        stdout, stderr = process.communicate(timeout=240)
        refused = cams.cameras["b"].refused
    assert process.returncode == 0, stderr
    segments = [r for r in records(stdout) if r["type"] == "segment"]
    for name in ("a", "b"):
        mine = [s for s in segments if s["camera"] == name]
        assert len(mine) == 5, (name, stderr)
        for segment in mine:
            sidecar = Path(segment["sidecar"])
            assert complete(sidecar) and sidecar.parent == out / name
            assert len(list(VideoSource(segment["output"]))) == segment["frames"] > 0  # playable, whole
    b = [s for s in segments if s["camera"] == "b"]
    assert back and refused >= 1 and b[-1]["reconnects"] >= 1
    assert {s["ended"].split(" (")[0] for s in b} <= {"full", "the stream dropped"}
    resumed = datetime.fromisoformat(b[-1]["started"])
    assert resumed >= back[0] - timedelta(seconds=1), "no segment was recorded after the camera came back"
    assert all(Path(s["manifest"]).is_file() for s in segments if s["camera"] == "a")  # a signs
    assert all(s["manifest"] is None for s in b)
    verified = subprocess.run(
        [
            *RECANON,
            "verify",
            [s for s in segments if s["camera"] == "a"][-1]["output"],
            "-d",
            str(DEMO / "demo.deployment"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    stored = "".join(p.read_text(errors="replace") for p in out.rglob("*.jsonl"))
    header = json.loads((Path(b[0]["sidecar"])).read_text().splitlines()[0])
    assert header["source"]["name"].endswith("/b.ts?token=REDACTED")
    for secret in SECRETS:
        assert secret not in stdout + stderr and secret not in stored
    assert not partials(out)


def test_a_stop_closes_every_open_segment(tmp_path):
    out = tmp_path / "rec"
    with FakeCameras(["a", "b"], fps=25) as cams:
        config = tmp_path / "cameras.toml"
        config.write_text(
            f'[[camera]]\nname = "a"\nurl = "{cams.url("a")}"\n'
            f'[[camera]]\nname = "b"\nurl = "{cams.url("b")}"\n'
        )
        process = watch(config, out, "--segment-minutes", "60")
        deadline = time.time() + 120
        while time.time() < deadline:  # until both have frames in their open segment
            open_ = [p for p in out.rglob(".*.partial.jsonl") if p.read_text().count('"type":"frame"') >= 5]
            if len(open_) == 2:
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    segments = [r for r in records(stdout) if r["type"] == "segment"]
    assert sorted(s["camera"] for s in segments) == ["a", "b"], stderr
    for segment in segments:
        assert segment["ended"] == "the recorder was stopped" and complete(Path(segment["sidecar"]))
    assert not partials(out)


@pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="finds the camera process through /proc (Linux)"
)
def test_a_camera_process_that_dies_is_restarted_and_loses_at_most_its_open_segment(tmp_path):
    out = tmp_path / "rec"
    with FakeCameras(["a"], fps=25) as cams:
        config = tmp_path / "cameras.toml"
        config.write_text(f'[[camera]]\nname = "a"\nurl = "{cams.url("a")}"\n')
        process = watch(config, out, "--segment-frames", "25", "--max-segments", "2")
        killed = None
        deadline = time.time() + 120
        while time.time() < deadline and killed is None:
            for sidecar in out.glob("a/.*.partial.jsonl"):
                if sidecar.read_text().count('"type":"frame"') >= 5:
                    pids = descendants_holding(sidecar.name)
                    if pids:
                        os.kill(pids[0], signal.SIGKILL)  # the camera's process dies mid-segment
                        killed = sidecar.name
            time.sleep(0.05)
        stdout, stderr = process.communicate(timeout=180)
    assert killed is not None, "the camera process was never caught mid-segment"
    assert process.returncode == 0, stderr
    assert "restarting in" in stderr
    segments = [r for r in records(stdout) if r["type"] == "segment"]
    assert len(segments) >= 2 and all(complete(Path(s["sidecar"])) for s in segments)
    assert not (out / "a" / killed).exists() and not partials(out)  # cleaned by the restarted process
