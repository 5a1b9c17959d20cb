"""Shared fixtures: the read-only shared data (skipped with a clear message when absent) and small clips."""

from __future__ import annotations

import importlib.util
import os
import sys
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import av
import numpy as np
import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RECANON_SHARED", ROOT.parent / "shared"))
WALKING_VIDEO = SHARED / "data" / "videos" / "intel" / "one-by-one-person-detection.mp4"


#: Set (to 1) where the shared data must be present, as in CI: a test that needs it then fails
#: instead of skipping.
REQUIRE_SHARED = os.environ.get("RECANON_REQUIRE_SHARED", "") not in ("", "0")
#: Fixtures that read ../shared: tests using them get the ``shared`` marker automatically.
SHARED_FIXTURES = frozenset({"walking_video"})


def load_script(relative: str) -> ModuleType:
    """A benchmark or probe script of this repository (``relative`` to its root) as a module, named
    after its file and registered in ``sys.modules`` (dataclasses look their module up there)."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def python_output(code: str, *, timeout: float = 300) -> str:
    """Run ``code`` in a fresh interpreter (this one's: what a user's process loads and does) and
    return its standard output, stripped; fail the test if it exits with an error."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def x264_threads(path: Path) -> bytes:
    """The ``threads=N`` that x264 wrote into its settings message in the video at ``path``."""
    data = Path(path).read_bytes()
    at = data.find(b" threads=")
    assert at >= 0, "no x264 settings message in the stream"
    return data[at + 1 : data.find(b" ", at + 1)]


def need_shared(path: Path) -> Path:
    """Return ``path`` or skip the test (fail it under ``RECANON_REQUIRE_SHARED=1``), saying what is
    missing and how to provide it."""
    if not path.exists():
        message = f"shared data not found at {path} (set RECANON_SHARED to the shared/ folder)"
        if REQUIRE_SHARED:
            pytest.fail(f"{message}; RECANON_REQUIRE_SHARED is set, so this is an error", pytrace=False)
        pytest.skip(message)
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``shared`` needs the data folder: skip (or fail, see ``REQUIRE_SHARED``) without it."""
    if item.get_closest_marker("shared") is not None:
        need_shared(SHARED / "data")


@pytest.fixture(scope="session")
def walking_video() -> Path:
    return need_shared(WALKING_VIDEO)


@pytest.fixture(scope="session")
def pose_detector():
    """One real YOLO11n-pose detector for the whole session (loading it takes seconds)."""
    from recanon_sdk.detect.pose import DetectorConfig, PoseDetector

    return PoseDetector(DetectorConfig())


def write_test_video(
    path: Path,
    pts: list[int],
    *,
    time_base: Fraction = Fraction(1, 1000),
    size: tuple[int, int] = (96, 128),
    codec: str = "libx264",
    rotation: int = 0,
    audio_seconds: float = 0.0,
) -> list[np.ndarray]:
    """Write a small synthetic video with the given timestamps; return the frames written (RGB)."""
    h, w = size
    rng = np.random.default_rng(0)
    frames = []
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height = w, h
        stream.pix_fmt = "rgb24" if codec == "libx264rgb" else "yuv420p"
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        audio = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=48000)
            audio.layout = "mono"
        # 8-pixel blocks: detail that blurring destroys, yet that the codec keeps at its default quality
        blocks = rng.integers(30, 220, size=(-(-h // 8), -(-w // 8), 3), dtype=np.uint8)
        base = np.ascontiguousarray(np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)[:h, :w])
        for i, t in enumerate(pts):
            image = np.roll(base, i * 8, axis=1)
            frames.append(image)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = t
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if audio is not None:
            samples = int(48000 * audio_seconds)
            tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000)).astype(np.float32)
            for start in range(0, samples, 1024):
                chunk = tone[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                frame.sample_rate = 48000
                frame.pts = start
                frame.time_base = Fraction(1, 48000)
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
    return frames
