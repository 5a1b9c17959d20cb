"""``recanon export --format onnx``: the pose model as ONNX, with an export manifest of hashes."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, require_torch, stdout


class ExportFormat(StrEnum):
    onnx = "onnx"


class ExportModel(StrEnum):
    pose = "pose"
    gx = "gx"
    gy = "gy"


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
        bool,
        typer.Option(
            "--half",
            help="fp16 weights and compute (for GPUs; inputs and outputs stay fp32). Pose, GX and GY.",
        ),
    ] = False,
    compact: Annotated[
        bool,
        typer.Option(
            "--compact",
            help="Store weights as fp16, compute in fp32 (half the file, same CPU speed; how the packaged "
            "pose model is made).",
        ),
    ] = False,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help="GX or GY weights (.safetensors) for --model gx/gy. Default for gx: the packaged GX.",
            show_default=False,
        ),
    ] = None,
    deployment: Annotated[
        Path | None,
        typer.Option(
            help="Deployment file (--model gx/gy): its model secret is baked into the graph.",
            show_default=False,
        ),
    ] = None,
    device_key: Annotated[
        Path | None,
        typer.Option(help="The deployment's device key (derives the model secret).", show_default=False),
    ] = None,
    passphrase_file: Annotated[
        Path | None, typer.Option(help="Passphrase of the device key, first line.", show_default=False)
    ] = None,
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
    if half and compact:
        fail("--half and --compact exclude each other", "--compact keeps fp32 compute; --half is for GPUs")
    require_torch("recanon export")
    if model != ExportModel.pose:
        if compact:
            fail("--compact is for the pose model", "use --half for an fp16 GX/GY")
        _export_generator(
            model, out, weights, deployment, device_key, passphrase_file, opset, half, overwrite
        )
        return
    try:
        result = export_pose_onnx(
            out, pose_model, imgsz=imgsz, opset=opset, half=half, compact=compact, overwrite=overwrite
        )
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


def _export_generator(
    model: ExportModel,
    out: Path,
    weights: str | None,
    deployment: Path | None,
    device_key: Path | None,
    passphrase_file: Path | None,
    opset: int,
    half: bool,
    overwrite: bool,
) -> None:
    """GX → ``<out>/<deployment>.gx.onnx`` (0600, device only); GY → ``<out>/<deployment>.gy-onnx.sealed``."""
    import hashlib
    from datetime import UTC, datetime

    import recanon_keys as rk
    from recanon_keys._atomic import write_atomic
    from recanon_sdk.detect.weights import resolve_weights
    from recanon_sdk.enhance import DEFAULT_GX_WEIGHTS
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.export.generators import export_generator_onnx
    from recanon_sdk.export.onnx import MANIFEST_NAME, record_export
    from recanon_sdk.runtime.sealed_gy import seal_gy_onnx

    from recanon_cli.commands.keys import _errors, _load_deployment, _load_private

    if deployment is None or device_key is None:
        fail(
            f"--model {model.value} needs --deployment and --device-key",
            "GX and GY are keyed per deployment: the exported graph holds that deployment's key",
        )
    if model == ExportModel.gy and weights is None:
        fail("--model gy needs --weights gy.safetensors (GY is never packaged in clear)")
    with _errors():
        dep = _load_deployment(deployment)
        device = _load_private(device_key, passphrase_file, "device-key", rk.load_device_key)
        secret = rk.derive_model_secret(device, dep)
    try:
        source = resolve_weights(weights or DEFAULT_GX_WEIGHTS, kind=model.value.upper())
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    out.mkdir(parents=True, exist_ok=True)
    with _errors():
        if model == ExportModel.gx:
            data = export_generator_onnx(source.path, secret, opset=opset, half=half)
            target = out / f"{dep.name}.gx.onnx"
            write_atomic(target, data, mode=0o600, overwrite=overwrite)
            note = "holds the deployment's key: keep it on the device (mode 0600)"
        else:
            data = seal_gy_onnx(
                source.path, secret, deployment=dep, device_key=device, opset=opset, half=half
            )
            target = out / f"{dep.name}.gy-onnx.sealed"
            write_atomic(target, data, mode=0o644, overwrite=overwrite)
            note = f"sealed to {len(dep.holders)} holder(s); the ONNX bytes never touched the disk in clear"
    digest = hashlib.sha256(data).hexdigest()
    record_export(
        out / MANIFEST_NAME,
        {
            "model": model.value,
            "format": "onnx" if model == ExportModel.gx else "onnx, sealed (recanon-sealed, gy-onnx)",
            "file": target.name,
            "sha256": digest,
            "bytes": len(data),
            "source": {"name": source.name, "sha256": source.sha256, "origin": source.origin},
            "deployment": dep.name,
            "key": "baked into the graph (keep the file on the device)"
            if model == ExportModel.gx
            else "sealed",
            "fp16": half,
            "opset": opset,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    stdout.print(f"{target}  sha256 {digest}", markup=False)
    precision = "fp16" if half else "fp32"
    stdout.print(
        f"from {source.name} (sha256 {source.sha256[:16]}…), opset {opset}, {precision}; {note}", markup=False
    )
