"""``recanon anonymize``'s look, hiding-policy, time-span and speed options, on the bundled sample.

Each run is a few frames of examples/walking.mp4 (one person walking through a room, 768×432).
"""

from __future__ import annotations

import json
import re
import shlex
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from recanon_cli.main import app
from typer.testing import CliRunner

from tests.conftest import ROOT, x264_threads

runner = CliRunner()
WALK = ROOT / "examples" / "walking.mp4"
DEMO = ROOT / "examples" / "demo"
#: Three frames from 1 s on, where the person is in view.
FEW = ["--from", "1", "--max-frames", "3", "--quiet"]


def anonymize(*args: str):
    return runner.invoke(app, ["anonymize", *args])


def header(sidecar: Path) -> dict:
    return json.loads(sidecar.read_text().splitlines()[0])


def frames(path: Path) -> list[np.ndarray]:
    from recanon_sdk.video.reader import VideoSource

    return [f.image for f in VideoSource(path)]


def frame_records(sidecar: Path) -> list[dict]:
    return [json.loads(line) for line in sidecar.read_text().splitlines() if '"type":"frame"' in line]


def person_box(sidecar: Path, index: int = 0) -> list[int]:
    """The anonymized region of the first person in frame ``index``."""
    return [int(v) for v in frame_records(sidecar)[index]["persons"][0]["region"]]


# --- the look -------------------------------------------------------------------------------------


def test_look_options_reach_the_pixels_and_the_header(tmp_path):
    out = tmp_path / "look.mp4"
    result = anonymize(str(WALK), "-o", str(out), "--enhancer", "mask", "--color", "200,30,30", *FEW)
    assert result.exit_code == 0, result.output
    h = header(tmp_path / "look.pose.jsonl")
    assert h["models"]["enhancer"] == {"name": "mask", "color": [200, 30, 30]}
    x0, y0, x1, y1 = person_box(tmp_path / "look.pose.jsonl")
    middle = frames(out)[0][(y0 + y1) // 2, (x0 + x1) // 2].astype(int)
    assert np.abs(middle - [200, 30, 30]).max() < 12, middle  # the colour asked for (x264 rounds)

    out = tmp_path / "px.mp4"
    result = anonymize(str(WALK), "-o", str(out), "--enhancer", "pixelate", "--cell-px", "24", *FEW)
    assert result.exit_code == 0, result.output
    assert header(tmp_path / "px.pose.jsonl")["anonymization"]["enhancer_settings"] == {"cell_px": 24}
    result = anonymize(str(WALK), "-o", str(tmp_path / "b.mp4"), "--blur-px", "9.5", *FEW)
    assert result.exit_code == 0, result.output
    assert header(tmp_path / "b.pose.jsonl")["anonymization"]["enhancer_settings"] == {"sigma_px": 9.5}


def test_draw_pose_draws_on_the_output_and_is_recorded(tmp_path):
    plain, drawn = tmp_path / "plain.mp4", tmp_path / "drawn.mp4"
    common = ["--enhancer", "mask", "--detect-every", "1", *FEW]
    assert anonymize(str(WALK), "-o", str(plain), *common).exit_code == 0
    result = anonymize(str(WALK), "-o", str(drawn), "--draw-pose", *common)
    assert result.exit_code == 0, result.output
    assert header(tmp_path / "drawn.pose.jsonl")["anonymization"]["draw_pose"] is True
    assert header(tmp_path / "plain.pose.jsonl")["anonymization"]["draw_pose"] is False
    x0, y0, x1, y1 = person_box(tmp_path / "plain.pose.jsonl")
    a, b = frames(plain)[0], frames(drawn)[0]
    inside = np.abs(a[y0:y1, x0:x1].astype(int) - b[y0:y1, x0:x1]).max(axis=2) > 60
    assert inside.sum() > 100  # limbs and the id label on the flat mask
    outside = np.abs(a[: max(1, y0 - 20)].astype(int) - b[: max(1, y0 - 20)]).max()
    assert outside < 40  # and nothing drawn far above the person


@pytest.mark.parametrize("name", ["ellipse", "skeleton"])
def test_the_other_looks_run(tmp_path, name):
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--enhancer", name, *FEW)
    assert result.exit_code == 0, result.output
    assert header(tmp_path / "o.pose.jsonl")["models"]["enhancer"]["name"] == name


def test_replace_with_puts_the_picture_over_each_person(tmp_path):
    picture = tmp_path / "green.png"
    cv2.imwrite(str(picture), np.full((40, 30, 3), (0, 255, 0), np.uint8))  # BGR green
    out = tmp_path / "pic.mp4"
    result = anonymize(str(WALK), "-o", str(out), "--replace-with", str(picture), *FEW)  # implies picture
    assert result.exit_code == 0, result.output
    x0, y0, x1, y1 = person_box(tmp_path / "pic.pose.jsonl")
    middle = frames(out)[0][(y0 + y1) // 2, (x0 + x1) // 2].astype(int)
    assert middle[1] > 200 and middle[0] < 60 and middle[2] < 60, middle
    missing = anonymize(str(WALK), "-o", str(tmp_path / "x.mp4"), "--enhancer", "picture", *FEW)
    assert missing.exit_code == 1 and "--replace-with IMAGE" in missing.stderr
    not_a_picture = anonymize(str(WALK), "-o", str(tmp_path / "x.mp4"), "--replace-with", str(WALK), *FEW)
    assert not_a_picture.exit_code == 1 and "--replace-with:" in not_a_picture.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--blur-px", "5", "--enhancer", "pixelate"], "--blur-px does not apply to --enhancer pixelate"),
        (["--cell-px", "5"], "--cell-px does not apply to --enhancer blur"),
        (["--color", "1,2", "--enhancer", "mask"], "--color '1,2' is not R,G,B"),
        (["--color", "0,0,0", "--enhancer", "blur"], "--color does not apply"),
        (
            ["--replace-with", "x.png", "--enhancer", "mask"],
            "--replace-with is a picture for --enhancer picture",
        ),
    ],
)
def test_look_options_that_do_not_fit_are_one_sentence(tmp_path, args, said):
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), *args, *FEW)
    assert result.exit_code == 1 and said in result.stderr, result.output
    assert list(tmp_path.iterdir()) == []


# --- who is hidden --------------------------------------------------------------------------------


def test_exclude_zones_leave_the_person_visible_and_warn(tmp_path):
    zones = tmp_path / "everywhere.json"
    zones.write_text(json.dumps({"zones": [{"name": "all", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}]}))
    hidden, shown = tmp_path / "hidden.mp4", tmp_path / "shown.mp4"
    common = ["--detect-every", "1", *FEW]
    assert anonymize(str(WALK), "-o", str(hidden), *common).exit_code == 0
    result = anonymize(str(WALK), "-o", str(shown), "--exclude-zones", str(zones), *common)
    assert result.exit_code == 0, result.output
    assert "recanon: warning:" in result.stderr and "recorded in the sidecar header" in result.stderr
    policy = header(tmp_path / "shown.pose.jsonl")["anonymization"]["policy"]
    assert policy["exclude_zones"] == [{"points": [[0, 0], [1, 0], [1, 1], [0, 1]], "relative": True}]
    original = frames(WALK)[10].astype(int)  # 1.0 s at 10 fps
    x0, y0, x1, y1 = person_box(tmp_path / "hidden.pose.jsonl")
    changed = lambda video: np.abs(frames(video)[0][y0:y1, x0:x1] - original[y0:y1, x0:x1]).mean()  # noqa: E731
    assert changed(hidden) > 3 * changed(shown) and changed(shown) < 4  # shown ≈ the original


def test_region_head_keeps_the_body_and_keep_track_warns(tmp_path):
    out = tmp_path / "head.mp4"
    result = anonymize(
        str(WALK), "-o", str(out), "--region", "head", "--keep-track", "7", "--max-region", "0.9", *FEW
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("recanon: warning:")]
    assert any("keep_tracks leaves tracks 7 visible" in w and "sidecar" in w for w in warnings), warnings
    assert any("region='head'" in w for w in warnings)
    policy = header(tmp_path / "head.pose.jsonl")["anonymization"]["policy"]
    assert policy["region"] == "head" and policy["keep_tracks"] == [7] and policy["max_region"] == 0.9
    assert any("max_region=0.9" in w for w in warnings)
    assert "Warning" not in result.stderr  # Python's own warning format stays out


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("not json", "is not JSON"),
        ("[]", "holds no zones"),
        ("[[[0, 0], [1, 1]]]", "zone 1: a zone needs at least 3 points"),
        ('[{"points": [[0, 0], [1, 0], [1, 1]], "colour": 1}]', "unknown key 'colour'"),
        ('{"zone": []}', 'must hold only "zones"'),
        ('[[[0, 0], [1, 0], ["a", 1]]]', "points must be numbers"),
    ],
)
def test_a_bad_zone_file_is_one_sentence_before_any_work(tmp_path, content, said):
    zones = tmp_path / "z.json"
    zones.write_text(content)
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--zones", str(zones), *FEW)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("recanon: error: --zones:") and said in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.json"]


def test_from_to_cut_the_span(tmp_path):
    out = tmp_path / "span.mp4"
    result = anonymize(str(WALK), "-o", str(out), "--from", "0:01", "--to", "1.5", "--quiet")
    assert result.exit_code == 0, result.output
    records = frame_records(tmp_path / "span.pose.jsonl")
    assert len(records) == len(frames(out)) == 5  # 1.0, 1.1, … 1.4 s of a 10 fps clip
    assert header(tmp_path / "span.pose.jsonl")["anonymization"]["span"] == {"start": 1.0, "end": 1.5}
    backwards = anonymize(str(WALK), "-o", str(tmp_path / "x.mp4"), "--from", "3", "--to", "2")
    assert backwards.exit_code == 1 and "must come after start" in backwards.stderr
    bad = anonymize(str(WALK), "-o", str(tmp_path / "x.mp4"), "--from", "1:75")
    assert bad.exit_code == 1 and "not a valid clock time" in bad.stderr
    audio = anonymize(str(WALK), "-o", str(tmp_path / "x.mp4"), "--to", "2", "--keep-audio")
    assert audio.exit_code == 1 and "--keep-audio cannot be combined" in audio.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["span.mp4", "span.pose.jsonl"]


def test_speed_settings_are_recorded(tmp_path):
    result = anonymize(
        str(WALK), "-o", str(tmp_path / "o.mp4"), "--detect-every", "3", "--crowd-people", "0",
        "--crop-pose", "4", "--crop-pose-still", "0", "--still-detect-every", "0", *FEW,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    h = header(tmp_path / "o.pose.jsonl")
    assert h["anonymization"]["cadence"]["detect_every"] == 3
    assert h["anonymization"]["cadence"]["still_detect_every"] == 0
    crop_pose = {"people": 4, "size": 256, "margin": 0.25, "still_px": 0.0}
    assert h["anonymization"]["cadence"]["crop_pose"] == crop_pose
    crowd = {"people": 0, "tiles": [3, 3], "conf": 0.03, "hint_conf": 0.05, "iou": 0.7}
    assert h["models"]["pose"]["crowd"] == crowd
    default = anonymize(str(WALK), "-o", str(tmp_path / "d.mp4"), *FEW)
    assert default.exit_code == 0
    h = header(tmp_path / "d.pose.jsonl")
    assert h["anonymization"]["cadence"]["detect_every"] == 3 and h["models"]["pose"]["crowd"]["people"] == 6
    assert h["anonymization"]["cadence"]["crop_pose"]["people"] == 8  # the crop pass is on by default
    from recanon_sdk.cadence import CadenceConfig
    from recanon_sdk.geometry import CropGeometry

    assert h["anonymization"]["cadence"]["crop_pose"]["still_px"] == CadenceConfig().crop_pose_still_px == 2.0
    assert h["anonymization"]["cadence"]["still_detect_every"] == CadenceConfig().still_detect_every == 12
    assert h["anonymization"]["margin"] == CropGeometry().margin == 0.2  # the CLI keeps the SDK's default


def test_single_source_options_are_refused_in_a_batch(tmp_path):
    result = anonymize(str(WALK), str(WALK), "-o", str(tmp_path / "out"), "--preview", "--from", "1")
    assert result.exit_code == 1
    assert "--preview, --from apply to one source at a time, not to a batch" in result.stderr


def test_every_new_option_states_its_default_and_its_privacy_cost():
    from recanon_cli.commands.anonymize import extra_options
    from typer.main import get_command

    command = get_command(app).commands["anonymize"]
    helps = {opt: p.help for p in command.params for opt in getattr(p, "opts", [])}
    new = ["--blur-px", "--cell-px", "--color", "--replace-with", "--draw-pose", "--preview", "--region",
           "--zones", "--exclude-zones", "--keep-track", "--max-region", "--from", "--to",
           "--detect-every", "--crowd-people", "--json"]  # fmt: skip
    shows_default = {p.opts[0] for p in command.params if getattr(p, "show_default", False) is not False}
    for option in new:
        assert "Default" in helps[option] or option in shows_default, option
    for option in ("--blur-px", "--cell-px", "--zones", "--exclude-zones", "--keep-track", "--max-region"):
        assert "Costs privacy" in helps[option], option
    assert "bodies visible" in helps["--region"] and "misses more people" in helps["--crowd-people"]
    assert extra_options.Region.body.value == "body"


# --- rough edges ----------------------------------------------------------------------------------


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the run needs the pose model (what is checked first must not wait for it; a
    load started beside the checks fails in its thread and is never taken)."""
    import recanon_sdk.detect.backend as backend

    def refuse(*args, **kwargs):
        raise AssertionError("the pose model was loaded before the check")

    monkeypatch.setattr(backend, "create_pose_detector", refuse)


def test_an_existing_stream_output_is_refused_before_the_model_loads(tmp_path, monkeypatch, no_model):
    monkeypatch.chdir(tmp_path)
    Path("stream.anon.mp4").write_bytes(b"precious")
    result = anonymize("rtsp://127.0.0.1:9/cam", "--quiet")
    assert result.exit_code == 1 and "exists already" in result.stderr, result.output
    assert Path("stream.anon.mp4").read_bytes() == b"precious"


@pytest.mark.parametrize("output", ["out.xyz", "out"])
def test_a_bad_output_suffix_is_refused_before_the_model_loads(tmp_path, no_model, output):
    result = anonymize(str(WALK), "-o", str(tmp_path / output), "--quiet")
    assert result.exit_code == 1 and "cannot tell the container format" in result.stderr, result.output
    assert list(tmp_path.iterdir()) == []


def test_an_existing_video_output_is_refused_before_the_model_loads(tmp_path, no_model):
    (tmp_path / "o.pose.jsonl").write_text("mine")
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--quiet")
    assert result.exit_code == 1 and "exists already" in result.stderr


def test_device_cuda_without_a_gpu_build_is_refused(tmp_path, monkeypatch, no_model):
    import onnxruntime
    import recanon_sdk.detect.backend as backend

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(backend, "torch_available", lambda: False)  # the runtime install
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--device", "cuda", "--quiet")
    assert result.exit_code == 1, result.output
    assert "needs onnxruntime-gpu (pip install 'recanon[gpu]')" in result.stderr.splitlines()[0]
    assert list(tmp_path.iterdir()) == []


def test_device_cuda_that_falls_back_to_the_cpu_is_refused(tmp_path, monkeypatch):
    """ONNX Runtime lists CUDA but cannot start it (libraries missing): the session runs on the CPU."""
    import onnxruntime
    import recanon_sdk.detect.backend as backend

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(backend, "torch_available", lambda: False)
    fake = types.SimpleNamespace(providers=["CPUExecutionProvider"], weights=None)
    monkeypatch.setattr(backend, "create_pose_detector", lambda *a, **k: fake)
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--device", "cuda", "--quiet")
    assert result.exit_code == 1 and "could not start CUDA" in result.stderr, result.output
    assert list(tmp_path.iterdir()) == []


def test_preview_without_a_display_stops_before_any_work(tmp_path, monkeypatch, no_model):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--preview")
    assert result.exit_code == 1 and result.stderr.count("\n") == 2, result.output
    assert "--preview needs a display" in result.stderr and "--draw-pose" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_preview_with_headless_opencv_says_so(tmp_path, monkeypatch, no_model):
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:                           NONE\n")
    monkeypatch.setenv("DISPLAY", ":0")
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--preview")
    assert result.exit_code == 1 and "opencv-python-headless" in result.stderr
    assert "pip install opencv-python" in result.stderr


def test_preview_shows_each_frame_with_the_people_drawn(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(cv2, "getBuildInformation", lambda: "  GUI:  QT5\n")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(cv2, "namedWindow", lambda *a: None)
    monkeypatch.setattr(cv2, "imshow", lambda name, image: shown.append(image.copy()))
    monkeypatch.setattr(cv2, "waitKey", lambda delay: -1)
    monkeypatch.setattr(cv2, "getWindowProperty", lambda *a: 1.0)
    monkeypatch.setattr(cv2, "destroyWindow", lambda *a: None)
    out = tmp_path / "o.mp4"
    result = anonymize(str(WALK), "-o", str(out), "--preview", "--enhancer", "mask", *FEW)
    assert result.exit_code == 0, result.output
    assert len(shown) == 3
    written = frames(out)[0][:, :, ::-1].astype(int)  # the output is not drawn on (BGR like the window)
    assert np.abs(shown[0].astype(int) - written).max(axis=2).__gt__(60).sum() > 100


def test_an_interrupted_error_of_any_subclass_exits_130(tmp_path, monkeypatch):
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.errors import Interrupted

    class StoppedBySupervisor(Interrupted):
        pass

    def stop(self, *args, **kwargs):
        raise StoppedBySupervisor("interrupted (Ctrl-C); the partial outputs were removed")

    monkeypatch.setattr(Anonymizer, "process_video", stop)
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--quiet")
    assert result.exit_code == 130 and "interrupted" in result.stderr
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--quiet", "--json")
    assert result.exit_code == 130 and json.loads(result.stdout)["status"] == "interrupted"


# --- what a run says ------------------------------------------------------------------------------


def test_one_file_with_json_prints_one_record_and_keeps_text_on_stderr(tmp_path):
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--max-frames", "3", "--json", "--from", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["status"] == "done" and record["frames"] == 3 and record["error"] is None
    assert record["outputs"]["output"].endswith("o.mp4") and record["outputs"]["sidecar"].endswith(
        ".pose.jsonl"
    )
    assert "done  3 frames" in result.stderr  # the human summary, on stderr
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video\n" * 20)
    failed = anonymize(str(bad), "--json")
    assert failed.exit_code == 1 and failed.stderr.startswith("recanon: error:")
    assert json.loads(failed.stdout)["status"] == "failed"


def grammatical(text: str) -> bool:
    """Every counted noun in ``text`` is singular for 1 and plural otherwise."""
    counted = re.findall(r"\b(\d+) (frame|image|track|person detection)(s?)\b", text)
    return bool(counted) and all((n == "1") == (s == "") for n, _, s in counted)


def test_the_summary_speaks_in_singular_and_plural(tmp_path):
    image = tmp_path / "still.png"
    cv2.imwrite(str(image), frames(WALK)[10][:, :, ::-1])
    result = anonymize(str(image))
    assert result.exit_code == 0, result.output
    assert "done  1 image in" in result.stderr and "fps" not in result.stderr
    assert "images failed closed" in result.stderr and "  image    " in result.stderr
    assert grammatical(result.stderr), result.stderr
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--from", "1", "--max-frames", "1")
    assert result.exit_code == 0, result.output
    assert "done  1 frame in" in result.stderr and grammatical(result.stderr), result.stderr
    result = anonymize(str(WALK), "-o", str(tmp_path / "t.mp4"), "--from", "1", "--max-frames", "4")
    assert result.exit_code == 0, result.output
    assert "done  4 frames in" in result.stderr and " 1 track ·" in result.stderr
    assert grammatical(result.stderr), result.stderr


def test_a_signed_run_prints_a_verify_command_that_works(tmp_path):
    out = tmp_path / "signed run.mp4"
    result = anonymize(
        str(WALK), "-o", str(out), "--max-frames", "2",
        "--deployment", str(DEMO / "demo.deployment"), "--device-key", str(DEMO / "DEMO-device.key"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stderr.splitlines() if "check with:" in line)
    command = line.split("check with: ", 1)[1].rstrip(")")
    argv = shlex.split(command)
    assert argv[:2] == ["recanon", "verify"] and "-d" in argv
    verified = runner.invoke(app, argv[1:])
    assert verified.exit_code == 0, verified.output


def test_a_batch_says_each_policy_reduction_once(tmp_path):
    import os
    import subprocess

    from tests.conftest import write_test_video

    (tmp_path / "in").mkdir()
    for name in ("a", "b"):
        write_test_video(tmp_path / "in" / f"{name}.mp4", [i * 40 for i in range(3)], size=(120, 160))
    command = [sys.executable, "-c", "from recanon_cli.main import main; main()", "anonymize"]
    result = subprocess.run(
        [*command, str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--region", "head", "--jobs", "2",
         "--imgsz", "160"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "YOLO_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "region='head'" in line]
    assert len(warnings) == 1 and warnings[0].startswith("recanon: warning:"), result.stderr
    assert "PrivacyWarning" not in result.stderr


def test_device_cuda_on_the_runtime_install_fails_instead_of_running_on_the_cpu(tmp_path):
    """The runtime install (no torch; ONNX Runtime without CUDA): --device cuda used to run on the CPU
    and exit 0."""
    import os
    import subprocess

    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this ONNX Runtime has CUDA: the runtime install's failure cannot happen here")
    from tests.test_runtime_only import BLOCKER

    (tmp_path / "no_torch.py").write_text(BLOCKER)
    code = "import no_torch\nfrom recanon_cli.main import main\nmain()\n"
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", code, "anonymize", str(WALK), "-o", "o.mp4", "--device", "cuda", "-q"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path, "YOLO_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("recanon: error: --device cuda needs onnxruntime-gpu")
    assert "pip install 'recanon[gpu]'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize("given, one_thread", [((), True), (("--encoder-threads", "0"), False)])
def test_encoder_threads_reach_x264(tmp_path, given, one_thread):
    """One thread by default (the same input gives the same bytes); 0 lets x264 choose (2 frame
    threads for the 768×432 sample on 2 cores, more on more cores)."""
    result = anonymize(str(WALK), "-o", str(tmp_path / "o.mp4"), "--max-frames", "6", "--quiet", *given)
    assert result.exit_code == 0, result.output
    assert (x264_threads(tmp_path / "o.mp4") == b"threads=1") is one_thread
