"""``recanon recover``: a key holder restores people in an anonymized output (all, one track, one moment)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, stderr, warn
from recanon_cli.progress import frame_progress

_CLOCK = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$")


def parse_time(text: str, option: str) -> float:
    """``90``, ``1:30``, ``00:01:30.5`` → seconds.

    >>> parse_time("00:01:10", "--from"), parse_time("1:30.5", "--to"), parse_time("42", "--to")
    (70.0, 90.5, 42.0)
    """
    match = _CLOCK.match(text.strip())
    if not match:
        fail(f"{option} '{text}' is not a time", "write seconds (90), MM:SS (1:30) or HH:MM:SS (00:01:30.5)")
    a, b, seconds = match.groups()
    hours, minutes = (int(a), int(b)) if b is not None else (0, int(a or 0))
    if (b is not None and int(b) >= 60) or (a is not None and float(seconds) >= 60):
        fail(f"{option} '{text}' is not a valid clock time", "minutes and seconds run from 0 to 59")
    return hours * 3600 + minutes * 60 + float(seconds)


def recover(
    video: Annotated[
        Path, typer.Argument(help="The anonymized video (e.g. cam3.anon.mp4).", show_default=False)
    ],
    key: Annotated[
        Path,
        typer.Option(
            "--key", "-k", help="Your holder key file (alice.key).", show_default=False, dir_okay=False
        ),
    ],
    deployment: Annotated[
        Path | None,
        typer.Option(
            "--deployment",
            "-d",
            help="The deployment file you trust (default: $RECANON_DEPLOYMENT). "
            "The audit log is kept next to it.",
            envvar="RECANON_DEPLOYMENT",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Default: <video>.recovered.mp4.", show_default=False),
    ] = None,
    track: Annotated[
        list[int] | None,
        typer.Option(
            "--track",
            "-t",
            help="Recover only this track id (repeatable). Default: everyone.",
            show_default=False,
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start of the time range (90, 1:30, 00:01:30).", show_default=False),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End of the time range (inclusive).", show_default=False)
    ] = None,
    exact: Annotated[
        bool | None,
        typer.Option(
            "--exact/--learned",
            help="exact: paste the sealed original pixels (needs <video>.originals.sealed); learned: GY from "
            "--bundle. Default: exact when the run sealed originals.",
            show_default=False,
        ),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(help="Sealed GY bundle for learned recovery.", show_default=False, dir_okay=False),
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            help="File whose first line is your key's passphrase (else $RECANON_PASSPHRASE or a prompt).",
            show_default=False,
        ),
    ] = None,
    audit_log: Annotated[
        Path | None,
        typer.Option(
            help="Audit log to append to. Default: <deployment>.audit.jsonl next to the deployment.",
            show_default=False,
        ),
    ] = None,
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify",
            help="Recover even if the output's signatures do not verify "
            "(recorded in the audit log). Dangerous.",
        ),
    ] = False,
    stills: Annotated[
        Path | None,
        typer.Option(
            help="Also write every frame in which someone was recovered as a lossless PNG into this folder.",
            show_default=False,
            file_okay=False,
        ),
    ] = None,
    crf: Annotated[
        int, typer.Option(help="x264 quality of the recovered video (lower is better).", min=0, max=51)
    ] = 18,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Recover the people in VIDEO for a key holder; everyone and everything else stays anonymized.

    Before anything is decrypted: the video, its pose sidecar and run manifest are verified against the
    deployment, the selection is checked against the sidecar, and an entry is appended to the
    deployment's signed audit log.

    Examples:

      recanon recover site42/cam3.anon.mp4 --key alice.key -d site42.deployment

      recanon recover cam3.anon.mp4 --key alice.key --track 7 --from 00:01:10 --to 00:01:40
    """
    import recanon_keys as rk
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.recoverer import Recoverer, audit_log_for
    from recanon_sdk.video.writer import EncoderConfig

    from recanon_cli.commands.keys import _errors, _load_deployment, _load_private

    if deployment is None:
        fail(
            "no deployment file given",
            "pass --deployment FILE or set RECANON_DEPLOYMENT",
            "the deployment file is the trust anchor: use a copy from a trusted source",
        )
    for path, what in ((video, "video"), (key, "key file"), (deployment, "deployment file")):
        if not path.is_file():
            fail(f"the {what} '{path}' does not exist")
    start_s = None if start is None else parse_time(start, "--from")
    end_s = None if end is None else parse_time(end, "--to")
    if start_s is not None and end_s is not None and end_s < start_s:
        fail(f"--to {end} is before --from {start}")
    output = output or video.with_name(f"{video.stem.removesuffix('.anon')}.recovered.mp4")
    if output.exists() and not overwrite:
        fail(f"'{output}' already exists", "pass --overwrite to replace it, or choose another -o")
    with _errors():
        dep = _load_deployment(deployment)
        holder = _load_private(key, passphrase_file, "holder-key", rk.load_holder_key)
    if no_verify:
        warn("--no-verify: the output's signatures are NOT checked; the recovery may show forged content")
    try:
        recoverer = Recoverer.open(key=holder, deployment=dep, bundle=bundle)
        with frame_progress(enabled=not quiet, description="recovering") as progress:
            result = recoverer.process_video(
                video,
                output,
                exact=exact,
                tracks=track or None,
                start=start_s,
                end=end_s,
                overwrite=overwrite,
                verify=not no_verify,
                encoder=EncoderConfig(crf=crf),
                audit_log=audit_log or audit_log_for(deployment),
                stills=stills,
                on_progress=progress,
            )
    except rk.RecanonKeysError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    except ValueError as error:
        fail(str(error))
    if result.mode == "learned":  # said even with --quiet: it changes what the output is
        stderr.print(
            "recanon: note: learned recovery (GY) is an approximation: bodies come back, faces mostly "
            "do not (docs/model-card.md); for evidence, recover --exact from sealed originals",
            markup=False,
        )
    if not quiet:
        stderr.print(
            f"[bold]recovered[/bold]  {result.selection.describe()} · {result.mode} · "
            f"{result.recovered_regions} regions in {result.recovered_frames} of {result.frames} frames · "
            f"{result.seconds:.1f} s ({result.fps:.1f} fps)"
        )
        stderr.print(f"  video   {result.output}", markup=False)
        if stills is not None:
            stderr.print(f"  stills  {stills}/ ({result.recovered_frames} PNG frames)", markup=False)
        stderr.print(
            f"  audit   entry {result.audit_entry} in {audit_log or audit_log_for(deployment)}"
            + ("" if result.verified else "  (unverified input)"),
            markup=False,
        )
