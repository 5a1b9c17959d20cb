"""Export recanon's models to deployment formats (ONNX first), with a manifest of hashes.

>>> from recanon_sdk.export import export_pose_onnx      # doctest: +SKIP
>>> export_pose_onnx("exported/").onnx_path              # doctest: +SKIP
PosixPath('exported/yolo11n-pose.onnx')
"""

from __future__ import annotations

from recanon_sdk.export.onnx import MANIFEST_NAME, ExportResult, export_pose_onnx

__all__ = ["MANIFEST_NAME", "ExportResult", "export_pose_onnx"]
