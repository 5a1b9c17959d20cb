"""The ``recanon`` command as a user meets it: one-sentence errors, exit codes, nothing lost."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest
from recanon_cli.main import app
from typer.testing import CliRunner

from tests.conftest import ROOT, write_test_video

runner = CliRunner()
RECANON = [sys.executable, "-c", "from recanon_cli.main import main; main()"]


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RECANON, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("this is not a video\n" * 20), "not a video"),
    ],
)
def test_bad_input_gets_one_sentence_and_nonzero_exit(tmp_path, make_input, message):
    target = tmp_path / "input.mp4"
    make_input(target)
    result = run("anonymize", str(target))
    assert result.returncode == 1
    assert result.stderr.startswith("recanon: error:") and message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == (["input.mp4"] if target.exists() else [])


def test_existing_output_needs_overwrite_and_is_kept(tmp_path):
    write_test_video(tmp_path / "in.mp4", [0, 40, 80])
    (tmp_path / "in.anon.mp4").write_bytes(b"precious")
    result = runner.invoke(app, ["anonymize", str(tmp_path / "in.mp4"), "--quiet"])
    assert result.exit_code == 1 and "exists already" in result.output and "--overwrite" in result.output
    assert (tmp_path / "in.anon.mp4").read_bytes() == b"precious"


def test_unwritable_output_folder(tmp_path):
    write_test_video(tmp_path / "in.mp4", [0, 40, 80])
    result = runner.invoke(
        app, ["anonymize", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "no" / "out.mp4")]
    )
    assert result.exit_code == 1 and "does not exist" in result.output


def test_bad_option_value_is_one_sentence(tmp_path):
    write_test_video(tmp_path / "in.mp4", [0, 40, 80])
    result = runner.invoke(app, ["anonymize", str(tmp_path / "in.mp4"), "--tiles", "two"])
    assert result.exit_code == 1 and "ROWSxCOLS" in result.output
    result = runner.invoke(app, ["anonymize", str(tmp_path / "in.mp4"), "--imgsz", "1000"])
    assert result.exit_code == 1 and "multiple of 32" in result.output


def test_anonymize_then_inspect(tmp_path):
    write_test_video(tmp_path / "in.mp4", [i * 40 for i in range(6)], size=(120, 160))
    result = runner.invoke(app, ["anonymize", str(tmp_path / "in.mp4"), "--enhancer", "pixelate"])
    assert result.exit_code == 0, result.output
    assert "6 frames" in result.output and "failed closed" in result.output
    assert (tmp_path / "in.anon.mp4").is_file() and (tmp_path / "in.anon.pose.jsonl").is_file()
    inspected = runner.invoke(app, ["inspect", str(tmp_path / "in.anon.pose.jsonl")])
    assert inspected.exit_code == 0 and "frames     6" in inspected.output
    bad = runner.invoke(app, ["inspect", str(tmp_path / "in.mp4")])
    assert bad.exit_code == 1 and "recanon: error:" in bad.output


def test_info_names_the_weights_and_their_hash():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0
    assert "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0" in "".join(
        result.output.split()
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_interrupt_removes_partial_outputs_and_exits_130(tmp_path, signum):
    sample = ROOT / "examples" / "walking.mp4"
    process = subprocess.Popen(
        [*RECANON, "anonymize", str(sample), "-o", str(tmp_path / "out.mp4"), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )
    deadline = time.time() + 120

    def frames_written() -> int:  # frame lines in the hidden partial sidecar
        counts = [0]
        for path in tmp_path.iterdir():
            if path.name.endswith(".jsonl"):
                with contextlib.suppress(FileNotFoundError):
                    counts.append(path.read_text().count('"type":"frame"'))
        return max(counts)

    while time.time() < deadline and frames_written() < 2:
        time.sleep(0.2)  # wait until it is in the middle of the run (frames are being written)
    assert frames_written() >= 2, "the run never started writing frames"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list(tmp_path.iterdir()) == []


def test_corrupt_in_the_middle_is_finalized_and_exits_3(tmp_path):
    write_test_video(tmp_path / "full.mkv", [i * 40 for i in range(40)], size=(120, 160))
    data = (tmp_path / "full.mkv").read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) // 2])
    result = runner.invoke(
        app, ["anonymize", str(tmp_path / "cut.mkv"), "-o", str(tmp_path / "out.mp4"), "-q"]
    )
    assert result.exit_code == 3 and "stopped decoding early" in result.output
    from recanon_sdk.video.reader import VideoSource
    from recanon_sdk.video.sidecar import Sidecar

    frames = len(list(VideoSource(tmp_path / "out.mp4")))
    sidecar = Sidecar(tmp_path / "out.pose.jsonl")
    assert 5 < frames < 40 and len(list(sidecar.frames())) == frames and sidecar.end["stopped_early"]
