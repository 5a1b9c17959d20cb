"""Authorized recovery: a key holder restores the people (or one person, for one moment) of an output.

Two ways back, chosen by what the run left:

* **exact** — the anonymizer sealed the original pixels of every region to the holders
  (``X.originals.sealed``, :mod:`recanon_sdk.originals`): the holder's key opens them and the
  recoverer pastes them back (bit-exact in the lossless mode, about 43 dB by default).
* **learned** — GY, opened in memory from a sealed bundle with the deployment secret, maps each
  privacy-enhanced region back (:class:`~recanon_sdk.models.recover.GYRecoverer`).

Everything outside the selection (``tracks``, ``start``/``end``) stays anonymized: a selected
region is restored only where it does not overlap a region of someone not selected, and frames that
failed closed (wholly obscured, no track) are restored only when no track is selected. Before
anything is written the recoverer checks the output's signatures (``recanon_keys.verify_output``),
that the sealed originals are the ones the signed sidecar names, and that the selection exists.

>>> rec = Recoverer.open(key="alice.key", deployment="site42.deployment", passphrase="…")  # doctest: +SKIP
>>> rec.process_video("cam3.anon.mp4", "cam3.recovered.mp4", tracks={7}, start=70, end=100)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import recanon_keys as rk

from recanon_sdk import interrupts
from recanon_sdk.errors import InputError, OutputError, RecanonError
from recanon_sdk.geometry import CropGeometry
from recanon_sdk.originals import CONTENT, decode_originals, originals_path_for
from recanon_sdk.timecode import format_clock
from recanon_sdk.types import Frame
from recanon_sdk.video.atomic import check_output
from recanon_sdk.video.reader import VideoSource
from recanon_sdk.video.sidecar import FramePoses, Sidecar, sidecar_path_for
from recanon_sdk.video.writer import EncoderConfig, VideoSink

__all__ = [
    "Recoverer",
    "RecoveryError",
    "RecoveryResult",
    "Selection",
    "VerificationError",
    "audit_log_for",
]


class RecoveryError(RecanonError):
    """Recovery cannot proceed: wrong key, wrong deployment, missing files, an empty selection."""


class VerificationError(RecoveryError):
    """The output, its sidecar or its sealed originals do not verify against the deployment."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Who and when to recover: ``tracks`` (``None`` = everyone), seconds ``start``..``end`` (inclusive).

    >>> Selection(tracks=frozenset({7}), start=1.0, end=2.0).covers(1.5)
    True
    >>> Selection(start=1.0).covers(0.5)
    False
    """

    tracks: frozenset[int] | None = None
    start: float | None = None
    end: float | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the time range ends ({self.end} s) before it starts ({self.start} s)")

    def covers(self, seconds: float | None) -> bool:
        if seconds is None:
            return self.start is None and self.end is None
        return (self.start is None or seconds >= self.start) and (self.end is None or seconds <= self.end)

    def people_mask(self, poses: FramePoses) -> np.ndarray:
        people = poses.people
        if self.tracks is None:
            return np.ones(len(people), bool)
        ids = people.track_id if people.track_id is not None else np.full(len(people), -1)
        return np.isin(ids, sorted(self.tracks))

    def describe(self) -> str:
        who = "everyone" if self.tracks is None else "track " + ", ".join(map(str, sorted(self.tracks)))
        when = (
            "the whole video"
            if self.start is None and self.end is None
            else f"{format_clock(self.start) if self.start is not None else 'start'} to "
            f"{format_clock(self.end) if self.end is not None else 'end'}"
        )
        return f"{who}, {when}"


@dataclass(slots=True)
class RecoveryResult:
    """What one :meth:`Recoverer.process_video` run did."""

    output: Path
    mode: str
    frames: int = 0
    recovered_frames: int = 0
    recovered_regions: int = 0
    seconds: float = 0.0
    verified: bool = False
    selection: Selection = field(default_factory=Selection)
    audit_entry: int | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class _Inputs:
    video: Path
    sidecar: Path
    originals: Path | None
    header: dict[str, Any]
    end: dict[str, Any] | None
    tracks: frozenset[int]
    first_time: float | None
    last_time: float | None


class Recoverer:
    """Recovers anonymized outputs for one key holder of one deployment.

    ``gy``: a loaded GY (``GYRecoverer``) for learned recovery; ``None`` allows only exact recovery.
    """

    def __init__(self, holder: rk.HolderKey, deployment: rk.Deployment, gy: Any | None = None) -> None:
        if not isinstance(holder, rk.HolderKey):
            raise TypeError("holder must be a recanon_keys.HolderKey")
        if deployment.holder(holder.key_id) is None:
            raise RecoveryError(
                f"{holder.label} ({holder.key_id}) is not a holder of deployment {deployment.name!r} "
                f"({deployment.deployment_id})",
                hint="use a key listed by `recanon keys inspect` on the deployment file",
            )
        self.holder = holder
        self.deployment = deployment
        self.gy = gy
        #: Where :meth:`process_video` appends its audit entry by default (``None``: no log).
        self.audit_log: Path | None = None

    @classmethod
    def open(
        cls,
        *,
        key: str | os.PathLike[str] | rk.HolderKey,
        deployment: str | os.PathLike[str] | rk.Deployment | None = None,
        passphrase: str | None = None,
        bundle: str | os.PathLike[str] | bytes | None = None,
        device: str = "cpu",
    ) -> Recoverer:
        """Load the holder key (``passphrase`` if it is protected), the deployment, and GY if ``bundle``.

        ``deployment`` is the trust anchor (a copy obtained from a trusted source); without it,
        ``$RECANON_DEPLOYMENT`` names the file. GY's weights are opened from the sealed bundle in
        memory; they never touch the disk. The audit log is kept next to the deployment file.
        """
        if deployment is None:
            named = os.environ.get("RECANON_DEPLOYMENT")
            if not named:
                raise RecoveryError(
                    "no deployment given",
                    hint="pass deployment=PATH (the deployment file you trust) or set RECANON_DEPLOYMENT",
                )
            deployment = named
        try:
            dep = deployment if isinstance(deployment, rk.Deployment) else _load_deployment(Path(deployment))
            holder = key if isinstance(key, rk.HolderKey) else _load_holder(Path(key), passphrase)
        except rk.RecanonKeysError as error:
            raise RecoveryError(error.message, hint=error.hint) from None
        gy = None
        if bundle is not None:
            try:
                if rk.read_bundle_info(bundle).model_name == "gy-onnx":  # exported: onnxruntime, no torch
                    from recanon_sdk.export.generators import open_sealed_gy_onnx

                    gy = open_sealed_gy_onnx(bundle, holder, dep)
                else:
                    from recanon_sdk.extras import TORCH_HINT, installed

                    if not installed("torch"):
                        raise RecoveryError(
                            "learned recovery with this GY bundle (safetensors weights) needs torch, "
                            "which is not installed",
                            hint=f"{TORCH_HINT}, or ask for a bundle exported with recanon export --model gy",
                        )
                    from recanon_sdk.models.sealed import open_sealed_gy

                    gy = open_sealed_gy(bundle, holder, dep, device=device)
            except rk.RecanonKeysError as error:
                raise RecoveryError(error.message, hint=error.hint) from None
        recoverer = cls(holder, dep, gy)
        if not isinstance(deployment, rk.Deployment):
            recoverer.audit_log = audit_log_for(Path(deployment))
        return recoverer

    # -- checks, before anything is written ------------------------------------------------------

    def check(
        self, video: str | Path, *, sidecar: str | Path | None = None, originals: str | Path | None = None,
        verify: bool = True, exact: bool | None = None, selection: Selection | None = None,
    ) -> tuple[_Inputs, str]:  # fmt: skip
        """Check the inputs and the selection; return them and the mode (``"exact"`` or ``"learned"``)."""
        video = Path(video)
        if not video.is_file():
            raise InputError(f"'{video}' does not exist", hint="pass the anonymized video")
        sidecar_path = Path(sidecar) if sidecar is not None else sidecar_path_for(video)
        if not sidecar_path.is_file():
            raise InputError(
                f"the pose sidecar '{sidecar_path}' of '{video.name}' is missing",
                hint="recovery needs the *.pose.jsonl written next to the video (or pass --sidecar)",
            )
        reader = Sidecar(sidecar_path)
        tracks: set[int] = set()
        first = last = None
        for poses in reader.frames():
            if poses.people.track_id is not None:
                tracks.update(int(t) for t in poses.people.track_id if t >= 0)
            if poses.time is not None:
                first = poses.time if first is None else first
                last = poses.time
        if not reader.complete:
            raise InputError(
                f"the sidecar '{sidecar_path.name}' has no end line: its run did not finish",
                hint="recover only complete outputs",
            )
        header, end = reader.header, reader.end
        declared = header.get("originals")
        originals_path = (
            Path(originals)
            if originals is not None
            else (
                video.with_name(declared["name"]) if isinstance(declared, dict) else originals_path_for(video)
            )
        )
        if exact is None:
            exact = isinstance(declared, dict) or originals is not None
            if not exact and self.gy is None:
                raise RecoveryError(
                    f"'{video.name}' was anonymized without sealed originals and no GY bundle was given",
                    hint="pass --bundle GY.sealed for learned recovery",
                )
        mode = "exact" if exact else "learned"
        if exact:
            if not originals_path.is_file():
                raise InputError(
                    f"the sealed originals '{originals_path}' of '{video.name}' are missing",
                    hint="exact recovery needs the *.originals.sealed written next to the video",
                )
            if isinstance(declared, dict) and declared.get("deployment_id") not in (
                None,
                self.deployment.deployment_id,
            ):
                raise RecoveryError(
                    f"'{video.name}' belongs to deployment {declared.get('deployment_id')}, "
                    f"not to {self.deployment.name!r} ({self.deployment.deployment_id})",
                    hint="use the deployment file and key of the site that recorded it",
                )
        elif self.gy is None:
            raise RecoveryError("learned recovery needs GY", hint="pass --bundle GY.sealed")
        if verify:
            self._verify(video, sidecar_path, originals_path if exact else None, end)
        inputs = _Inputs(video, sidecar_path, originals_path if exact else None, header, end,
                         frozenset(tracks), first, last)  # fmt: skip
        if selection is not None:
            self._check_selection(inputs, selection)
        return inputs, mode

    def _verify(self, video: Path, sidecar: Path, originals: Path | None, end: dict[str, Any] | None) -> None:
        report = rk.verify_output(video, deployment=self.deployment)
        if not report.ok:
            failures = report.failures()
            raise VerificationError(
                f"'{video.name}' does not verify against deployment {self.deployment.name!r}: "
                + "; ".join(f"{c.name}: {c.detail}" for c in failures),
                hint="refusing to recover from unverified files; `recanon verify` shows the details "
                "(--no-verify skips this check, and is recorded in the audit log)",
            )
        if report.files.sidecar.resolve() != sidecar.resolve():
            raise VerificationError(
                f"the signed sidecar is '{report.files.sidecar.name}', not '{sidecar.name}'",
                hint="drop --sidecar: a verified recovery uses the signed sidecar next to the video",
            )
        if originals is not None:
            named = (end or {}).get("originals")
            if not isinstance(named, dict):
                raise VerificationError(f"the signed sidecar of '{video.name}' names no sealed originals")
            named_file = rk.file_digest(originals)
            digest, size = named_file.sha256, named_file.size
            if (digest, size) != (named.get("sha256"), named.get("size")):
                raise VerificationError(
                    f"'{originals.name}' is not the sealed originals file the signed sidecar names "
                    f"(sha256 {digest[:16]}…, {size} bytes; signed {str(named.get('sha256'))[:16]}…, "
                    f"{named.get('size')} bytes)",
                    hint="get an intact copy from the device's operator",
                )

    @staticmethod
    def _check_selection(inputs: _Inputs, selection: Selection) -> None:
        if selection.tracks is not None:
            missing = sorted(selection.tracks - inputs.tracks)
            if missing:
                known = ", ".join(map(str, sorted(inputs.tracks)[:20])) or "none"
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
                f"the time range {selection.describe().split(', ', 1)[1]} is outside '{inputs.video.name}', "
                f"which runs from {format_clock(inputs.first_time)} to {format_clock(inputs.last_time)}",
                hint="pass --from/--to within the video",
            )

    # -- recovery --------------------------------------------------------------------------------

    def recover_frames(
        self, inputs: _Inputs, mode: str, selection: Selection
    ) -> Iterator[tuple[Frame, np.ndarray, int]]:
        """Yield ``(anonymized frame, recovered image, restored regions (k, 4))`` for every frame, in order.

        The low-level loop: it neither checks nor audits (see :meth:`check`); applications use
        :meth:`recover` or :meth:`process_video`, which do both first.
        """
        geometry = _geometry_of(inputs.header)
        originals = self._originals(inputs) if mode == "exact" else None
        poses_iter = Sidecar(inputs.sidecar).frames()
        for frame in VideoSource(inputs.video):
            poses = next(poses_iter, None)
            if poses is None or poses.index != frame.index:
                raise InputError(
                    f"the sidecar does not match '{inputs.video.name}' at frame {frame.index}",
                    hint="use the sidecar written together with this video",
                )
            image = frame.image
            restored = _NO_REGIONS
            if selection.covers(poses.time):
                chosen = selection.people_mask(poses)
                whole_frame = poses.status != "ok" and selection.tracks is None
                if whole_frame or chosen.any():
                    image = image.copy()
                    restored = self._restore(image, poses, chosen, whole_frame, originals, geometry, mode)
            yield frame, image, restored

    def _originals(self, inputs: _Inputs) -> _OriginalsCursor:
        assert inputs.originals is not None
        try:
            reader = rk.open_stream(
                inputs.originals, self.holder, deployment=self.deployment, content=CONTENT
            )
        except rk.RecanonKeysError as error:
            raise RecoveryError(error.message, hint=error.hint) from None
        declared = inputs.header.get("originals") or {}
        if declared.get("run_id") not in (None, reader.info.run_id.hex()):
            raise VerificationError(
                f"'{inputs.originals.name}' belongs to another run than '{inputs.video.name}'",
                hint="pass the sealed originals written next to this video",
            )
        return _OriginalsCursor(decode_originals(reader))

    def _restore(
        self,
        image: np.ndarray,
        poses: FramePoses,
        chosen: np.ndarray,
        whole_frame: bool,
        originals: _OriginalsCursor | None,
        geometry: CropGeometry,
        mode: str,
    ) -> np.ndarray:
        h, w = image.shape[:2]
        regions = poses.people.region if poses.people.region is not None else np.zeros((0, 4), int)
        if whole_frame:
            mask = np.ones((h, w), bool)
            selected = np.array([[0, 0, w, h]])
        else:
            selected = regions[chosen]
            mask = _union(selected, (h, w))
            mask &= ~_union(regions[~chosen], (h, w))  # never reveal someone not selected
        if mode == "exact":
            assert originals is not None
            source = originals.at(poses.index)
            if source is None:
                raise RecoveryError(
                    f"the sealed originals hold nothing for frame {poses.index}, "
                    "which has anonymized regions",
                    hint="the originals and the video do not belong together",
                )
        else:
            crops = geometry.extract(image, selected, self.gy.input_size)
            source = geometry.paste(image, selected, self.gy.recover(crops))
        image[mask] = source[mask]
        return np.asarray(selected, dtype=np.int64).reshape(-1, 4)

    def recover(
        self,
        video: str | Path,
        *,
        sidecar: str | Path | None = None,
        originals: str | Path | None = None,
        exact: bool | None = None,
        tracks: Iterable[int] | None = None,
        start: float | None = None,
        end: float | None = None,
        verify: bool = True,
        audit_log: str | Path | None = None,
        output_name: str = "(frames in memory)",
    ) -> Iterator[tuple[Frame, np.ndarray, np.ndarray]]:
        """Check, audit, then return an iterator of ``(frame, recovered image, restored regions)``.

        For applications that handle the recovered frames themselves (stills of one person, a
        viewer). The checks and the audit entry happen here, before the first frame is decrypted.
        """
        inputs, mode, selection = self._prepare(
            video, tracks, start, end, sidecar=sidecar, originals=originals, verify=verify, exact=exact
        )
        self._log(audit_log, inputs, mode, selection, verify, output_name)
        return self.recover_frames(inputs, mode, selection)

    def _prepare(
        self,
        video: str | Path,
        tracks: Iterable[int] | None,
        start: float | None,
        end: float | None,
        *,
        outputs: Sequence[Path] = (),
        overwrite: bool = False,
        **check: Any,
    ) -> tuple[_Inputs, str, Selection]:
        """The selection, the checks of :meth:`check`, and that ``outputs`` may be written."""
        selection = Selection(None if tracks is None else frozenset(int(t) for t in tracks), start, end)
        inputs, mode = self.check(video, selection=selection, **check)
        for path in outputs:
            check_output(path, overwrite=overwrite, inputs=(inputs.video, inputs.sidecar))
        return inputs, mode, selection

    def _log(
        self,
        audit_log: str | Path | None,
        inputs: _Inputs,
        mode: str,
        selection: Selection,
        verified: bool,
        output_name: str,
    ) -> int | None:
        """Append the audit entry (to ``audit_log``, else :attr:`audit_log`) before anything is decrypted."""
        log = audit_log if audit_log is not None else self.audit_log
        return None if log is None else self._audit(Path(log), inputs, mode, selection, verified, output_name)

    def process_video(
        self,
        video: str | Path,
        output: str | Path,
        *,
        sidecar: str | Path | None = None,
        originals: str | Path | None = None,
        exact: bool | None = None,
        tracks: Iterable[int] | None = None,
        start: float | None = None,
        end: float | None = None,
        overwrite: bool = False,
        verify: bool = True,
        encoder: EncoderConfig | None = None,
        audit_log: str | Path | None = None,
        stills: str | Path | None = None,
        on_progress: Any | None = None,
    ) -> RecoveryResult:
        """Recover ``video`` into ``output`` (same frames and timestamps).

        Checks everything first (signatures, files, key, selection) and writes nothing if a check
        fails; then appends the audit entry, then decrypts. ``stills``: also write every frame in
        which something was recovered as a lossless PNG into that folder (``frame000123.png``).
        """
        output = Path(output)
        inputs, mode, selection = self._prepare(
            video,
            tracks,
            start,
            end,
            outputs=[output] if stills is None else [output, Path(stills)],
            overwrite=overwrite,
            sidecar=sidecar,
            originals=originals,
            verify=verify,
            exact=exact,
        )
        entry = self._log(audit_log, inputs, mode, selection, verify, output.name)
        source = VideoSource(inputs.video)
        info = source.info
        result = RecoveryResult(
            output=output, mode=mode, verified=verify, selection=selection, audit_entry=entry
        )
        sink = VideoSink(
            output,
            time_base=info.time_base,
            average_rate=info.average_rate,
            sample_aspect_ratio=info.sample_aspect_ratio,
            config=encoder or EncoderConfig(crf=18),
        )
        folder = _StillsFolder(Path(stills)) if stills is not None else None
        started = time.perf_counter()
        try:
            for frame, image, restored in self.recover_frames(inputs, mode, selection):
                interrupts.check()
                if frame.index == 0:
                    sink.rotation = source.rotation
                sink.write(frame, image)
                if folder is not None and len(restored):
                    folder.write(frame.index, image)
                result.frames += 1
                result.recovered_frames += len(restored) > 0
                result.recovered_regions += len(restored)
                if on_progress is not None:
                    on_progress(result.frames, info.frames)
            interrupts.check()
            sink.close()
            if folder is not None:
                folder.close()
        except BaseException:
            sink.abort()
            if folder is not None:
                folder.abort()
            raise
        result.seconds = time.perf_counter() - started
        return result

    def _audit(
        self, log: Path, inputs: _Inputs, mode: str, selection: Selection, verified: bool, output: str
    ) -> int:
        from recanon_sdk import __version__

        video = rk.file_digest(inputs.video)
        event = {
            "action": "recover",
            "mode": mode,
            "input": {"name": video.name, "sha256": video.sha256, "size": video.size},
            "output": {"name": output},
            "tracks": None if selection.tracks is None else sorted(selection.tracks),
            "from_ms": None if selection.start is None else round(selection.start * 1000),
            "to_ms": None if selection.end is None else round(selection.end * 1000),
            "verified": verified,
            "tool": f"recanon {__version__}",
        }
        try:
            return rk.append_audit_entry(log, event, holder=self.holder, deployment=self.deployment)
        except rk.RecanonKeysError as error:
            raise RecoveryError(
                f"the audit log could not be appended, so nothing was recovered: {error.message}",
                hint=error.hint,
            ) from None


_NO_REGIONS = np.zeros((0, 4), np.int64)


class _StillsFolder:
    """Lossless PNG stills in a hidden folder, renamed to its final name only when complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
        self._temporary.mkdir()
        self.count = 0

    def write(self, index: int, image: np.ndarray) -> None:
        import cv2

        target = self._temporary / f"frame{index:06d}.png"
        if not cv2.imwrite(str(target), np.ascontiguousarray(image[:, :, ::-1])):
            raise OutputError(f"writing '{target}' failed")
        self.count += 1

    def close(self) -> None:
        import shutil

        if self.path.exists():
            shutil.rmtree(self.path) if self.path.is_dir() else self.path.unlink()  # overwrite was checked
        os.replace(self._temporary, self.path)

    def abort(self) -> None:
        import shutil

        shutil.rmtree(self._temporary, ignore_errors=True)


class _OriginalsCursor:
    """Walks decoded originals forward in step with the video's frame indices."""

    def __init__(self, frames: Iterator[tuple[int, np.ndarray]]) -> None:
        self._frames = frames
        self._pending: tuple[int, np.ndarray] | None = None

    def at(self, index: int) -> np.ndarray | None:
        while self._pending is None or self._pending[0] < index:
            nxt = next(self._frames, None)
            if nxt is None:
                return None
            self._pending = nxt
        return self._pending[1] if self._pending[0] == index else None


def audit_log_for(deployment_file: Path) -> Path:
    """The audit log kept next to a deployment file: ``site42.deployment`` → ``site42.audit.jsonl``.

    >>> audit_log_for(Path("keys/site42.deployment")).as_posix()
    'keys/site42.audit.jsonl'
    """
    return deployment_file.with_name(f"{deployment_file.stem}.audit.jsonl")


def _union(regions: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for x0, y0, x1, y1 in np.asarray(regions, dtype=np.int64).reshape(-1, 4):
        mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return mask


def _geometry_of(header: dict[str, Any]) -> CropGeometry:
    settings = header.get("anonymization") or {}
    kwargs = {
        k: float(settings[k]) for k in ("margin", "feather") if isinstance(settings.get(k), int | float)
    }
    return CropGeometry(**kwargs)


def _load_deployment(path: Path) -> rk.Deployment:
    try:
        with open(path, "rb") as handle:
            return rk.load_deployment(handle.read(1024 * 1024 + 1), what=str(path))
    except OSError as error:
        raise RecoveryError(f"cannot read the deployment file '{path}': {error.strerror}") from None


def _load_holder(path: Path, passphrase: str | None) -> rk.HolderKey:
    try:
        with open(path, "rb") as handle:
            data = handle.read(64 * 1024 + 1)
    except OSError as error:
        raise RecoveryError(f"cannot read the key file '{path}': {error.strerror}") from None
    return rk.load_holder_key(data, passphrase=passphrase, what=str(path))
