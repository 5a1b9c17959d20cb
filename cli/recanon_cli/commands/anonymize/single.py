"""One source: a video file, an image, a folder of stills or a stream URL, in this process.

Everything that can be checked is checked before the run waits for the pose model: the options, the
input, the outputs' names (existing, unwritable, a suffix no container has), the device, and
whether a preview window can open. For a video file on the CPU the model loads beside those checks
(:mod:`.model_loading`); a check that fails ends the run without waiting for it.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any, NoReturn

from recanon_cli._console import fail, stderr
from recanon_cli.commands.anonymize.model_loading import ModelLoading
from recanon_cli.commands.anonymize.options import AnonymizeOptions
from recanon_cli.commands.anonymize.report import print_record, print_summary, record
from recanon_cli.commands.anonymize.settings import (
    anonymizer_config,
    build_enhancer,
    check_device,
    check_on_device,
    check_signing_options,
    load_signer,
    originals_settings,
    warn_policy,
    with_gx,
)
from recanon_cli.progress import frame_progress


def time_span(opts: AnonymizeOptions, *, stills: bool) -> tuple[float | None, float | None]:
    """``--from``/``--to`` in seconds, checked (one sentence each way they cannot apply)."""
    from recanon_sdk.span import TimeSpan

    from recanon_cli.commands.recover import parse_time

    start = None if opts.start is None else parse_time(opts.start, "--from")
    end = None if opts.end is None else parse_time(opts.end, "--to")
    if start is None and end is None:
        return None, None
    if stills:
        fail("--from/--to apply to videos and streams, not to images", "drop --from/--to")
    if opts.keep_audio:
        fail(
            "--keep-audio cannot be combined with --from/--to: the audio would not be cut with the video",
            "drop --keep-audio (audio is dropped by default) or the time range",
        )
    try:
        TimeSpan(start, end)
    except ValueError as error:
        fail(f"--from/--to: {error}")
    return start, end


def check_outputs(source: str, opts: AnonymizeOptions, *, stills: bool, signed: bool) -> None:
    """Refuse outputs that exist (without --overwrite), are the input, cannot be written, or whose
    suffix names no container, before anything is loaded (a stream's too)."""
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.run_paths import (
        check_signable,
        default_output_for,
        manifest_path,
        originals_path_for,
        sidecar_for,
    )
    from recanon_sdk.video.atomic import check_output
    from recanon_sdk.video.reader import is_stream_url
    from recanon_sdk.video.writer import CONTAINER_BY_SUFFIX

    output = opts.output if opts.output is not None else default_output_for(source)
    sidecar = sidecar_for(source, output, opts.sidecar)
    inputs = () if is_stream_url(source) else (Path(source),)
    if not stills and output.suffix.lower() not in CONTAINER_BY_SUFFIX:
        fail(
            f"cannot tell the container format of '{output}' from its suffix",
            f"use one of {', '.join(sorted(CONTAINER_BY_SUFFIX))}",
        )
    try:
        check_output(output, overwrite=opts.overwrite, inputs=inputs)
        check_output(sidecar, overwrite=opts.overwrite, inputs=inputs)
        if signed:
            check_signable(source, output, opts.sidecar, sidecar)
            check_output(manifest_path(output), overwrite=opts.overwrite)
        if opts.seal_originals:
            check_output(originals_path_for(output), overwrite=opts.overwrite, inputs=inputs)
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))


def run_single(source: str, opts: AnonymizeOptions, loading: ModelLoading | None = None) -> None:
    """Anonymize ``source`` into ``-o`` (or its default name) and its sidecar; exit as the docs say.

    ``loading``: the pose model, already loading for this run (:mod:`.model_loading`)."""
    from recanon_sdk.anonymizer import Anonymizer
    from recanon_sdk.detect.backend import create_pose_detector
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.policy import PrivacyWarning
    from recanon_sdk.video.reader import IMAGE_SUFFIXES, VideoSource, is_stream_url

    stills = not is_stream_url(source) and (
        Path(source).is_dir() or Path(source).suffix.lower() in IMAGE_SUFFIXES
    )
    if not is_stream_url(source):
        try:  # a missing or unreadable input is reported first, before keys, outputs and the model
            VideoSource(source)
        except RecanonError as error:
            _fail_run(source, opts, error)
    if opts.preview:
        from recanon_cli.commands.anonymize.preview import check_preview

        check_preview()
    config, (rows, cols) = anonymizer_config(opts, stills=stills)
    enhancer = build_enhancer(opts)
    start, end = time_span(opts, stills=stills)
    check_signing_options(opts)
    check_device(opts)
    signer = None
    if opts.deployment is not None and opts.device_key is not None:
        signer = load_signer(opts.deployment, opts.device_key, opts.passphrase_file)
    config = with_gx(config, opts, signer)
    originals_to, originals_config = None, None
    if opts.seal_originals:
        originals_to, originals_config = originals_settings(opts.deployment, opts.originals_quality)
    check_outputs(source, opts, stills=stills, signed=signer is not None)
    imgsz, conf = config.detector.imgsz, opts.conf
    preview = None
    try:
        warn_policy(config)
        detector = loading.take(config.detector) if loading is not None else None
        if detector is None:
            detector = create_pose_detector(
                config.detector, opts.backend.value, providers=opts.providers, engine=opts.engine.value
            )
        check_on_device(detector, opts)
        if not opts.quiet:
            active = getattr(detector, "providers", None)
            engine_name = getattr(detector, "engine", "onnxruntime")
            precision = getattr(detector, "precision", None)
            stderr.print(
                f"pose: {detector.weights.name} (sha256 {detector.weights.sha256[:12]}…) on "
                + (f"{engine_name} {', '.join(active)}" if active else f"torch {opts.device}")
                + (f" {precision}" if active and precision else "")
                + f", imgsz {imgsz or 'auto (1280 up to 640 px sources, else 960)'}"
                + f", conf {conf or 'auto (0.1 up to 640 px sources, else 0.2)'}, tiles {rows}x{cols}"
                + ("" if stills else f", detector every {_nth(opts.detect_every)}frame")
                + (
                    f" (every {_nth(opts.still_detect_every)}in a still scene)"
                    if not stills and opts.detect_every > 1 and opts.still_detect_every > opts.detect_every
                    else ""
                )
                + (f", crop pass up to {opts.crop_pose} people" if opts.crop_pose and not stills else ""),
                markup=False,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrivacyWarning)  # said above, as recanon warnings
            anonymizer = Anonymizer(config, detector=detector, enhancer=enhancer)
        if opts.preview:
            from recanon_cli.commands.anonymize.preview import PreviewWindow

            preview = PreviewWindow()
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
                start=start,
                end=end,
                on_frame=preview,
            )
    except RecanonError as error:
        _fail_run(source, opts, error)
    finally:
        if preview is not None:
            with contextlib.suppress(Exception):
                preview.close()
    if opts.json:
        print_record(record(source, result))
    if not opts.quiet:
        print_summary(result, stills=stills, deployment=opts.deployment if signer is not None else None)
    if result.stopped_early and "interrupted" not in result.stopped_early:
        fail(
            f"the input stopped decoding early ({result.stopped_early}); "
            "the outputs hold the frames before it",
            "check the input file; the finalized outputs are playable",
            code=3,
        )


def _fail_run(source: str, opts: AnonymizeOptions, error: Any) -> NoReturn:
    """End the run on ``error`` (a ``RecanonError``): its JSON record if asked, then one sentence;
    exit 130 for an interruption, else 1."""
    from recanon_sdk.errors import Interrupted

    interrupted = isinstance(error, Interrupted)
    if opts.json:
        print_record(record(source, error=error, status="interrupted" if interrupted else None))
    fail(error.message, *([error.hint] if error.hint else []), code=130 if interrupted else 1)


def _nth(n: int) -> str:
    """``1`` → ``""`` (every frame), ``2`` → ``"2nd"``, ``3`` → ``"3rd"``, ``11`` → ``"11th"``.

    >>> [_nth(n) for n in (1, 2, 3, 4, 11, 22)]
    ['', '2nd ', '3rd ', '4th ', '11th ', '22nd ']
    """
    if n == 1:
        return ""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix} "
