"""``recanon watch``: many live cameras at once, each recorded as complete, anonymized segments."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from recanon_cli._console import clean, fail, stderr


def watch(
    config: Annotated[
        Path,
        typer.Argument(
            help="TOML list of cameras ([[camera]] name, url, …; docs/scale.md).", show_default=False
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "-o",
            "--output",
            help="Folder of recordings: one subfolder per camera (created).",
            show_default=False,
        ),
    ],
    segment_minutes: Annotated[
        float,
        typer.Option(
            help="Length of each segment in minutes of wall time; a crash loses at most one.", min=0.01
        ),
    ] = 10.0,
    segment_frames: Annotated[
        int | None,
        typer.Option(
            help="Also close a segment after this many frames (for tests).", min=1, show_default=False
        ),
    ] = None,
    max_segments: Annotated[
        int | None,
        typer.Option(
            help="Stop each camera after this many segments. Default: run until stopped.",
            min=1,
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            help="Stop after this many seconds. Default: run until Ctrl-C or SIGTERM.",
            min=1,
            show_default=False,
        ),
    ] = None,
    imgsz: Annotated[
        int | None,
        typer.Option(
            help="Detector input size (multiple of 32). Default: 960 (1280 for streams up to 640 px).",
            min=32,
            show_default=False,
        ),
    ] = None,
    backoff_max: Annotated[
        float,
        typer.Option(
            help="Longest wait in seconds between reconnection attempts (from 1 s, doubling).", min=1
        ),
    ] = 60.0,
    status_every: Annotated[
        float, typer.Option(help="Seconds between status lines per camera.", min=1)
    ] = 60.0,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Run each camera as a Ray actor that Ray restarts when it dies: auto, local or a cluster "
            "ADDRESS. Default: one process per camera on this machine, restarted when it dies.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="One JSON record per written segment (and per error) on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No status lines.")] = False,
) -> None:
    """Record every camera in CONFIG as anonymized segments until stopped; reconnect when one drops.

    Each segment is a complete, playable file with its sidecar (signed and with sealed originals when
    the camera has a deployment and device key), named CAMERA-YYYYMMDDTHHMMSSZ.mp4 in OUTPUT/CAMERA/.
    Ctrl-C or SIGTERM closes every open segment and stops.

    Examples:

      recanon watch cameras.toml -o recordings/

      recanon watch cameras.toml -o /mnt/nfs/recordings --segment-minutes 5 --ray auto
    """
    from recanon_sdk.batch.api import cpu_count
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.live import RecorderSettings, load_cameras

    try:
        cameras = load_cameras(config)
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    if imgsz is not None and imgsz % 32:
        fail(f"--imgsz {imgsz} is not a multiple of 32", "for example --imgsz 640")
    if output.exists() and not output.is_dir():
        fail(f"output '{output}' exists and is not a folder", "recordings go into a folder")
    passphrases = _check_keys(cameras)
    if ray is not None:
        from recanon_sdk.batch.ray_runner import require_ray

        try:
            require_ray()
        except RecanonError as error:
            fail(error.message, *([error.hint] if error.hint else []))
    output.mkdir(parents=True, exist_ok=True)
    settings = RecorderSettings(
        out_dir=output,
        segment_seconds=segment_minutes * 60.0,
        segment_frames=segment_frames,
        max_segments=max_segments,
        imgsz=imgsz,
        threads=max(1, cpu_count() // len(cameras)) if ray is None else 1,
        backoff_max=backoff_max,
        status_every_s=status_every,
        passphrases=passphrases or None,
    )
    if not quiet:
        where = f"Ray ({ray}), one actor per camera" if ray is not None else "one process per camera"
        stderr.print(f"watch: {len(cameras)} camera(s) → {clean(output)} · {where}", markup=False)
    stop = threading.Event()
    totals: dict[str, dict[str, Any]] = {c.name: {"segments": 0, "frames": 0, "fatal": 0} for c in cameras}

    def on_event(event: dict[str, Any]) -> None:
        _report(event, totals, json_output=json_output, quiet=quiet)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: stop.set())
    timer = threading.Timer(duration, stop.set) if duration else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        if ray is not None:
            from recanon_sdk.live import watch_ray

            watch_ray(cameras, settings, stop=stop, on_event=on_event, address=ray)
        else:
            from recanon_sdk.live import watch_processes

            watch_processes(cameras, settings, stop=stop, on_event=on_event)
    except RecanonError as error:
        fail(error.message, *([error.hint] if error.hint else []))
    finally:
        if timer is not None:
            timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not quiet:
        for name, total in totals.items():
            shown = clean(name)
            stderr.print(f"{shown}  {total['segments']} segments · {total['frames']} frames", markup=False)
    broken = [name for name, total in totals.items() if total["fatal"] and not total["segments"]]
    if broken:
        fail(
            f"{len(broken)} camera(s) could not record: {', '.join(broken)}",
            "the reason is in the error lines above",
        )


def _check_keys(cameras) -> dict[str, str]:
    """Load every camera's signing keys now (one clear error each); the passphrases for the workers."""
    from recanon_sdk.batch.jobs import SigningSpec
    from recanon_sdk.errors import RecanonError

    from recanon_cli.commands.anonymize.settings import device_key_passphrase

    passphrases: dict[str, str] = {}
    for camera in cameras:
        if camera.deployment is None or camera.device_key is None:
            continue
        for path in (camera.deployment, camera.device_key):
            if not path.is_file():
                fail(
                    f"camera {camera.name!r}: '{path}' does not exist",
                    "create a deployment with 'recanon keys init'",
                )
        passphrase = device_key_passphrase(camera.device_key, camera.passphrase_file)
        try:
            SigningSpec(camera.deployment, camera.device_key, camera.passphrase_file, passphrase).load()
        except RecanonError as error:
            fail(f"camera {camera.name!r}: {error.message}", *([error.hint] if error.hint else []))
        if passphrase is not None:
            passphrases[camera.name] = passphrase
    return passphrases


def _report(
    event: dict[str, Any], totals: dict[str, dict[str, Any]], *, json_output: bool, quiet: bool
) -> None:
    name = str(event.get("camera", "?"))
    kind = event.get("type")
    total = totals.setdefault(name, {"segments": 0, "frames": 0, "fatal": 0})
    if kind == "segment":
        total["segments"] += 1
        total["frames"] += int(event.get("frames", 0))
    if event.get("fatal"):
        total["fatal"] += 1
    if json_output and kind in ("segment", "error"):
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
    if quiet:
        return
    shown = clean(name)
    rss = event.get("rss")
    memory = f" · RSS {rss / 2**20:.0f} MiB" if isinstance(rss, int) else ""
    if kind == "segment":
        stderr.print(
            f"  {shown}  {clean(Path(event['output']).name)} · {event['frames']} frames · "
            f"{clean(event['ended'])} · {event['dropped_total']} dropped · "
            f"{event['reconnects']} reconnects{memory}",
            markup=False,
        )
    elif kind == "status":
        stderr.print(
            f"  {shown}  status: {event['segments']} segments · {event['frames']} frames · "
            f"{event['dropped']} dropped · {event['reconnects']} reconnects{memory}"
            + (f" · last: {clean(event['last_error'])}" if event.get("last_error") else ""),
            markup=False,
        )
    elif kind == "error":
        stderr.print(f"recanon: error: camera {shown}: {clean(event.get('error'))}", markup=False)
    elif kind == "restart":
        stderr.print(
            f"  {shown}  its process ended (exit {event['exitcode']}); restarting in {event['in_s']:.0f} s",
            markup=False,
        )
