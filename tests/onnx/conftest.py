"""One ONNX export of the default pose model per test session (skipped when the export tools are absent)."""

from __future__ import annotations

import importlib.util

import pytest


@pytest.fixture(scope="session")
def exported_pose(tmp_path_factory):
    """``ExportResult`` of the default pose weights, traced at 320 px with dynamic batch/height/width."""
    for package in ("onnx", "onnxslim"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"ONNX export needs '{package}' (pip install onnx onnxslim, the 'export' extra)")
    import torch

    torch.set_num_threads(1)  # keep the shared CPUs free
    from recanon_sdk.export import export_pose_onnx

    return export_pose_onnx(tmp_path_factory.mktemp("onnx-export"), imgsz=320)
