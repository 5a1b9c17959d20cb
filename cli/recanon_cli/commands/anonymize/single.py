"""One source: a video file, an image, a folder of stills or a stream URL, in this process."""

from __future__ import annotations

from pathlib import Path

from recanon_cli._console import fail, stderr
from recanon_cli.commands.anonymize.options import AnonymizeOptions
from recanon_cli.commands.anonymize.settings import (
    anonymizer_config,
    check_signing_options,
    load_signer,
    originals_settings,
    with_gx,
)
from recanon_cli.progress import frame_progress


def run_single(source: str, opts: AnonymizeOptions) -> None:
    """Anonymize ``source`` into ``-o`` (or its default name) and its sidecar; exit as the docs say."""
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.detect.backend import create_pose_detector
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.video.reader import IMAGE_SUFFIXES, VideoSource, is_stream_url

    stills = Path(source).is_dir() or Path(source).suffix.lower() in IMAGE_SUFFIXES
    config, (rows, cols) = anonymizer_config(opts, stills=stills)
    check_signing_options(opts)
    signer = None
    if opts.deployment is not None and opts.device_key is not None:
        signer = load_signer(opts.deployment, opts.device_key, opts.passphrase_file)
    config = with_gx(config, opts, signer)
    originals_to, originals_config = None, None
    if opts.seal_originals:
        originals_to, originals_config = originals_settings(opts.deployment, opts.originals_quality)
    imgsz, conf = config.detector.imgsz, opts.conf
    try:
        if not is_stream_url(source):
            VideoSource(source)  # bad input is reported before any model is loaded
        detector = create_pose_detector(
            config.detector, opts.backend.value, providers=opts.providers, engine=opts.engine.value
        )
        if not opts.quiet:
            active = getattr(detector, "providers", None)
            engine_name = getattr(detector, "engine", "onnxruntime")
            precision = getattr(detector, "precision", None)
            stderr.print(
                f"pose: {detector.weights.name} (sha256 {detector.weights.sha256[:12]}…) on "
                + (f"{engine_name} {', '.join(active)}" if active else f"torch {opts.device}")
                + (f" {precision}" if active and precision else "")
                + f", imgsz {imgsz or 'auto (1280 up to 640 px sources, else 960)'}"
                + f", conf {conf or 'auto (0.1 up to 640 px sources, else 0.2)'}, tiles {rows}x{cols}",
                markup=False,
            )
        anonymizer = Anonymizer(config, detector=detector)
        with frame_progress(enabled=not opts.quiet, description="anonymizing") as progress:
            result = anonymizer.process_video(
                source,
                opts.output,
                sidecar=opts.sidecar,
                overwrite=opts.overwrite,
                max_frames=opts.max_frames,
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
    if not opts.quiet:
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
