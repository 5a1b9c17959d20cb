"""``recanon anonymize``: every person in a video blurred, pixelated or masked; pose kept in a sidecar."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, stderr
from recanon_cli.progress import frame_progress


class Backend(StrEnum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


class Engine(StrEnum):
    auto = "auto"
    onnxruntime = "onnxruntime"
    openvino = "openvino"


class EnhancerName(StrEnum):
    blur = "blur"
    pixelate = "pixelate"
    mask = "mask"
    gx = "gx"


def anonymize(
    source: Annotated[
        str, typer.Argument(help="Video file, image, folder of images, or rtsp:// URL.", show_default=False)
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output video. Default: <input>.anon.mp4 next to the input.",
            show_default=False,
        ),
    ] = None,
    sidecar: Annotated[
        Path | None, typer.Option(help="Pose sidecar path. Default: <output>.pose.jsonl.", show_default=False)
    ] = None,
    enhancer: Annotated[
        EnhancerName,
        typer.Option(
            help="How people are hidden. gx: the learned, recoverable GX, keyed per deployment "
            "(needs --deployment and --device-key)."
        ),
    ] = EnhancerName.blur,
    gx_weights: Annotated[
        str | None,
        typer.Option(
            help="GX weights for --enhancer gx: .safetensors (default: the packaged GX; needs --deployment "
            "and --device-key) or a .onnx exported for this deployment by 'recanon export --model gx'.",
            show_default=False,
        ),
    ] = None,
    strength: Annotated[
        float | None,
        typer.Option(
            help="Enhancer strength as a fraction of each person's size "
            "(blur sigma, pixel cell). Default: 0.1 for both; "
            "raise it for more privacy.",
            min=0.001,
            max=1.0,
            show_default=False,
        ),
    ] = None,
    pose_model: Annotated[
        str,
        typer.Option(
            help="Pose weights: 'yolo11n-pose' (bundled, offline) or a path to YOLOv8/YOLO11 pose weights."
        ),
    ] = "yolo11n-pose",
    imgsz: Annotated[
        int | None,
        typer.Option(
            help="Detector input size in pixels (multiple of 32). Larger finds smaller people, slower. "
            "Default: 960 for video (1280 when the video is at most 640 px wide and high), 1280 for images.",
            min=32,
            show_default=False,
        ),
    ] = None,
    conf: Annotated[
        float | None,
        typer.Option(
            help="Detection confidence threshold. Lower hides more (false positives only blur background). "
            "Default: 0.2 (0.1 for sources at most 640 px wide and high).",
            min=0.01,
            max=0.99,
            show_default=False,
        ),
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option(
            help="Also run the detector on ROWSxCOLS overlapping tiles, for small people and crowds, "
            "e.g. 2x2. Default: 1x1 for video, 2x2 for images.",
            show_default=False,
        ),
    ] = None,
    margin: Annotated[
        float, typer.Option(help="Region margin around each person, fraction of the box.", min=0.0, max=2.0)
    ] = 0.12,
    hold: Annotated[int, typer.Option(help="Frames a lost person's region stays anonymized.", min=0)] = 15,
    codec: Annotated[str, typer.Option(help="Video encoder: libx264, libx265 or libsvtav1.")] = "libx264",
    crf: Annotated[int, typer.Option(help="Encoder quality (lower = better, bigger).", min=0, max=63)] = 23,
    preset: Annotated[str, typer.Option(help="x264/x265 speed preset.")] = "veryfast",
    keep_audio: Annotated[
        bool,
        typer.Option("--keep-audio", help="Copy the input's audio. Off by default: voices identify people."),
    ] = False,
    max_frames: Annotated[
        int | None, typer.Option(help="Stop after this many frames (for streams).", min=1, show_default=False)
    ] = None,
    device: Annotated[str, typer.Option(help="Torch device for the detector: cpu, cuda, cuda:0.")] = "cpu",
    backend: Annotated[
        Backend,
        typer.Option(
            help="Pose backend: auto (an .onnx --pose-model on onnx, a .pt on torch; the packaged default "
            "on torch where the torch extra is installed, else its packaged ONNX form), torch or onnx."
        ),
    ] = Backend.auto,
    provider: Annotated[
        str | None,
        typer.Option(
            help="ONNX Runtime execution providers, comma-separated (cpu, cuda, tensorrt, or auto). "
            "Default: follows --device.",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="Inference engine of the onnx backend: auto (OpenVINO where it is installed and the CPU "
            "computes bf16 natively, else ONNX Runtime), onnxruntime or openvino (pip install "
            "'recanon[openvino]')."
        ),
    ] = Engine.auto,
    deployment: Annotated[
        Path | None,
        typer.Option(
            help="Deployment file: sign the sidecar and a run manifest "
            "with the device key (checked by 'recanon verify').",
            show_default=False,
        ),
    ] = None,
    device_key: Annotated[
        Path | None,
        typer.Option(
            help="The deployment's device signing key (with "
            "--deployment). Passphrase from --passphrase-file, "
            "$RECANON_PASSPHRASE or a prompt.",
            show_default=False,
        ),
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(help="File whose first line is the device key's passphrase.", show_default=False),
    ] = None,
    seal_originals: Annotated[
        bool,
        typer.Option(
            "--seal-originals",
            help="Also write <output>.originals.sealed: the original pixels of every anonymized region, "
            "encrypted to the holders of --deployment (the device cannot open it), for 'recanon recover "
            "--exact'.",
        ),
    ] = False,
    originals_quality: Annotated[
        str,
        typer.Option(
            help="Compression of the sealed originals: an x264 CRF (default 23, about 43 dB inside the "
            "regions) or 'lossless' (bit-exact, about 10 times larger)."
        ),
    ] = "23",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Anonymize every person in SOURCE; write the video and a pose sidecar (JSON Lines).

    Examples:

      recanon anonymize walk.mp4

      recanon anonymize cam.mkv -o out.mp4 --enhancer pixelate --strength 0.12

      recanon anonymize rtsp://10.0.0.5/stream -o cam.anon.mp4 --max-frames 3000
    """
    from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
    from recanon_sdk.detect.backend import create_pose_detector
    from recanon_sdk.detect.pose import DetectorConfig
    from recanon_sdk.detect.tracking import TrackerConfig
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.geometry import CropGeometry
    from recanon_sdk.video.reader import IMAGE_SUFFIXES, VideoSource, is_stream_url
    from recanon_sdk.video.writer import EncoderConfig

    stills = Path(source).is_dir() or Path(source).suffix.lower() in IMAGE_SUFFIXES
    detector_preset = DetectorConfig.for_stills() if stills else DetectorConfig()
    imgsz = imgsz if imgsz is not None else detector_preset.imgsz
    try:
        rows, cols = (int(v) for v in tiles.lower().split("x")) if tiles else detector_preset.tiles
    except ValueError:
        fail(f"--tiles '{tiles}' is not of the form ROWSxCOLS", "for example --tiles 2x2")
    try:
        config = AnonymizerConfig(
            detector=DetectorConfig(
                weights=pose_model, imgsz=imgsz, conf=conf, tiles=(rows, cols), device=device
            ),
            tracker=TrackerConfig(hold_frames=hold),
            geometry=CropGeometry(margin=margin),
            enhancer=enhancer.value,
            strength=strength,
            encoder=EncoderConfig(codec=codec, crf=crf, preset=preset),
            keep_audio=keep_audio,
        )
    except ValueError as error:
        fail(f"invalid option: {error}")
    signer = None
    if device_key is not None and deployment is None:
        fail("signing needs both --deployment and --device-key", "pass both, or neither for an unsigned run")
    if deployment is not None and device_key is None and not seal_originals:
        fail(
            "--deployment alone does nothing",
            "add --device-key to sign the run, and/or --seal-originals to keep the originals for its holders",
        )
    if deployment is not None and device_key is not None:
        signer = _load_signer(deployment, device_key, passphrase_file)
    model_secret = None
    if enhancer == EnhancerName.gx and gx_weights is not None and gx_weights.endswith(".onnx"):
        if signer is not None:  # a GX with key inputs is fed the secret; one exported per deployment has it
            import recanon_keys as rk

            model_secret = rk.derive_model_secret(signer.device_key, signer.deployment)
        config = dataclasses.replace(config, gx_weights=gx_weights, model_secret=model_secret)
    elif enhancer == EnhancerName.gx:
        if signer is None:
            fail(
                "--enhancer gx needs --deployment and --device-key",
                "GX is keyed per deployment; its secret is derived from the device key",
            )
        import recanon_keys as rk

        model_secret = rk.derive_model_secret(signer.device_key, signer.deployment)
        config = dataclasses.replace(config, model_secret=model_secret, gx_weights=gx_weights)
    originals_to, originals_config = None, None
    if seal_originals:
        originals_to, originals_config = _originals_settings(deployment, originals_quality)
    try:
        if not is_stream_url(source):
            VideoSource(source)  # bad input is reported before any model is loaded
        detector = create_pose_detector(
            config.detector,
            backend.value,
            providers=None if provider is None else [p.strip() for p in provider.split(",") if p.strip()],
            engine=engine.value,
        )
        if not quiet:
            active = getattr(detector, "providers", None)
            engine_name = getattr(detector, "engine", "onnxruntime")
            precision = getattr(detector, "precision", None)
            stderr.print(
                f"pose: {detector.weights.name} (sha256 {detector.weights.sha256[:12]}…) on "
                + (f"{engine_name} {', '.join(active)}" if active else f"torch {device}")
                + (f" {precision}" if active and precision else "")
                + f", imgsz {imgsz or 'auto (1280 up to 640 px sources, else 960)'}"
                + f", conf {conf or 'auto (0.1 up to 640 px sources, else 0.2)'}, tiles {rows}x{cols}",
                markup=False,
            )
        anonymizer = Anonymizer(config, detector=detector)
        with frame_progress(enabled=not quiet, description="anonymizing") as progress:
            result = anonymizer.process_video(
                source,
                output,
                sidecar=sidecar,
                overwrite=overwrite,
                max_frames=max_frames,
                on_progress=progress,
                signer=signer,
                seal_originals_to=originals_to,
                originals_config=originals_config,
            )
    except RecanonError as error:
        fail(
            error.message,
            *([error.hint] if error.hint else []),
            code=130 if type(error).__name__ == "Interrupted" else 1,
        )
    if not quiet:
        stderr.print(
            f"[bold]done[/bold]  {result.frames} frames in {result.seconds:.1f} s ({result.fps:.1f} fps) · "
            f"{result.persons} person detections · {result.tracks} tracks · "
            f"{result.obscured_frames} frames failed closed (fully obscured)"
        )
        stderr.print(f"  video    {result.output}\n  sidecar  {result.sidecar}", markup=False)
        if result.originals is not None:
            stderr.print(
                f"  sealed   {result.originals} ({result.originals_bytes / 1e6:.1f} MB, holders only)",
                markup=False,
            )
        if result.manifest is not None:
            stderr.print(
                f"  signed   {result.manifest} (check with: recanon verify {result.output})", markup=False
            )
        if result.stopped_early:
            stderr.print(f"  [yellow]note[/yellow]: {result.stopped_early}")
    if result.stopped_early and "interrupted" not in result.stopped_early:
        fail(
            f"the input stopped decoding early ({result.stopped_early}); "
            "the outputs hold the frames before it",
            "check the input file; the finalized outputs are playable",
            code=3,
        )


def _originals_settings(deployment: Path | None, quality: str):
    """The deployment whose holders get the sealed originals, and how they are compressed."""
    from recanon_sdk.originals import OriginalsConfig

    from recanon_cli.commands.keys import _errors, _load_deployment

    if deployment is None:
        fail("--seal-originals needs --deployment (the holders to seal them to)")
    if not deployment.is_file():
        fail(f"'{deployment}' does not exist", "create a deployment with 'recanon keys init'")
    with _errors():
        dep = _load_deployment(deployment)
    if not dep.holders:
        fail(f"deployment {dep.name!r} has no holders yet", "add one with 'recanon keys holder add'")
    if quality.strip().lower() == "lossless":
        return dep, OriginalsConfig(lossless=True)
    if not quality.isdigit() or not 0 <= int(quality) <= 51:
        fail(f"--originals-quality '{quality}' is neither a CRF from 0 to 51 nor 'lossless'")
    return dep, OriginalsConfig(crf=int(quality))


def _load_signer(deployment: Path, device_key: Path, passphrase_file: Path | None):
    """Load the deployment and device key (one clear error each) and build the run signer."""
    from recanon_keys import load_device_key
    from recanon_sdk.signing import RunSigner

    from recanon_cli.commands.keys import _errors, _load_deployment, _load_private

    for path in (deployment, device_key):
        if not path.is_file():
            fail(f"'{path}' does not exist", "create a deployment with 'recanon keys init'")
    with _errors():
        dep = _load_deployment(deployment)
        key = _load_private(device_key, passphrase_file, "device-key", load_device_key)
    try:
        return RunSigner(key, dep)
    except ValueError as error:
        fail(str(error), "use the device key the deployment was created with")
