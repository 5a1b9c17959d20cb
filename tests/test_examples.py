"""Every example under examples/ runs as its docstring documents it (on the bundled sample, a few frames).

Each example's docstring shows the commands a user types; ``test_every_documented_command_is_run_here``
keeps that list and the tests below in step, so a command cannot be documented without being run.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "walking.mp4"
ENV = {**os.environ, "YOLO_OFFLINE": "1"}

#: Documented commands that need what a test machine does not have, and why.
NOT_RUN = {
    "python examples/frame_loop.py rtsp://10.0.0.5/stream --max-frames 300 -o cam.anon.mp4": "a camera",
    "python examples/recover_person.py cam3.anon.mp4 --key alice.key --deployment site42.deployment "
    "--track 7 --from 70 --to 100 --stills stills/": "your own footage and key (--demo runs the same code)",
}
#: Documented commands the tests below run, verbatim, in a sandbox folder (see ``sandbox``).
RUN = {
    "python examples/frame_loop.py examples/walking.mp4 --max-frames 20",
    "python examples/batch_folder.py footage/ anonymized/",
    "python examples/batch_folder.py footage/ anonymized/ --enhancer pixelate --overwrite",
    "python examples/sidecar_to_pandas.py walking.anon.pose.jsonl",
    "python examples/recover_person.py --demo --stills stills/",
}


def documented_commands(script: Path) -> list[str]:
    """The ``python examples/…`` lines of a script's docstring (continuations joined, comments cut)."""
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    commands, pending = [], ""
    for line in doc.splitlines():
        text = (pending + " " + line.strip()).strip() if pending else line.strip()
        if text.endswith("\\"):
            pending = text[:-1].strip()
            continue
        pending = ""
        if text.startswith("python examples/"):
            commands.append(" ".join(text.split("#", 1)[0].split()))
    return commands


def run_example(name: str, *args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=600,
    )


def run_documented(command: str, cwd: Path) -> subprocess.CompletedProcess:
    assert command in RUN, f"not a documented command: {command}"
    argv = command.split()
    return subprocess.run(
        [sys.executable, *argv[1:]], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600
    )


def write_clip(path: Path, first: int = 6, count: int = 4) -> None:
    """Frames first … first+count-1 of the bundled sample (the person is in view from frame 6)."""
    with av.open(str(SAMPLE)) as source, av.open(str(path), "w") as sink:
        stream = sink.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 768, 432, "yuv420p"
        for index, frame in enumerate(source.decode(video=0)):
            if index >= first + count:
                break
            if index >= first:
                rgb = frame.to_ndarray(format="rgb24")
                sink.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        sink.mux(stream.encode())


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A folder as a user has it: examples/ (the repository's), footage/ with one short video."""
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    (tmp_path / "footage").mkdir()
    write_clip(tmp_path / "footage" / "walk.mp4")
    return tmp_path


def test_every_documented_command_is_run_here():
    scripts = sorted((ROOT / "examples").glob("*.py"))
    documented = {command for script in scripts for command in documented_commands(script)}
    assert documented == RUN | set(NOT_RUN)


def test_frame_loop(sandbox):
    result = run_documented("python examples/frame_loop.py examples/walking.mp4 --max-frames 20", sandbox)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("frame ") == 20 and (sandbox / "frame_loop.anon.mp4").stat().st_size > 0


def test_batch_folder(sandbox):
    first = run_documented("python examples/batch_folder.py footage/ anonymized/", sandbox)
    assert first.returncode == 0, first.stderr
    assert "ok     walk.mp4: 4 frames" in first.stdout and "1 of 1 videos anonymized" in first.stdout
    again = run_documented(
        "python examples/batch_folder.py footage/ anonymized/ --enhancer pixelate --overwrite", sandbox
    )
    assert again.returncode == 0, again.stderr
    written = sorted(p.name for p in (sandbox / "anonymized").iterdir())
    assert written == ["walk.anon.mp4", "walk.anon.pose.jsonl"]


def test_batch_folder_reports_failures(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "a.mp4")
    (folder / "broken.mp4").write_bytes(b"not a video")
    result = run_example("batch_folder.py", str(folder), str(tmp_path / "out"), "--max-frames", "4")
    assert result.returncode == 1
    assert "ok     a.mp4: 4 frames" in result.stdout and "FAILED broken.mp4" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.anon.mp4", "a.anon.pose.jsonl"]


def test_sidecar_to_pandas(sandbox):
    from recanon_sdk import Anonymizer

    result = Anonymizer().process_video(SAMPLE, sandbox / "walking.anon.mp4", max_frames=16)
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
    assert result.sidecar.name == "walking.anon.pose.jsonl"
    printed = run_documented("python examples/sidecar_to_pandas.py walking.anon.pose.jsonl", sandbox)
    assert printed.returncode == 0 and f"track {track}:" in printed.stdout


def test_sidecar_to_pandas_says_it_needs_pandas(tmp_path):
    """pandas is not in recanon's install: without it the example says so in one sentence."""
    script = ROOT / "examples" / "sidecar_to_pandas.py"
    hide_pandas = (
        "import runpy, sys; sys.modules['pandas'] = None; "
        f"sys.argv = [{str(script)!r}, 'x.pose.jsonl']; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide_pandas], capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=99
    )
    assert result.returncode != 0
    assert "needs pandas" in result.stderr and "pip install pandas" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_recover_person_demo(sandbox):
    result = run_documented("python examples/recover_person.py --demo --stills stills/", sandbox)
    assert result.returncode == 0, result.stderr
    stills = sorted((sandbox / "stills").glob("*.png"))
    assert "recovered track" in result.stdout and len(stills) >= 10
    assert f"{len(stills)} stills" in result.stdout
    assert not (ROOT / "examples" / "demo" / "demo.audit.jsonl").exists()  # the DEMO kit stays clean


def test_recover_person_refuses_a_video_with_demo(tmp_path):
    """``--demo stills/`` (a folder where the video goes) is an error, not a silently ignored argument."""
    result = run_example("recover_person.py", "--demo", "stills/", "--stills", "out/", cwd=tmp_path)
    assert result.returncode == 2 and "not both" in result.stderr
    assert not (tmp_path / "out").exists()
