"""``recanon recover``: a key holder restores people in an anonymized output (all, one track, one moment)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, stderr, warn
from recanon_cli._untrusted import fail_clean, say
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
        typer.Option(
            "-o",
            "--output",
            help="Default: the video's name with .recovered.mp4 for .anon.mp4 "
            "(cam3.anon.mp4 → cam3.recovered.mp4).",
            show_default=False,
        ),
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
        str | None,
        typer.Option(
            "--to",
            help="End of the time range, inclusive (--from 70 --to 70 is the frame shown at 70 s).",
            show_default=False,
        ),
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
            help="Also write every frame in which someone was recovered as a lossless PNG into this folder "
            "(frame000123.png). With --overwrite an existing folder is replaced only if it holds nothing "
            "but such stills; a folder with other files in it is refused, never deleted.",
            show_default=False,
            file_okay=False,
        ),
    ] = None,
    file_mode: Annotated[
        str,
        typer.Option(
            "--file-mode",
            help="Permissions of the recovered video and stills, in octal. The default 0600 lets only you "
            "read them (they show de-anonymized people); 0640 shares them with your group. Folders get "
            "x where r is set (0700, 0750). Others may never write (at most 0644).",
        ),
    ] = "0600",
    allow_rename: Annotated[
        bool,
        typer.Option(
            "--allow-rename",
            help="Recover an output whose file name differs from the name the device signed (default: "
            "refused, since it may be another run's files copied over this one).",
        ),
    ] = False,
    crf: Annotated[
        int, typer.Option(help="x264 quality of the recovered video (lower is better).", min=0, max=51)
    ] = 18,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Recover the people in VIDEO for a key holder; everyone and everything else stays anonymized.

    Before anything is decrypted: the video, its pose sidecar, run manifest and sealed originals are
    verified against the deployment (and the video must carry the name the device signed, see
    --allow-rename), the selection is checked against the sidecar, and an entry is appended to the
    deployment's signed audit log. The files are read once and held: one replaced or rewritten during
    the recovery is refused. The outputs appear only when complete, readable only by you (--file-mode).

    Examples:

      recanon recover site42/cam3.anon.mp4 --key alice.key -d site42.deployment

      recanon recover cam3.anon.mp4 --key alice.key --track 7 --from 00:01:10 --to 00:01:40
    """
    import recanon_keys as rk
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.recoverer import Recoverer, audit_log_for
    from recanon_sdk.recovery.outputs import check_mode
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
    try:
        mode = int(file_mode, 8)
    except ValueError:
        fail(f"--file-mode {file_mode!r} is not an octal file mode", "write it in octal, e.g. 0600 or 0640")
    try:
        check_mode(mode)
    except ValueError as error:
        fail(f"--file-mode {file_mode}: {error}")
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
                allow_rename=allow_rename,
                file_mode=mode,
            )
    except (rk.RecanonKeysError, RecanonError) as error:
        fail_clean(error.message, error.hint)
    except ValueError as error:
        fail_clean(str(error))
    if result.mode == "learned":  # said even with --quiet: it changes what the output is
        stderr.print(
            "recanon: note: learned recovery (GY) is an approximation: bodies come back, faces mostly "
            "do not (docs/model-card.md); for evidence, recover --exact from sealed originals",
            markup=False,
        )
    if not quiet:
        say(
            stderr,
            f"recovered  {result.selection.describe()} · {result.mode} · "
            f"{result.recovered_regions} regions in {result.recovered_frames} of {result.frames} frames · "
            f"{result.seconds:.1f} s ({result.fps:.1f} fps)",
            style="bold",
        )
        if result.signed is not None:
            say(stderr, f"  signed  {result.signed.describe()}")
        say(stderr, f"  video   {result.output}  (mode {mode:04o})")
        if stills is not None:
            say(stderr, f"  stills  {stills}/ ({result.recovered_frames} PNG frames)")
        say(
            stderr,
            f"  audit   entry {result.audit_entry} in {audit_log or audit_log_for(deployment)}"
            + ("" if result.verified else "  (unverified input)"),
        )
