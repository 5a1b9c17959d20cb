"""``recanon export --format onnx``: the pose model as ONNX, with an export manifest of hashes."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, stdout


class ExportFormat(StrEnum):
    onnx = "onnx"


class ExportModel(StrEnum):
    pose = "pose"


def export(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for the model and export-manifest.json.", file_okay=False),
    ] = Path("exported"),
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="Target format.")
    ] = ExportFormat.onnx,
    model: Annotated[
        ExportModel, typer.Option("--model", "-m", help="Which model to export.")
    ] = ExportModel.pose,
    pose_model: Annotated[
        str,
        typer.Option("--pose-model", help="Pose weights: a packaged name or a path to a .pt file."),
    ] = "yolo11n-pose",
    imgsz: Annotated[
        int,
        typer.Option(
            "--imgsz",
            help="Trace size in pixels (multiple of 32); the model keeps dynamic batch, height and width.",
        ),
    ] = 960,
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset (17 suits TensorRT 8.6 and 10).")] = 17,
    half: Annotated[
        bool, typer.Option("--half", help="Store fp16 weights (for GPUs; inputs and outputs stay fp32).")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing exported file.")
    ] = False,
) -> None:
    """Export a model for ONNX Runtime or TensorRT and record its sha256 in export-manifest.json.

    Needs the packages onnx and onnxslim (the export extra of recanon); running the exported model
    needs only onnxruntime.

    Example: recanon export --format onnx --out exported/
    """
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.export.onnx import export_pose_onnx

    if imgsz < 32 or imgsz % 32:
        fail(f"--imgsz must be a positive multiple of 32, got {imgsz}", "try --imgsz 960")
    if not 11 <= opset <= 21:
        fail(f"--opset must be within 11–21, got {opset}", "the default 17 suits TensorRT 8.6 and 10")
    try:
        result = export_pose_onnx(out, pose_model, imgsz=imgsz, opset=opset, half=half, overwrite=overwrite)
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    entry = result.entry
    stdout.print(f"{result.onnx_path}  sha256 {entry['sha256']}", markup=False)
    stdout.print(
        f"opset {entry['opset']}, inputs {entry['inputs']}, fp16 {entry['fp16']}, "
        f"from {entry['source']['name']} (sha256 {entry['source']['sha256'][:16]}…)",
        markup=False,
    )
    stdout.print(f"recorded in {result.manifest_path}", markup=False)
