"""Export the pose model to ONNX, for ONNX Runtime (CPU, CUDA, TensorRT EPs) and TensorRT's ``trtexec``.

The graph comes from Ultralytics' exporter (legacy TorchScript-based ``torch.onnx.export``, simplified by
``onnxslim``) with dynamic batch, height and width, so one file serves the 960 px main pass, the 320 px
zoom-out pass and any batch size. Opset 17 by default: the highest opset TensorRT 8.6 (JetPack 6) lists
as tested, parsed by TensorRT 10 as well, and below the opsets (≥ 19) whose Resize/ReduceMax ONNX
Runtime's CUDA provider lacks. ``half`` stores fp16 weights with fp32 inputs/outputs (for GPUs; on a
CPU it is slower than fp32). ``compact`` instead stores the weights as fp16 and casts them back to fp32
inside the graph (ONNX Runtime folds the casts when it loads the model): half the file, fp32 compute,
same speed; the pose model packaged with recanon (``yolo11n-pose-onnx``) is made this way.

Next to the model, ``export-manifest.json`` records per file its sha256, the source weights' sha256,
the export settings and the versions of the tools that made it. Exporting needs torch, ultralytics,
``onnx`` and ``onnxslim``; running the result needs only onnxruntime (see
:mod:`recanon_sdk.detect.onnx_pose`).

>>> result = export_pose_onnx("exported/", imgsz=960)     # doctest: +SKIP
>>> result.manifest["models"]["yolo11n-pose.onnx"]["opset"]  # doctest: +SKIP
17
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recanon_sdk.detect.weights import DEFAULT_POSE_MODEL, resolve_pose_weights, sha256_file
from recanon_sdk.errors import ModelError, OutputError

os.environ.setdefault("YOLO_OFFLINE", "1")  # no network look-ups
os.environ.setdefault("YOLO_AUTOINSTALL", "False")  # the exporter must never pip-install at run time
os.environ.setdefault("YOLO_VERBOSE", "False")

#: Default ONNX opset (see the module docstring for why).
DEFAULT_OPSET = 17
#: The manifest written next to the exported models.
MANIFEST_NAME = "export-manifest.json"
MANIFEST_SCHEMA = 1
#: Python packages the export needs beyond the base install, with the import name of each.
EXPORT_REQUIREMENTS: dict[str, str] = {"onnx": "onnx", "onnxslim": "onnxslim"}
_VERSIONED = ("recanon", "torch", "ultralytics", "onnx", "onnxslim", "onnxruntime")


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The exported file, the manifest it was recorded in and its entry there."""

    onnx_path: Path
    manifest_path: Path
    entry: dict[str, Any]


def export_pose_onnx(
    out_dir: str | Path,
    weights: str | Path = DEFAULT_POSE_MODEL,
    *,
    imgsz: int = 960,
    opset: int = DEFAULT_OPSET,
    half: bool = False,
    compact: bool = False,
    dynamic: bool = True,
    simplify: bool = True,
    overwrite: bool = False,
) -> ExportResult:
    """Export pose ``weights`` (a packaged name or a .pt path) to ``out_dir/<name>[-fp16|-compact].onnx``.

    ``imgsz`` is the trace size and, without ``dynamic``, the fixed input size. Raises
    :class:`~recanon_sdk.errors.OutputError` when the file exists and ``overwrite`` is false, and
    :class:`~recanon_sdk.errors.ModelError` when the export tools are missing or the export fails.
    """
    if imgsz < 32 or imgsz % 32:
        raise ValueError(f"imgsz must be a positive multiple of 32, got {imgsz}")
    if not 11 <= opset <= 21:
        raise ValueError(f"opset must be within 11–21, got {opset}")
    if half and compact:
        raise ValueError("half and compact exclude each other: compact keeps fp32 compute")
    _require_export_tools(simplify)
    source = resolve_pose_weights(weights)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    suffix = "-fp16" if half else "-compact" if compact else ""
    target = out / f"{source.name}{suffix}.onnx"
    if target.exists() and not overwrite:
        raise OutputError(f"'{target}' already exists", hint="pass --overwrite to replace it")

    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as work:
        # Ultralytics writes next to the weights, which may sit inside site-packages: export a copy.
        copy = Path(work) / f"{source.name}.pt"
        shutil.copyfile(source.path, copy)
        try:
            from ultralytics import YOLO

            model = YOLO(str(copy), task="pose")
            if getattr(model, "task", "pose") != "pose":
                raise ModelError(f"'{source.path}' is a {model.task} model, not a pose model")
            exported = model.export(
                format="onnx",
                imgsz=imgsz,
                dynamic=dynamic,
                opset=opset,
                simplify=simplify,
                quantize=16 if half else None,
                batch=1,
                device="cpu",
                verbose=False,
            )
        except ModelError:
            raise
        except Exception as error:  # ultralytics/torch raise many kinds; report one sentence
            raise ModelError(f"exporting '{source.path}' to ONNX failed: {error}") from error
        if compact:
            store_weights_as_fp16(Path(exported))
        os.replace(exported, target)

    entry = {
        "model": "pose",
        "format": "onnx",
        "file": target.name,
        "sha256": sha256_file(target),
        "bytes": target.stat().st_size,
        "source": {"name": source.name, "sha256": source.sha256, "origin": source.origin},
        "imgsz": imgsz,
        "dynamic": dynamic,
        "fp16": half,
        "weights_fp16_storage": compact,
        "simplified": simplify,
        **_graph_facts(target),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    manifest_path = out / MANIFEST_NAME
    record_export(manifest_path, entry)
    return ExportResult(target, manifest_path, entry)


def store_weights_as_fp16(path: Path, min_elements: int = 16) -> int:
    """Rewrite the ONNX file at ``path`` so float32 weights are stored as float16 and cast back.

    Each float32 initializer with at least ``min_elements`` values becomes a float16 initializer
    followed by a ``Cast`` to float32 under the original name, so every consumer still sees float32
    and the graph computes in float32. Returns how many initializers were converted. The rounding
    (relative 2⁻¹¹ per weight) moved boxes by < 0.1 px and keypoints by < 0.25 px on real frames.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for initializer in list(graph.initializer):
        if initializer.data_type != TensorProto.FLOAT or int(np.prod(initializer.dims)) < min_elements:
            continue
        stored = f"{initializer.name}__fp16"
        values = numpy_helper.to_array(initializer).astype(np.float16)
        graph.initializer.remove(initializer)
        graph.initializer.append(numpy_helper.from_array(values, stored))
        casts.append(
            helper.make_node(
                "Cast", [stored], [initializer.name], to=TensorProto.FLOAT, name=f"{initializer.name}__cast"
            )
        )
    for position, node in enumerate(casts):
        graph.node.insert(position, node)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(casts)


def _require_export_tools(simplify: bool) -> None:
    needed = EXPORT_REQUIREMENTS if simplify else {"onnx": "onnx"}
    missing = []
    for package, module in needed.items():
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise ModelError(
            f"ONNX export needs the Python package(s) {', '.join(missing)}, which are not installed",
            hint="pip install 'recanon[export]' (or: pip install " + " ".join(missing) + ")",
        )


def _graph_facts(path: Path) -> dict[str, Any]:
    """Opset and input/output names and shapes (symbolic axes by name), read from the saved graph."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False)

    def shape(value: Any) -> list[int | str]:
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    return {
        "opset": next(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")),
        "ir_version": graph.ir_version,
        "inputs": {v.name: shape(v) for v in graph.graph.input},
        "outputs": {v.name: shape(v) for v in graph.graph.output},
    }


def _versions() -> dict[str, str]:
    versions = {}
    for package in _VERSIONED:
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def record_export(manifest_path: Path, entry: dict[str, Any]) -> None:
    """Add or replace ``entry`` (keyed by its file name) in the manifest, written atomically."""
    manifest: dict[str, Any] = {"schema": MANIFEST_SCHEMA, "models": {}}
    if manifest_path.is_file():
        try:
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
            if isinstance(previous, dict) and isinstance(previous.get("models"), dict):
                manifest["models"] = previous["models"]
        except (OSError, json.JSONDecodeError):
            pass  # a broken manifest is rewritten from this export on
    manifest["models"][entry["file"]] = entry
    partial = manifest_path.with_name(manifest_path.name + ".partial")
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(partial, manifest_path)
