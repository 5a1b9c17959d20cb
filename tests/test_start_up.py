"""What a short run pays before its first frame: the model loads beside the checks, and an unsigned
run never imports the key library."""

from __future__ import annotations

from pathlib import Path

import pytest
from recanon_cli.commands.anonymize import model_loading
from recanon_cli.commands.anonymize.options import AnonymizeOptions, Backend, Engine
from recanon_cli.commands.anonymize.settings import detector_settings
from recanon_cli.main import app
from typer.testing import CliRunner

from tests.conftest import ROOT, python_output

WALK = ROOT / "examples" / "walking.mp4"


def options(**given) -> AnonymizeOptions:
    """The options of ``recanon anonymize`` with its defaults, as the command builds them."""
    defaults = dict(
        output=None, sidecar=None, enhancer=None, gx_weights=None, strength=None,
        pose_model="yolo11n-pose", imgsz=None, conf=None, tiles=None, margin=0.2, hold=15,
        codec="libx264", crf=23, preset="veryfast", keep_audio=False, max_frames=None,
        device="cpu", backend=Backend.auto, provider=None, engine=Engine.auto, deployment=None,
        device_key=None, passphrase_file=None, seal_originals=False, originals_quality="23",
        overwrite=False, quiet=True, jobs=None, resume=False, ray=None, max_retries=2, json=False,
        blur_px=None, cell_px=None, color=None, replace_with=None, draw_pose=False, preview=False,
        region="body", zones=None, exclude_zones=None, keep_tracks=(), max_region=None, start=None,
        end=None, detect_every=3, crowd_people=6, crop_pose=8, crop_pose_still=2.0,
        still_detect_every=12,
    )  # fmt: skip
    defaults.update(given)
    return AnonymizeOptions(**defaults)


def test_a_video_run_starts_loading_the_model_and_takes_it_for_its_settings():
    opts = options()
    loading = model_loading.start_model_loading(str(WALK), opts)
    assert loading is not None
    detector = loading.take(detector_settings(opts, stills=False))
    assert detector is not None and detector.weights.name == "yolo11n-pose-onnx"
    assert detector.config == detector_settings(opts, stills=False)


def test_a_model_loaded_for_other_settings_is_not_taken():
    loading = model_loading.start_model_loading(str(WALK), options())
    assert loading is not None
    assert loading.take(detector_settings(options(), stills=True)) is None  # stills: another preset


@pytest.mark.parametrize(
    "source, given",
    [
        ("missing.mp4", {}),  # the run reports the missing input first
        (str(ROOT / "examples"), {}),  # a folder: stills or a batch
        (str(ROOT / "docs" / "img" / "before_after.jpg"), {}),  # an image
        (str(WALK), {"device": "cuda"}),  # the device is checked before anything loads there
        (str(WALK), {"tiles": "2by2"}),  # an invalid option is reported in its place
        (str(WALK), {"backend": Backend.torch}),  # torch is not loaded in a thread
    ],
)
def test_runs_that_may_not_need_the_model_do_not_load_it_early(source, given):
    assert model_loading.start_model_loading(source, options(**given)) is None


def test_an_error_of_the_load_is_one_sentence_after_the_checks(tmp_path):
    args = ["anonymize", str(WALK), "-o", str(tmp_path / "o.mp4"), "--pose-model", str(tmp_path / "no.onnx")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "no.onnx" in result.stderr and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_check_that_fails_does_not_wait_for_the_model(tmp_path, monkeypatch):
    """An output that exists is refused while the model is still loading; the load is dropped."""
    import threading

    import recanon_sdk.detect.backend as backend

    release, loaded = threading.Event(), threading.Event()
    real = backend.create_pose_detector

    def slow(*args, **kwargs):
        release.wait(timeout=60)
        try:
            return real(*args, **kwargs)
        finally:
            loaded.set()

    monkeypatch.setattr(backend, "create_pose_detector", slow)
    (tmp_path / "o.mp4").write_bytes(b"precious")
    try:
        result = CliRunner().invoke(app, ["anonymize", str(WALK), "-o", str(tmp_path / "o.mp4"), "--quiet"])
        assert not loaded.is_set()  # the run ended before the model was there
        assert result.exit_code == 1 and "exists already" in result.stderr, result.output
        assert (tmp_path / "o.mp4").read_bytes() == b"precious"
    finally:
        release.set()
    assert loaded.wait(timeout=60)  # the load it started did run: in the background


def test_an_unsigned_run_never_imports_the_key_library(tmp_path):
    """recanon_keys and cryptography cost 45-70 ms of start-up; only signing, sealing, GX and the key
    commands need them."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print(sorted(m for m in sys.modules\n"
        "    if m == 'cryptography' or m.startswith('recanon_keys.'))))\n"
        "from recanon_cli.main import main\n"
        f"sys.argv = ['recanon', 'anonymize', {str(WALK)!r}, '-o', {str(tmp_path / 'o.mp4')!r},\n"
        "    '--max-frames', '2', '--quiet']\n"
        "main()\n"
    )
    assert python_output(code).splitlines()[-1] == "[]"
    assert (tmp_path / "o.mp4").stat().st_size > 0


def test_the_key_library_loads_when_first_used():
    code = (
        "import sys\n"
        "from recanon_cli._lazy import lazy_module\n"
        "rk = lazy_module('recanon_keys')\n"
        "assert 'recanon_keys.deployments' not in sys.modules\n"
        "assert rk.generate_holder('alice').public is not None\n"
        "print('recanon_keys.deployments' in sys.modules)\n"
    )
    assert python_output(code) == "True"


def test_a_module_that_is_not_installed_is_reported_at_once():
    from recanon_cli._lazy import lazy_module

    with pytest.raises(ModuleNotFoundError):
        lazy_module("no_such_module_anywhere")


def test_the_image_suffixes_are_one_set():
    from recanon_sdk.video.kinds import IMAGE_SUFFIXES
    from recanon_sdk.video.reader import IMAGE_SUFFIXES as read_as_images

    assert read_as_images is IMAGE_SUFFIXES and ".jpg" in IMAGE_SUFFIXES and ".mp4" not in IMAGE_SUFFIXES
    assert Path("x.JPG").suffix.lower() in IMAGE_SUFFIXES
