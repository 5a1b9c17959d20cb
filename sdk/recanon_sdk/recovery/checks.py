"""Everything checked before a recovery is audited: files, signatures, names, sealed originals, selection.

:func:`check_inputs` returns :class:`Inputs` whose files stay pinned (:mod:`recanon_sdk.pinned`):
the recovery reads the very bytes that were verified and hashed into the audit entry, and a file
replaced or rewritten in between is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import recanon_keys as rk
from recanon_keys.manifest import stream_digest

from recanon_sdk.errors import InputError
from recanon_sdk.originals import originals_path_for
from recanon_sdk.pinned import PinnedFiles
from recanon_sdk.recovery.errors import RecoveryError, VerificationError
from recanon_sdk.recovery.selection import Selection
from recanon_sdk.timecode import format_clock
from recanon_sdk.verification import SignedRun, verify_run
from recanon_sdk.video.sidecar import Sidecar, sidecar_path_for

__all__ = ["Inputs", "check_inputs", "check_selection"]

#: How many track ids an error message lists.
_TRACKS_NAMED = 20


@dataclass(frozen=True, slots=True)
class Inputs:
    """The checked inputs of one recovery. ``pins`` holds the files open until :meth:`close`."""

    video: Path
    sidecar: Path
    originals: Path | None
    header: dict[str, Any]
    end: dict[str, Any] | None
    tracks: frozenset[int]  # the selected tracks that occur (empty when nobody in particular is selected)
    known_tracks: tuple[int, ...]  # the smallest track ids that occur (for messages)
    first_time: float | None
    last_time: float | None
    pins: PinnedFiles
    video_digest: rk.FileDigest
    verified: bool
    signed: SignedRun | None = None
    audit_entry: int | None = None

    def audited(self, entry: int) -> Inputs:
        """These inputs, with the audit entry that was written for their recovery."""
        return replace(self, audit_entry=entry)

    def close(self) -> None:
        self.pins.close()


def check_inputs(
    video: str | os.PathLike[str],
    *,
    deployment: rk.Deployment,
    can_learn: bool,
    sidecar: str | os.PathLike[str] | None = None,
    originals: str | os.PathLike[str] | None = None,
    verify: bool = True,
    exact: bool | None = None,
    selection: Selection | None = None,
    allow_rename: bool = False,
) -> tuple[Inputs, str]:
    """Check the inputs and the selection; return them (pinned) and the mode, ``"exact"`` or ``"learned"``."""
    video = Path(video)
    if not video.is_file():
        raise InputError(f"'{video}' does not exist", hint="pass the anonymized video")
    sidecar_path = Path(sidecar) if sidecar is not None else sidecar_path_for(video)
    if not sidecar_path.is_file():
        raise InputError(
            f"the pose sidecar '{sidecar_path}' of '{video.name}' is missing",
            hint="recovery needs the *.pose.jsonl written next to the video (or pass --sidecar)",
        )
    # The unverified header only chooses the clearer message for a wrong deployment or a missing GY;
    # everything used below is read again from the verified, pinned sidecar.
    _early_refusals(video, Sidecar(sidecar_path).header, deployment, can_learn, exact, originals)
    pins = PinnedFiles()
    try:
        return _check(
            video, sidecar_path, pins, deployment=deployment, can_learn=can_learn, originals=originals,
            verify=verify, exact=exact, selection=selection, allow_rename=allow_rename,
        )  # fmt: skip
    except BaseException:
        pins.close()
        raise


def _early_refusals(
    video: Path,
    header: dict[str, Any],
    deployment: rk.Deployment,
    can_learn: bool,
    exact: bool | None,
    originals: str | os.PathLike[str] | None,
) -> None:
    declared = header.get("originals")
    if exact is None and not isinstance(declared, dict) and originals is None and not can_learn:
        raise RecoveryError(
            f"'{video.name}' was anonymized without sealed originals and no GY bundle was given",
            hint="pass --bundle GY.sealed for learned recovery",
        )
    if exact is False and not can_learn:
        raise RecoveryError("learned recovery needs GY", hint="pass --bundle GY.sealed")
    _check_deployment(video, declared, deployment)


def _check_deployment(video: Path, declared: Any, deployment: rk.Deployment) -> None:
    if isinstance(declared, dict) and declared.get("deployment_id") not in (None, deployment.deployment_id):
        raise RecoveryError(
            f"'{video.name}' belongs to deployment {str(declared.get('deployment_id'))[:40]}, "
            f"not to {deployment.name!r} ({deployment.deployment_id})",
            hint="use the deployment file and key of the site that recorded it",
        )


def _check(
    video: Path,
    sidecar_path: Path,
    pins: PinnedFiles,
    *,
    deployment: rk.Deployment,
    can_learn: bool,
    originals: str | os.PathLike[str] | None,
    verify: bool,
    exact: bool | None,
    selection: Selection | None,
    allow_rename: bool,
) -> tuple[Inputs, str]:
    result = None
    if verify:
        result = verify_run(video, deployment=deployment, allow_rename=allow_rename, originals=originals,
                            pins=pins)  # fmt: skip
        if not result.ok:
            renamed = any(c.name == "video" and "signed as" in c.detail for c in result.failures())
            raise VerificationError(
                f"'{video.name}' does not verify against deployment {deployment.name!r}: "
                + "; ".join(f"{c.name}: {c.detail}" for c in result.failures()),
                hint="refusing to recover from unverified files; `recanon verify` shows the details"
                + (" (--allow-rename accepts an output renamed after it was signed)" if renamed else "")
                + " (--no-verify skips this check, and is recorded in the audit log)",
            )
        if result.report.files.sidecar.resolve() != sidecar_path.resolve():
            raise VerificationError(
                f"the signed sidecar is '{result.report.files.sidecar.name}', not '{sidecar_path.name}'",
                hint="drop --sidecar: a verified recovery uses the signed sidecar next to the video",
            )
    reader = Sidecar(sidecar_path, opener=pins.open)
    scan = _scan(reader, selection)
    if not reader.complete:
        raise InputError(
            f"the sidecar '{sidecar_path.name}' has no end line: its run did not finish",
            hint="recover only complete outputs",
        )
    declared = reader.header.get("originals")
    _check_deployment(video, declared, deployment)
    if exact is None:
        exact = isinstance(declared, dict) or originals is not None
    if not exact and not can_learn:
        raise RecoveryError("learned recovery needs GY", hint="pass --bundle GY.sealed")
    originals_path = None
    if exact:
        originals_path = _exact_originals(video, result, declared, originals, pins)
    if result is not None and result.report.manifest is not None:
        signed = result.report.manifest.output
        digest = rk.FileDigest(video.name, signed.sha256, signed.size)  # verified through the pins
    else:
        with pins.open(video) as handle:
            digest = stream_digest(handle, video.name)
    inputs = Inputs(
        video, sidecar_path, originals_path, reader.header, reader.end, scan[0], scan[1], scan[2], scan[3],
        pins, digest, verify, None if result is None else result.signed,
    )  # fmt: skip
    if selection is not None:
        check_selection(inputs, selection)
    return inputs, "exact" if exact else "learned"


def _exact_originals(
    video: Path,
    result: Any,
    declared: Any,
    originals: str | os.PathLike[str] | None,
    pins: PinnedFiles,
) -> Path:
    if result is not None:  # verified: the file the signed sidecar names, already hashed and pinned
        if result.originals == "none":
            raise VerificationError(f"the signed sidecar of '{video.name}' names no sealed originals")
        if result.originals == "absent":
            raise InputError(
                f"the sealed originals '{result.originals_path}' of '{video.name}' are missing "
                "(the signed sidecar names them)",
                hint="exact recovery needs the *.originals.sealed written next to the video",
            )
        return result.originals_path
    if originals is not None:
        path = Path(originals)
    elif isinstance(declared, dict) and isinstance(declared.get("name"), str):
        path = video.with_name(Path(declared["name"]).name)
    else:
        path = originals_path_for(video)
    if not path.is_file():
        raise InputError(
            f"the sealed originals '{path}' of '{video.name}' are missing",
            hint="exact recovery needs the *.originals.sealed written next to the video",
        )
    try:
        pins.pin(path)
    except OSError as error:
        raise InputError(f"cannot read the sealed originals '{path}': {error.strerror}") from None
    return path


def _scan(
    reader: Sidecar, selection: Selection | None
) -> tuple[frozenset[int], tuple[int, ...], float | None, float | None]:
    """The selected tracks that occur, the smallest track ids, the first and last time (bounded memory)."""
    wanted = selection.tracks if selection is not None and selection.tracks is not None else frozenset()
    found: set[int] = set()
    smallest: set[int] = set()
    first = last = None
    for poses in reader.frames():
        if poses.people.track_id is not None:
            for track in {int(t) for t in poses.people.track_id if t >= 0}:
                if track in wanted:
                    found.add(track)
                if len(smallest) < _TRACKS_NAMED:
                    smallest.add(track)
                elif track not in smallest and track < max(smallest):
                    smallest.remove(max(smallest))
                    smallest.add(track)
        if poses.time is not None:
            first = poses.time if first is None else first
            last = poses.time
    return frozenset(found), tuple(sorted(smallest)), first, last


def check_selection(inputs: Inputs, selection: Selection) -> None:
    """Refuse a selection of tracks that never occur, or of a time range outside the video."""
    if selection.tracks is not None:
        missing = sorted(selection.tracks - inputs.tracks)
        if missing:
            known = ", ".join(map(str, inputs.known_tracks)) or "none"
            raise InputError(
                f"track {', '.join(map(str, missing))} does not occur in '{inputs.video.name}' "
                f"(its tracks: {known})",
                hint="`recanon inspect` on the sidecar lists the tracks and when they appear",
            )
    if inputs.first_time is None or inputs.last_time is None:
        if selection.start is not None or selection.end is not None:
            raise InputError(f"'{inputs.video.name}' has no timestamps: a time range cannot be applied")
        return
    if (selection.start is not None and selection.start > inputs.last_time) or (
        selection.end is not None and selection.end < inputs.first_time
    ):
        raise InputError(
            f"the time range {selection.describe_time()} is outside '{inputs.video.name}', "
            f"which runs from {format_clock(inputs.first_time)} to {format_clock(inputs.last_time)}",
            hint="pass --from/--to within the video",
        )
