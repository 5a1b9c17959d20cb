"""Cameras as Ray actors (local Ray, 2 CPUs): segments as without Ray, and an actor whose process is
killed mid-segment is restarted by Ray and goes on recording (its open segment is lost, never half-written).

Needs the ``ray`` extra; skipped without it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'recanon[ray]'")

from recanon_sdk.live import RecorderSettings, parse_cameras, watch_ray  # noqa: E402

from tests.fake_camera import FakeCameras  # noqa: E402
from tests.test_batch import complete, descendants_holding, partials  # noqa: E402


@pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="finds the actor's process through /proc (Linux)"
)
def test_a_camera_actor_killed_mid_segment_is_restarted_and_records_on(tmp_path):
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        out = tmp_path / "rec"
        with FakeCameras(["a"], fps=25) as cams:
            cameras = parse_cameras(
                f'[[camera]]\nname = "a"\nurl = "{cams.url("a", "viewer:hunter2@")}"\n', tmp_path
            )
            settings = RecorderSettings(
                out, segment_seconds=None, segment_frames=25, max_segments=2, imgsz=160
            )
            events: list[dict] = []
            stop = threading.Event()
            killed: list[str] = []

            def kill_mid_segment() -> None:
                deadline = time.time() + 120
                while time.time() < deadline:
                    for sidecar in out.glob("a/.*.partial.jsonl"):
                        if sidecar.read_text().count('"type":"frame"') >= 5:
                            pids = descendants_holding(sidecar.name)
                            if pids:
                                os.kill(pids[0], signal.SIGKILL)
                                killed.append(sidecar.name)
                                return
                    time.sleep(0.05)

            killer = threading.Thread(target=kill_mid_segment, daemon=True)
            killer.start()
            timer = threading.Timer(150, stop.set)
            timer.start()
            watch_ray(cameras, settings, stop=stop, on_event=events.append)
            timer.cancel()
            killer.join(1)
    finally:
        ray.shutdown()
    assert killed, "the actor was never caught mid-segment"
    segments = [e for e in events if e["type"] == "segment"]
    assert len(segments) >= 2 and all(complete(Path(s["sidecar"])) for s in segments)
    starts = [e for e in events if e["type"] == "started"]
    assert len(starts) >= 2 and any(
        e["cleaned_temporaries"] >= 1 for e in starts[1:]
    )  # the restart cleaned up
    assert not (out / "a" / killed[0]).exists() and not partials(out)
    assert all("hunter2" not in str(e) for e in events)
