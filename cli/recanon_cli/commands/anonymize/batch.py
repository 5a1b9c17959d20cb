"""Many sources: plan, check, run (here, in processes or on Ray), report each file and the totals.

Exit status: 0 every file complete; 1 some failed (their count on the last line; the rest are
complete); 3 some inputs stopped decoding early (their outputs hold the frames before); 130
interrupted (rerun with ``--resume``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from recanon_cli._console import clean, fail, print_error, stderr
from recanon_cli.commands.anonymize.options import AnonymizeOptions
from recanon_cli.commands.anonymize.report import plural
from recanon_cli.commands.anonymize.settings import (
    anonymizer_config,
    check_device,
    check_signing_options,
    device_key_passphrase,
    originals_settings,
    warn_policy,
)
from recanon_cli.progress import batch_progress


def run_batch(sources: list[str], opts: AnonymizeOptions) -> None:
    from recanon_sdk.batch import BatchSettings, SigningSpec, anonymize_many, plan_batch
    from recanon_sdk.batch.api import cpu_count, default_jobs, threads_for
    from recanon_sdk.errors import RecanonError

    if opts.sidecar is not None:
        fail("--sidecar names one file; a batch writes each sidecar next to its video", "drop --sidecar")
    single_only = opts.single_only()
    if single_only:
        fail(
            f"{', '.join(single_only)} {'applies' if len(single_only) == 1 else 'apply'} to one source at a "
            "time, not to a batch",
            "anonymize the files one by one for these, or drop them",
        )
    video_name = opts.output is not None and opts.output.suffix.lower() in (".mp4", ".mkv", ".mov", ".avi")
    if video_name and opts.output is not None and not opts.output.is_dir():
        fail(
            f"a batch writes into a folder, and '{opts.output}' looks like a video file name",
            "pass a folder with -o (it is created), e.g. -o anon/",
        )
    video, _ = anonymizer_config(opts, stills=False)
    stills, _ = anonymizer_config(opts, stills=True)
    check_signing_options(opts)
    check_device(opts)
    unkeyed_onnx = opts.gx_weights is not None and opts.gx_weights.endswith(".onnx")
    if (
        opts.enhancer_name == "gx"
        and (opts.deployment is None or opts.device_key is None)
        and not unkeyed_onnx
    ):
        fail(
            "--enhancer gx needs --deployment and --device-key",
            "GX is keyed per deployment; its secret is derived from the device key",
        )
    if opts.enhancer_name == "gx" and opts.gx_weights is not None:
        import dataclasses

        video = dataclasses.replace(video, gx_weights=opts.gx_weights)
        stills = dataclasses.replace(stills, gx_weights=opts.gx_weights)
    signing = None
    if opts.deployment is not None and opts.device_key is not None:
        for path in (opts.deployment, opts.device_key):
            if not path.is_file():
                fail(f"'{path}' does not exist", "create a deployment with 'recanon keys init'")
        passphrase = device_key_passphrase(opts.device_key, opts.passphrase_file)
        signing = SigningSpec(opts.deployment, opts.device_key, opts.passphrase_file, passphrase)
    seal_to, originals = None, None
    if opts.seal_originals:
        seal_to, originals = originals_settings(opts.deployment, opts.originals_quality)
    settings = BatchSettings(
        video=video,
        stills=stills,
        backend=opts.backend.value,
        engine=opts.engine.value,
        providers=tuple(opts.providers) if opts.providers else None,
        max_frames=opts.max_frames,
        signing=signing,
        seal_to=seal_to,
        originals=originals,
        gx_from_device_key=opts.enhancer_name == "gx" and signing is not None,
    )
    try:
        if signing is not None:
            signing.load()  # a wrong key or passphrase is reported before any work
        plan = plan_batch(sources, opts.output)
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    if opts.ray is not None:
        from recanon_sdk.batch.ray_runner import require_ray

        try:
            require_ray()
        except RecanonError as error:
            fail(error.message, *([error.hint] if error.hint else []))
    warn_policy(video)
    _said_once()
    jobs = opts.jobs if opts.jobs is not None else default_jobs()
    if not opts.quiet:
        where = (
            f"Ray ({opts.ray}), one task per file, up to {opts.max_retries} retries"
            if opts.ray is not None
            else f"{jobs} pipeline{'s' if jobs > 1 else ''} at once, "
            f"{threads_for(min(jobs, len(plan)))} ONNX Runtime thread(s) each, {cpu_count()} cores"
        )
        stderr.print(f"batch: {plural(len(plan), 'input')} · {where}", markup=False)

    def on_event(event) -> None:
        if event[0] != "result":
            return
        result = event[1]
        if opts.json:
            sys.stdout.write(json.dumps(result.to_json()) + "\n")
            sys.stdout.flush()
        if not opts.quiet:
            _print_result(result, plan[result.index].relative)

    try:
        with batch_progress(enabled=not opts.quiet, total=len(plan)) as on_progress:
            report = anonymize_many(
                sources,
                opts.output,
                settings=settings,
                jobs=jobs if opts.ray is None else None,
                ray=opts.ray,
                ray_cpus=opts.jobs if opts.ray == "local" else None,
                ray_gpus_per_task=0.5 if _on_gpu(opts) else 0.0,
                max_retries=opts.max_retries,
                resume=opts.resume,
                overwrite=opts.overwrite,
                on_event=on_event,
                on_progress=on_progress,
                plan=plan,
            )
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    _finish(report, len(plan), quiet=opts.quiet)


def _said_once() -> None:
    """The policy's reductions were said above as recanon warnings: the pipelines' own
    ``PrivacyWarning`` (one per worker process, in Python's format) is not repeated. Worker processes
    get the rule through ``PYTHONWARNINGS`` (a prefix of the message, so nothing is imported early)."""
    import os
    import warnings

    prefix = "the hiding policy shows more than the default"
    warnings.filterwarnings("ignore", message=prefix, category=UserWarning)
    rule = f"ignore:{prefix}:UserWarning"
    existing = os.environ.get("PYTHONWARNINGS")
    if rule not in (existing or ""):
        os.environ["PYTHONWARNINGS"] = f"{existing},{rule}" if existing else rule


def _on_gpu(opts: AnonymizeOptions) -> bool:
    """Whether the pipelines run on a CUDA device (then each Ray task asks for half a GPU)."""
    providers = [p.lower() for p in opts.providers or []]
    return opts.device.startswith("cuda") or any(p in ("cuda", "tensorrt") for p in providers)


def _print_result(result, relative: Path) -> None:
    name = clean(relative)
    if result.status == "done":
        early = result.stopped_early
        note = f" · stopped early: {clean(early)}" if early else ""
        stderr.print(
            f"  done     {name} · {plural(result.frames, 'frame')} · {result.seconds:.1f} s · "
            f"{result.obscured_frames} obscured{note}",
            markup=False,
        )
    elif result.status == "skipped":
        stderr.print(f"  skipped  {name} (complete)", markup=False)
    elif result.status == "failed":
        hint = f" ({result.hint})" if result.hint else ""
        stderr.print(f"  failed   {name}: {clean(result.error)}{clean(hint)}", markup=False)
    elif result.error != "not started":
        stderr.print(f"  stopped  {name} (interrupted; its partial outputs were removed)", markup=False)


def _finish(report, total: int, *, quiet: bool) -> None:
    done, skipped, failed = report.count("done"), report.count("skipped"), report.count("failed")
    interrupted = report.count("interrupted")
    if not quiet:
        stderr.print(
            f"[bold]batch[/bold]  {done} done, {skipped} skipped, {failed} failed"
            + (f", {interrupted} not finished" if interrupted else "")
            + f" of {total} · {plural(report.frames, 'frame')} in {report.seconds:.1f} s "
            f"({report.fps:.1f} fps overall, {report.runner})"
        )
    code = report.exit_code
    if code == 130:
        print_error(
            f"interrupted (Ctrl-C); {done + skipped} of {total} files are complete, "
            "partial outputs were removed",
            "rerun the same command with --resume to do the rest",
        )
        raise SystemExit(130)
    if code == 1:
        fail(
            f"{failed} of {total} files failed; the other {total - failed} are complete",
            "the reason for each is listed above (or in --json); fix them and rerun with --resume",
        )
    if code == 3:
        early = len(report.stopped_early)
        fail(
            f"{early} of {total} inputs stopped decoding early; their outputs hold the frames before it",
            "check those input files; the finalized outputs are playable",
            code=3,
        )
