"""``recanon info``: versions, backends, devices, and where the weights come from."""

from __future__ import annotations

import platform

from recanon_cli._console import stdout


def info() -> None:
    """Show versions, available backends and devices, and the origin of the model weights."""
    import importlib.metadata as md

    from recanon_sdk._version import __version__
    from recanon_sdk.detect.weights import DEFAULT_POSE_MODEL, resolve_pose_weights
    from recanon_sdk.errors import RecanonError
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("recanon", __version__)
    table.add_row("python", platform.python_version())
    from recanon_sdk.extras import installed

    for package in (
        "torch",
        "ultralytics",
        "onnxruntime",
        "trackers",
        "av",
        "numpy",
        "cryptography",
        "pynacl",
    ):
        try:
            version = md.version(package)
            table.add_row(package, version if installed(package) else f"{version} (cannot be imported)")
        except md.PackageNotFoundError:
            table.add_row(package, "not installed")
    try:
        import av

        encoders = [c for c in ("libx264", "libx265", "libsvtav1") if c in av.codecs_available]
        table.add_row("video encoders", ", ".join(encoders))
    except ImportError:
        pass
    try:
        import torch

        devices = ["cpu"] + [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
        table.add_row("torch devices", ", ".join(devices))
    except ImportError:
        table.add_row("torch devices", "torch not installed")
    try:
        import onnxruntime

        table.add_row("onnxruntime providers", ", ".join(onnxruntime.get_available_providers()))
    except ImportError:
        pass
    from recanon_sdk.detect.backend import choose_backend
    from recanon_sdk.detect.weights import ONNX_FORM

    try:
        table.add_row(
            "pose backend (auto)",
            f"{choose_backend('auto', DEFAULT_POSE_MODEL)} on the CPU, "
            f"{choose_backend('auto', DEFAULT_POSE_MODEL, device='cuda')} with --device cuda",
        )
    except RecanonError as error:
        table.add_row("pose backend (auto)", f"unavailable: {error.message}")
    for label, name in (("torch", DEFAULT_POSE_MODEL), ("onnx", ONNX_FORM[DEFAULT_POSE_MODEL])):
        try:
            weights = resolve_pose_weights(name)
            table.add_row(f"pose weights ({label})", f"{weights.name}: {weights.path}")
            table.add_row("", f"sha256 {weights.sha256} ({weights.origin})")
        except RecanonError as error:
            table.add_row(f"pose weights ({label})", f"unavailable: {error.message}")
    try:
        from recanon_sdk.detect.weights import resolve_weights
        from recanon_sdk.enhance import DEFAULT_GX_WEIGHTS

        gx = resolve_weights(DEFAULT_GX_WEIGHTS, kind="GX")
        table.add_row("GX weights", f"{gx.name}: {gx.path}")
        table.add_row("", f"sha256 {gx.sha256} ({gx.origin})")
    except RecanonError as error:
        table.add_row("GX weights", f"unavailable: {error.message}")
    table.add_row(
        "re-identification",
        "face_recognition (dlib) installed"
        if installed("face_recognition")
        else "not installed (pip install 'recanon[eval]' for recanon eval's re-identification)",
    )
    stdout.print(table)
