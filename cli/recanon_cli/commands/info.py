"""``recanon info``: versions, backends, devices, and where the weights come from.

``recanon info --json`` prints the same as one JSON object on stdout (for bug reports and scripts).
"""

from __future__ import annotations

import json
import platform
from typing import Annotated, Any

import typer

from recanon_cli._console import stdout

#: Distributions reported, with the module each one is imported as (``opencv-python`` is ``cv2``).
PACKAGES = {
    "torch": "torch",
    "ultralytics": "ultralytics",
    "onnxruntime": "onnxruntime",
    "openvino": "openvino",
    "supervision": "supervision",
    "av": "av",
    "numpy": "numpy",
    "opencv-python": "cv2",
    "cryptography": "cryptography",
}
EVAL_HINT = "pip install 'recanon[eval]'"


def package_versions() -> dict[str, dict[str, Any]]:
    """``{distribution: {"version": str | None, "importable": bool}}`` for :data:`PACKAGES`.

    >>> package_versions()["opencv-python"]["importable"]
    True
    """
    import importlib.metadata as md

    from recanon_sdk.extras import installed

    out: dict[str, dict[str, Any]] = {}
    for package, module in PACKAGES.items():
        try:
            version: str | None = md.version(package)
        except md.PackageNotFoundError:
            version = None
        out[package] = {"version": version, "importable": version is not None and installed(module)}
    return out


def _weights(name: str, kind: str | None = None) -> dict[str, Any]:
    from recanon_sdk.errors import RecanonError

    try:
        if kind is None:
            from recanon_sdk.detect.weights import resolve_pose_weights

            weights = resolve_pose_weights(name)
        else:
            from recanon_sdk.detect.weights import resolve_weights

            weights = resolve_weights(name, kind=kind)
    except RecanonError as error:
        return {"name": name, "available": False, "error": error.message}
    return {
        "name": weights.name,
        "available": True,
        "path": str(weights.path),
        "sha256": weights.sha256,
        "origin": weights.origin,
    }


def collect() -> dict[str, Any]:
    """Everything ``recanon info`` reports, as one JSON-ready dict."""
    from recanon_sdk._version import __version__
    from recanon_sdk.detect.backend import choose_backend
    from recanon_sdk.detect.weights import DEFAULT_POSE_MODEL, ONNX_FORM
    from recanon_sdk.enhance import DEFAULT_GX_WEIGHTS
    from recanon_sdk.errors import RecanonError

    report: dict[str, Any] = {
        "recanon": __version__,
        "python": platform.python_version(),
        "packages": package_versions(),
    }
    try:
        import av

        report["video_encoders"] = [
            c for c in ("libx264", "libx265", "libsvtav1") if c in av.codecs_available
        ]
    except ImportError:
        report["video_encoders"] = []
    try:
        import torch

        report["torch_devices"] = ["cpu"] + [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
    except ImportError:
        report["torch_devices"] = None
    try:
        import onnxruntime

        report["onnxruntime_providers"] = list(onnxruntime.get_available_providers())
    except ImportError:
        report["onnxruntime_providers"] = None
    try:
        report["pose_backend"] = {
            "cpu": choose_backend("auto", DEFAULT_POSE_MODEL),
            "cuda": choose_backend("auto", DEFAULT_POSE_MODEL, device="cuda"),
        }
    except RecanonError as error:
        report["pose_backend"] = {"error": error.message}
    report["weights"] = {
        "pose_torch": _weights(DEFAULT_POSE_MODEL),
        "pose_onnx": _weights(ONNX_FORM[DEFAULT_POSE_MODEL]),
        "gx": _weights(DEFAULT_GX_WEIGHTS, kind="GX"),
    }
    from recanon_sdk.metrics.faces import embedder_available

    report["re_identification"] = {"dlib_embedder": embedder_available(), "hint": EVAL_HINT}
    return report


def _table(report: dict[str, Any]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")

    def row(label: str, value: str) -> None:  # Text: brackets in values are not Rich markup
        table.add_row(Text(label), Text(value))

    row("recanon", report["recanon"])
    row("python", report["python"])
    for package, found in report["packages"].items():
        if found["version"] is None:
            row(package, "not installed")
        else:
            row(package, found["version"] + ("" if found["importable"] else " (cannot be imported)"))
    row("video encoders", ", ".join(report["video_encoders"]))
    devices = report["torch_devices"]
    row("torch devices", "torch not installed" if devices is None else ", ".join(devices))
    if report["onnxruntime_providers"] is not None:
        row("onnxruntime providers", ", ".join(report["onnxruntime_providers"]))
    backend = report["pose_backend"]
    if "error" in backend:
        row("pose backend (auto)", f"unavailable: {backend['error']}")
    else:
        row("pose backend (auto)", f"{backend['cpu']} on the CPU, {backend['cuda']} with --device cuda")
    titles = {"pose_torch": "pose weights (torch)", "pose_onnx": "pose weights (onnx)", "gx": "GX weights"}
    for key, weights in report["weights"].items():
        title = titles[key]
        if not weights["available"]:
            row(title, f"unavailable: {weights['error']}")
            continue
        row(title, f"{weights['name']}: {weights['path']}")
        row("", f"sha256 {weights['sha256']} ({weights['origin']})")
    reid = report["re_identification"]
    row(
        "re-identification",
        "dlib face embedder installed"
        if reid["dlib_embedder"]
        else f"not installed ({reid['hint']} for recanon eval's re-identification)",
    )
    return table


def info(
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object on stdout instead of the table (default: off)."),
    ] = False,
) -> None:
    """Show versions, available backends and devices, and the origin of the model weights."""
    report = collect()
    if as_json:
        typer.echo(json.dumps(report, indent=None, ensure_ascii=False))
        return
    stdout.print(_table(report))
