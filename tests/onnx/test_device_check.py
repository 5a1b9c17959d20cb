"""The GPU device check runs end to end (here as a CPU smoke run), so it is ready when a GPU is lent."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_device_check_smoke_run_on_cpu(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "device_check.py"),
            "--quick",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "YOLO_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "device_check.json").read_text())
    results = report["results"]
    assert set(results) == {"torch-cpu 320x180", "onnx-cpu 320x180"}, results
    onnx = results["onnx-cpu 320x180"]
    assert onnx["parity_vs_torch"]["counts_equal"] >= 0.75
    # a smoke floor, not a speed claim: a 320 × 180 frame takes well under half a second on any CPU
    # this runs on, so a pipeline that stalls or processes nothing fails here
    for streams in ("1_streams", "2_streams"):
        run = onnx[streams]
        assert run["frames"] >= 3 and run["total_fps"] >= 2.0, (streams, run)
        assert abs(run["per_stream_fps"] * int(streams[0]) - run["total_fps"]) < 1e-6
