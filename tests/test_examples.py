"""Every example under examples/ runs as documented (on the bundled sample, a few frames)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np

from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "walking.mp4"
ENV = {**os.environ, "YOLO_OFFLINE": "1"}


def run_example(name: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=600,
    )


def test_frame_loop(tmp_path):
    result = run_example("frame_loop.py", str(SAMPLE), "--max-frames", "6", "-o", str(tmp_path / "loop.mp4"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("frame ") == 6 and (tmp_path / "loop.mp4").stat().st_size > 0


def test_batch_folder_reports_failures(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "a.mp4")
    (folder / "broken.mp4").write_bytes(b"not a video")
    result = run_example("batch_folder.py", str(folder), str(tmp_path / "out"), "--max-frames", "4")
    assert result.returncode == 1
    assert "ok     a.mp4: 4 frames" in result.stdout and "FAILED broken.mp4" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.anon.mp4", "a.anon.pose.jsonl"]


def test_sidecar_to_pandas(tmp_path):
    from recanon_sdk import Anonymizer

    result = Anonymizer().process_video(SAMPLE, tmp_path / "s.mp4", max_frames=16)
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import sidecar_to_pandas as example
    finally:
        sys.path.pop(0)
    table = example.sidecar_to_frame(str(result.sidecar))
    assert len(table) == result.persons + result.held_regions and len(table) >= 8
    track = int(table[table.track_id >= 0].track_id.iloc[0])
    keypoints = example.keypoints_by_track(table, track)
    assert keypoints.shape[1:] == (17, 3) and np.isfinite(keypoints).all()
    printed = run_example("sidecar_to_pandas.py", str(result.sidecar))
    assert printed.returncode == 0 and f"track {track}:" in printed.stdout


def test_recover_person_demo(tmp_path):
    result = run_example("recover_person.py", "--demo", "--stills", str(tmp_path / "stills"))
    assert result.returncode == 0, result.stderr
    stills = sorted((tmp_path / "stills").glob("*.png"))
    assert "recovered track" in result.stdout and len(stills) >= 10
    assert f"{len(stills)} stills" in result.stdout
