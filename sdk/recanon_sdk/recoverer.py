"""Authorized recovery: a key holder restores the people (or one person, for one moment) of an output.

Two ways back, chosen by what the run left:

* **exact** — the anonymizer sealed the original pixels of every region to the holders
  (``X.originals.sealed``, :mod:`recanon_sdk.originals`): the holder's key opens them and the
  recoverer pastes them back (bit-exact in the lossless mode, about 43 dB by default).
* **learned** — GY, opened in memory from a sealed bundle with the deployment secret, maps each
  privacy-enhanced region back (:class:`~recanon_sdk.models.recover.GYRecoverer`).

Everything outside the selection (``tracks``, ``start``/``end``) stays anonymized: a selected
region is restored only where it does not overlap a region of someone not selected, and frames that
failed closed (wholly obscured) are restored only when no track is selected
(:mod:`recanon_sdk.recovery.restore`). In this order, and nothing is written if a step fails:

1. checks (:mod:`recanon_sdk.recovery.checks`): the output's signatures and signed names
   (:func:`recanon_sdk.verification.verify_run`), the sealed originals against the signed sidecar,
   the deployment, the selection, and that the outputs may be written. The files stay pinned: what
   is recovered is exactly what was verified, and a file swapped meanwhile is refused;
2. the audit entry (every recovery is logged first; without an audit log nothing is recovered);
3. decryption: the sealed originals, or GY from its bundle;
4. the outputs, private (0600) and all-or-nothing (:mod:`recanon_sdk.recovery.outputs`).

>>> rec = Recoverer.open(key="alice.key", deployment="site42.deployment", passphrase="…")  # doctest: +SKIP
>>> rec.process_video("cam3.anon.mp4", "cam3.recovered.mp4", tracks={7}, start=70, end=100)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import recanon_keys as rk

from recanon_sdk import interrupts
from recanon_sdk.recovery.checks import Inputs, check_inputs
from recanon_sdk.recovery.errors import RecoveryError, VerificationError
from recanon_sdk.recovery.outputs import DEFAULT_MODE, RecoveryOutputs, check_mode, check_stills_folder
from recanon_sdk.recovery.restore import PinnedVideoSource, restore_frames
from recanon_sdk.recovery.selection import Selection
from recanon_sdk.types import Frame
from recanon_sdk.verification import SignedRun
from recanon_sdk.video.atomic import check_output
from recanon_sdk.video.writer import EncoderConfig

__all__ = [
    "Recoverer",
    "RecoveryError",
    "RecoveryResult",
    "Selection",
    "VerificationError",
    "audit_log_for",
]

_Inputs = Inputs  # the name before the recovery package


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
    signed: SignedRun | None = None  # what the device signed about the run (when verified)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


class Recoverer:
    """Recovers anonymized outputs for one key holder of one deployment.

    ``gy``: a loaded GY (``GYRecoverer``) for learned recovery; or ``bundle``: a sealed GY bundle,
    opened only after the audit entry of a learned recovery is written. Neither: exact recovery only.
    ``audit_log``: where every recovery is logged before anything is decrypted (required to recover;
    :meth:`open` keeps it next to the deployment file).
    """

    def __init__(
        self,
        holder: rk.HolderKey,
        deployment: rk.Deployment,
        gy: Any | None = None,
        *,
        audit_log: str | os.PathLike[str] | None = None,
        bundle: str | os.PathLike[str] | bytes | None = None,
        device: str = "cpu",
    ) -> None:
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
        self._bundle = bundle
        self._device = device
        #: Where recoveries append their audit entry by default (``None``: pass ``audit_log=`` each time).
        self.audit_log: Path | None = None if audit_log is None else Path(audit_log)

    @classmethod
    def open(
        cls,
        *,
        key: str | os.PathLike[str] | rk.HolderKey,
        deployment: str | os.PathLike[str] | rk.Deployment | None = None,
        passphrase: str | None = None,
        bundle: str | os.PathLike[str] | bytes | None = None,
        device: str = "cpu",
        audit_log: str | os.PathLike[str] | None = None,
    ) -> Recoverer:
        """Load the holder key (``passphrase`` if it is protected) and the deployment; note GY's ``bundle``.

        ``deployment`` is the trust anchor (a copy obtained from a trusted source); without it,
        ``$RECANON_DEPLOYMENT`` names the file. The audit log is ``audit_log``, else kept next to the
        deployment file; a ``Deployment`` object has no file, so recoveries then need ``audit_log``.
        GY's bundle is checked now (its public header) and opened in memory only after the audit
        entry of a learned recovery is written; its weights never touch the disk.
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
        if bundle is not None:
            _check_bundle(bundle)
        if audit_log is None and not isinstance(deployment, rk.Deployment):
            audit_log = audit_log_for(Path(deployment))
        return cls(holder, dep, None, audit_log=audit_log, bundle=bundle, device=device)

    # -- checks, before anything is written ------------------------------------------------------

    def check(
        self, video: str | Path, *, sidecar: str | Path | None = None, originals: str | Path | None = None,
        verify: bool = True, exact: bool | None = None, selection: Selection | None = None,
        allow_rename: bool = False,
    ) -> tuple[Inputs, str]:  # fmt: skip
        """Check the inputs and the selection; return them and the mode (``"exact"`` or ``"learned"``).

        The returned inputs hold the verified files open (pinned) until ``inputs.close()``.
        ``allow_rename``: accept a video whose name differs from the one the device signed.
        """
        return check_inputs(
            video, deployment=self.deployment, can_learn=self.gy is not None or self._bundle is not None,
            sidecar=sidecar, originals=originals, verify=verify, exact=exact, selection=selection,
            allow_rename=allow_rename,
        )  # fmt: skip

    # -- recovery --------------------------------------------------------------------------------

    def recover_frames(
        self, inputs: Inputs, mode: str, selection: Selection
    ) -> Iterator[tuple[Frame, np.ndarray, np.ndarray]]:
        """Yield ``(anonymized frame, recovered image, restored regions (k, 4))`` for every frame, in order.

        The low-level loop, for inputs of an audited recovery only (``inputs.audit_entry``): it
        refuses inputs that :meth:`check` returned but no audit entry covers. Applications use
        :meth:`recover` or :meth:`process_video`, which check, audit, then call it.
        """
        if inputs.audit_entry is None:
            raise RecoveryError(
                "these inputs were checked but their recovery was not logged: nothing is decrypted "
                "without an audit entry",
                hint="use Recoverer.recover(...) or process_video(...), which write the entry first",
            )
        if mode == "learned":
            self._load_gy()
        return restore_frames(
            inputs, mode, selection, holder=self.holder, deployment=self.deployment, gy=self.gy
        )

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
        allow_rename: bool = False,
    ) -> Iterator[tuple[Frame, np.ndarray, np.ndarray]]:
        """Check, audit, then return an iterator of ``(frame, recovered image, restored regions)``.

        For applications that handle the recovered frames themselves (stills of one person, a
        viewer). The checks and the audit entry happen here, before the first frame is decrypted;
        the iterator raises at its end if an input changed on disk meanwhile.
        """
        selection = _selection(tracks, start, end)
        inputs, mode = self.check(
            video, sidecar=sidecar, originals=originals, verify=verify, exact=exact,
            selection=selection, allow_rename=allow_rename,
        )  # fmt: skip
        try:
            inputs = self._log(audit_log, inputs, mode, selection, output_name)
            frames = self.recover_frames(inputs, mode, selection)
        except BaseException:
            inputs.close()
            raise
        return _closing(frames, inputs)

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
        allow_rename: bool = False,
        file_mode: int = DEFAULT_MODE,
    ) -> RecoveryResult:
        """Recover ``video`` into ``output`` (same frames and timestamps).

        Checks everything first (signatures, names, files, key, selection, outputs) and writes
        nothing if a check fails; then appends the audit entry, then decrypts. ``stills``: also
        write every frame in which something was recovered as a lossless PNG into that folder
        (``frame000123.png``); an existing folder is replaced (``overwrite``) only if it holds
        nothing but such stills. The outputs get ``file_mode`` (default 0600; folders 0700).
        """
        output = Path(output)
        stills_path = None if stills is None else Path(stills)
        check_mode(file_mode)
        selection = _selection(tracks, start, end)
        inputs, mode = self.check(
            video, sidecar=sidecar, originals=originals, verify=verify, exact=exact,
            selection=selection, allow_rename=allow_rename,
        )  # fmt: skip
        outputs = None
        try:
            check_output(output, overwrite=overwrite, inputs=(inputs.video, inputs.sidecar))
            if stills_path is not None:
                check_output(stills_path, overwrite=True, inputs=(inputs.video, inputs.sidecar))
                check_stills_folder(stills_path, overwrite=overwrite)
            inputs = self._log(audit_log, inputs, mode, selection, output.name)
            if mode == "learned":
                self._load_gy()  # decrypts: only now, after the audit entry
            source = PinnedVideoSource(inputs.video, inputs.pins)
            frames = restore_frames(
                inputs,
                mode,
                selection,
                holder=self.holder,
                deployment=self.deployment,
                gy=self.gy,
                source=source,
            )
            info = source.info
            result = RecoveryResult(
                output=output, mode=mode, verified=verify, selection=selection,
                audit_entry=inputs.audit_entry, signed=inputs.signed,
            )  # fmt: skip
            outputs = RecoveryOutputs(
                output, time_base=info.time_base, average_rate=info.average_rate,
                sample_aspect_ratio=info.sample_aspect_ratio, encoder=encoder or EncoderConfig(crf=18),
                stills=stills_path, mode=file_mode, overwrite=overwrite,
            )  # fmt: skip
            started = time.perf_counter()
            for frame, image, restored in frames:
                interrupts.check()
                if frame.index == 0:
                    outputs.sink.rotation = source.rotation
                outputs.write(frame, image, restored)
                result.frames += 1
                result.recovered_frames += len(restored) > 0
                result.recovered_regions += len(restored)
                if on_progress is not None:
                    on_progress(result.frames, info.frames)
            interrupts.check()
            outputs.commit(inputs.pins.check_unchanged)
            result.seconds = time.perf_counter() - started
            return result
        except BaseException:
            if outputs is not None:
                outputs.abort()
            raise
        finally:
            inputs.close()

    # -- the audit entry, before anything is decrypted -------------------------------------------

    def _log(
        self, audit_log: str | Path | None, inputs: Inputs, mode: str, selection: Selection, output: str
    ) -> Inputs:
        """Append the audit entry (to ``audit_log``, else :attr:`audit_log`); no log, no recovery."""
        log = audit_log if audit_log is not None else self.audit_log
        if log is None:
            raise RecoveryError(
                "no audit log to write to: every recovery is logged before anything is decrypted",
                hint="pass audit_log=PATH (Recoverer.open with a deployment file keeps it next to that file)",
            )
        from recanon_sdk._version import __version__

        video = inputs.video_digest
        event = {
            "action": "recover",
            "mode": mode,
            "input": {
                "name": video.name,
                "sha256": video.sha256,
                "size": video.size,
                "run_id": None if inputs.signed is None else inputs.signed.run_id,
            },
            "output": {"name": output},
            "tracks": None if selection.tracks is None else sorted(selection.tracks),
            "from_ms": None if selection.start is None else round(selection.start * 1000),
            "to_ms": None if selection.end is None else round(selection.end * 1000),
            "verified": inputs.verified,
            "tool": f"recanon {__version__}",
        }
        try:
            entry = rk.append_audit_entry(Path(log), event, holder=self.holder, deployment=self.deployment)
        except (rk.RecanonKeysError, OSError) as error:
            raise RecoveryError(
                "the audit log could not be appended, so nothing was recovered: "
                + (error.message if isinstance(error, rk.RecanonKeysError) else str(error.strerror)),
                hint=error.hint
                if isinstance(error, rk.RecanonKeysError)
                else f"check that '{log}' is writable",
            ) from None
        return inputs.audited(entry)

    def _load_gy(self) -> None:
        """Open GY from its sealed bundle (after the audit entry: this decrypts)."""
        if self.gy is None and self._bundle is not None:
            self.gy = _open_gy(self._bundle, self.holder, self.deployment, self._device)


def _selection(tracks: Iterable[int] | None, start: float | None, end: float | None) -> Selection:
    return Selection(None if tracks is None else frozenset(int(t) for t in tracks), start, end)


def _closing(
    frames: Iterator[tuple[Frame, np.ndarray, np.ndarray]], inputs: Inputs
) -> Iterator[tuple[Frame, np.ndarray, np.ndarray]]:
    try:
        yield from frames
        inputs.pins.check_unchanged()
    finally:
        inputs.close()


def audit_log_for(deployment_file: Path) -> Path:
    """The audit log kept next to a deployment file: ``site42.deployment`` → ``site42.audit.jsonl``.

    >>> audit_log_for(Path("keys/site42.deployment")).as_posix()
    'keys/site42.audit.jsonl'
    """
    return deployment_file.with_name(f"{deployment_file.stem}.audit.jsonl")


def _check_bundle(bundle: str | os.PathLike[str] | bytes) -> None:
    """What can be checked of a GY bundle without decrypting it: its public header, torch if needed."""
    try:
        if rk.read_bundle_info(bundle).model_name == "gy-onnx":  # exported: onnxruntime, no torch
            return
    except rk.RecanonKeysError as error:
        raise RecoveryError(error.message, hint=error.hint) from None
    except OSError as error:
        raise RecoveryError(f"cannot read the GY bundle '{bundle!s:.200}': {error.strerror}") from None
    from recanon_sdk.extras import TORCH_HINT, installed

    if not installed("torch"):
        raise RecoveryError(
            "learned recovery with this GY bundle (safetensors weights) needs torch, which is not installed",
            hint=f"{TORCH_HINT}, or ask for a bundle exported with recanon export --model gy",
        )


def _open_gy(
    bundle: str | os.PathLike[str] | bytes, holder: rk.HolderKey, dep: rk.Deployment, device: str
) -> Any:
    try:
        if rk.read_bundle_info(bundle).model_name == "gy-onnx":
            from recanon_sdk.runtime.sealed_gy import open_sealed_gy_onnx

            return open_sealed_gy_onnx(bundle, holder, dep)
        from recanon_sdk.runtime.sealed_gy import open_sealed_gy

        return open_sealed_gy(bundle, holder, dep, device=device)
    except rk.RecanonKeysError as error:
        raise RecoveryError(error.message, hint=error.hint) from None


def _load_deployment(path: Path) -> rk.Deployment:
    try:
        with open(path, "rb") as handle:
            return rk.load_deployment(handle.read(1024 * 1024 + 1), what=str(path))
    except OSError as error:
        raise RecoveryError(f"cannot read the deployment file '{path}': {error.strerror}") from None


def _load_holder(path: Path, passphrase: str | None) -> rk.HolderKey:
    """The holder key at ``path``: read bounded, refused when it has no passphrase and others can read it."""
    try:
        data = rk.read_private_key_file(path, kind="holder-key")
    except OSError as error:
        raise RecoveryError(f"cannot read the key file '{path}': {error.strerror}") from None
    return rk.load_holder_key(data, passphrase=passphrase, what=str(path))
